"""purchase line local definition and distance; index on line date; EGalim summary table

Revision ID: a12c0ffee012
Revises: c4a7e1d9b2f3
Create Date: 2026-12-01 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a12c0ffee012'
down_revision = 'c4a7e1d9b2f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'indicator_egalim_summary',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('family', sa.String(length=30), nullable=False),
        sa.Column('category', sa.String(length=30), nullable=False),
        sa.Column('local_definition', sa.String(length=20), nullable=False),
        sa.Column('region_code', sa.String(length=3), nullable=False),
        sa.Column('lines', sa.Integer(), nullable=False),
        sa.Column('amount_ht', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.Column('france_amount', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.Column('local_amount', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.Column('short_circuit_amount', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.Column('regional_amount', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_indicator_egalim_summary_site_id_sites'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('site_id', 'year', 'month', 'family', 'category', 'local_definition', name=op.f('pk_indicator_egalim_summary')),
    )
    with op.batch_alter_table('purchase_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_definition', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('local_km', sa.Float(), nullable=True))
        batch_op.create_index('ix_purchase_lines_date', ['line_date'], unique=False)


def downgrade():
    op.drop_table('indicator_egalim_summary')
    with op.batch_alter_table('purchase_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_lines_date')
        batch_op.drop_column('local_km')
        batch_op.drop_column('local_definition')
