"""anomaly days: anomalies per (UTC day opened, UTC day closed), kept by triggers like
anomaly_counts (paused with them during a rule run's bulk writes on SQLite): the quality page's
weekly trend reads it instead of grouping every anomaly

Revision ID: a21c0ffee021
Revises: a20c0ffee020
Create Date: 2026-12-07 00:00:00

"""

import sqlalchemy as sa
from alembic import op

from workbench.rules.counts import day_drop_statements, day_trigger_statements, rebuild_days_sql

# revision identifiers, used by Alembic.
revision = "a21c0ffee021"
down_revision = "a20c0ffee020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "anomaly_days",
        sa.Column("opened_day", sa.String(length=10), nullable=False),
        sa.Column("closed_day", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("opened_day", "closed_day", name=op.f("pk_anomaly_days")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(rebuild_days_sql(dialect))
    for statement in day_trigger_statements(dialect):
        op.execute(statement)


def downgrade():
    for statement in day_drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("anomaly_days")
