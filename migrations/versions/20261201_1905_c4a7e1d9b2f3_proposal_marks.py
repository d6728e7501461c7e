"""proposal marks: when each user last read « Mes propositions »; corrections by proposer

Revision ID: c4a7e1d9b2f3
Revises: a11c0ffee011
Create Date: 2026-12-01 19:05:00

"""
from alembic import op
import sqlalchemy as sa
import workbench.db


# revision identifiers, used by Alembic.
revision = 'c4a7e1d9b2f3'
down_revision = 'a11c0ffee011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'proposal_marks',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_proposal_marks_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_proposal_marks')),
    )
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.create_index('ix_corrections_proposer', ['proposed_by_id', 'decided_at'], unique=False)


def downgrade():
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.drop_index('ix_corrections_proposer')
    op.drop_table('proposal_marks')
