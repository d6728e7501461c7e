"""queue cover indexes: covering partial indexes on active anomalies, (scope,) rule, group key,
then the grouped and sortable columns: the grouped queue view is an index-only walk in group
order, the sorted line views an index-only top-N

Revision ID: a18c0ffee018
Revises: a16a7c1e0001
Create Date: 2026-12-02 00:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a18c0ffee018"
down_revision = "a16a7c1e0001"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('open', 'claimed', 'proposed')"
COLUMNS = [
    "rule_code",
    "group_key",
    "value",
    "supplier_id",
    "first_seen_at",
    "severity",
    "field",
    "status",
    "id",
]
INDEXES = {
    "ix_anomalies_cover_rule": [],
    "ix_anomalies_cover_site": ["site_id", "owner_role"],
}


def upgrade():
    import sqlalchemy as sa

    for name, scope in INDEXES.items():
        op.create_index(
            name,
            "anomalies",
            [*scope, *COLUMNS],
            unique=False,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )
    # The planner sees the new indexes at once, with statistics sampled as the rule runs
    # sample them (workbench.imports.writer.analyze): on SQLite, statistics of the new indexes
    # beside others sampled differently would make it prefer (rule_code, status) lookups.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit = 400")
    op.execute("ANALYZE anomalies")


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="anomalies")
