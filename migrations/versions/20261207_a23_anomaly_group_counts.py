"""anomaly group counts: the active anomalies per (rule, group key, severity), region-wide, kept by
triggers like anomaly_counts (a group an anomaly leaves is marked dirty and read again before
the commit): the region-wide grouped queue views read it instead of grouping every anomaly

Revision ID: a23c0ffee023
Revises: a22c0ffee022
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

import workbench.db

from workbench.rules.group_counts import drop_statements, rebuild_sql, trigger_statements

# revision identifiers, used by Alembic.
revision = "a23c0ffee023"
down_revision = "a22c0ffee022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "anomaly_group_counts",
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("oldest", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("newest", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sample_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("dirty", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint(
            "rule_code", "key", "severity", name=op.f("pk_anomaly_group_counts")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_anomaly_group_counts_dirty",
        "anomaly_group_counts",
        ["rule_code", "key", "severity"],
        unique=False,
        sqlite_where=sa.text("dirty"),
        postgresql_where=sa.text("dirty"),
    )
    op.create_index(
        "ix_anomaly_group_counts_severity",
        "anomaly_group_counts",
        ["rule_code", "severity"],
        unique=False,
    )
    op.execute(rebuild_sql())
    for statement in trigger_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_anomaly_group_counts_severity", table_name="anomaly_group_counts")
    op.drop_index("ix_anomaly_group_counts_dirty", table_name="anomaly_group_counts")
    op.drop_table("anomaly_group_counts")
