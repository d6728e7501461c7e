"""purchase line local definition and distance; index on line date

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
    with op.batch_alter_table('purchase_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_definition', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('local_km', sa.Float(), nullable=True))
        batch_op.create_index('ix_purchase_lines_date', ['line_date'], unique=False)


def downgrade():
    with op.batch_alter_table('purchase_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_lines_date')
        batch_op.drop_column('local_km')
        batch_op.drop_column('local_definition')
