"""scale: rule_runs (the time of a run, once), anomaly_counts kept by triggers, queue partial
indexes, site/day index

Revision ID: a11c0ffee011
Revises: b436e020a8a8
Create Date: 2026-12-01 19:00:00

"""

import sqlalchemy as sa
from alembic import op

import workbench.db
from workbench.rules.counts import drop_statements, rebuild_counts_sql, trigger_statements

# revision identifiers, used by Alembic.
revision = "a11c0ffee011"
down_revision = 'b436e020a8a8'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('open', 'claimed', 'proposed')")
QUEUE_INDEXES = (("rule", ()), ("site", ("site_id",)), ("direction", ("direction_code",)))


def upgrade():
    op.create_table(
        "rule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("record_kind", sa.String(length=20), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_runs")),
    )
    op.create_index(op.f("ix_rule_runs_finished_at"), "rule_runs", ["finished_at"], unique=False)
    op.create_table(
        "anomaly_counts",
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("owner_role", sa.String(length=12), nullable=False),
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("direction_code", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "rule_code", "status", "owner_role", "site_id", "direction_code",
            name=op.f("pk_anomaly_counts"),
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in trigger_statements(dialect, pausable=False):
        op.execute(statement)
    op.execute(rebuild_counts_sql())
    # create_index needs no table rebuild on SQLite
    for name, scope in QUEUE_INDEXES:
        op.create_index(
            f"ix_anomalies_active_{name}",
            "anomalies",
            [*scope, "rule_code", "first_seen_at", "id"],
            unique=False,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    op.create_index(
        "ix_purchase_lines_site_date", "purchase_lines", ["site_id", "line_date"], unique=False
    )


def downgrade():
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("anomaly_counts")
    op.drop_index("ix_purchase_lines_site_date", table_name="purchase_lines")
    for name, _ in QUEUE_INDEXES:
        op.drop_index(f"ix_anomalies_active_{name}", table_name="anomalies")
    op.drop_index(op.f("ix_rule_runs_finished_at"), table_name="rule_runs")
    op.drop_table("rule_runs")
