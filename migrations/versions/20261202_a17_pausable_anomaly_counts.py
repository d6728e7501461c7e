"""pausable anomaly counts: a rule run's bulk writes on SQLite count in one grouped statement
(anomaly_counts_paused; SQLite triggers recreated with its WHEN clause)

Revision ID: a17c0ffee017
Revises: a13c0ffee001
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa

from workbench.rules.counts import drop_statements, trigger_statements


# revision identifiers, used by Alembic.
revision = 'a17c0ffee017'
down_revision = 'a13c0ffee001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "anomaly_counts_paused",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_counts_paused")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in drop_statements(dialect):
            op.execute(statement)
        for statement in trigger_statements(dialect, pausable=True):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in drop_statements(dialect):
            op.execute(statement)
        for statement in trigger_statements(dialect, pausable=False):
            op.execute(statement)
    op.drop_table("anomaly_counts_paused")
