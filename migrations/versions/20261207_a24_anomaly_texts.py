"""anomaly texts: the distinct (rule, group, group_key, value, message) of the anomalies, a
superset kept by triggers: a queue's search skips the rules and reads whole the groups it can
tell from them (see workbench.rules.search_texts)

Revision ID: a24c0ffee024
Revises: a23c0ffee023
Create Date: 2026-12-07 12:00:00

"""

import sqlalchemy as sa
from alembic import op

from workbench.rules.search_texts import (
    UNIQUE_INDEX,
    drop_statements,
    index_statements,
    rebuild_sql,
    trigger_statements,
)

# revision identifiers, used by Alembic.
revision = "a24c0ffee024"
down_revision = "a23c0ffee023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "anomaly_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("group_key", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_texts")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":  # no anomaly written between the fill and the triggers
        op.execute("LOCK TABLE anomalies IN SHARE ROW EXCLUSIVE MODE")
    for statement in index_statements(dialect):
        op.execute(statement)
    op.execute(rebuild_sql())
    for statement in trigger_statements(dialect):
        op.execute(statement)
    op.execute("ANALYZE anomaly_texts")


def downgrade():
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index(UNIQUE_INDEX, table_name="anomaly_texts")
    op.drop_table("anomaly_texts")
