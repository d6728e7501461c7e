"""anomaly index audit: four indexes no query needs dropped, the direction's partial index
without the purchase lines (every anomaly written paid for them)

- ix_anomalies_group_key (group_key): look-ups by group key name their rule, and
  ix_anomalies_rule_group (rule_code, group_key, …) serves them;
- ix_anomalies_rule_status (rule_code, status): counts come from anomaly_counts, active
  anomalies of a rule from the partial ix_anomalies_active_rule, the runs' look-ups from the
  unique key (rule_code, record_kind, record_id, field);
- ix_anomalies_queue (owner_role, status, site_id, first_seen_at): the queues read the partial
  indexes on active anomalies (ix_anomalies_active_*, ix_anomalies_cover_*);
- ix_anomalies_direction_code (direction_code): a direction's active anomalies are in
  ix_anomalies_active_direction; directions are never deleted (no foreign-key check to serve);
- ix_anomalies_active_direction now leaves out the anomalies without a direction (the purchase
  lines': nearly all of them); its queries compare direction_code, which implies it.

Revision ID: a20c0ffee020
Revises: a19c0ffee019
Create Date: 2026-12-06 00:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a20c0ffee020"
down_revision = "a19c0ffee019"
branch_labels = None
depends_on = None

DROPPED = {
    "ix_anomalies_group_key": ["group_key"],
    "ix_anomalies_rule_status": ["rule_code", "status"],
    "ix_anomalies_queue": ["owner_role", "status", "site_id", "first_seen_at"],
    "ix_anomalies_direction_code": ["direction_code"],
}


ACTIVE = "status IN ('open', 'claimed', 'proposed')"
DIRECTION = ["direction_code", "rule_code", "first_seen_at", "id"]


def _direction_index(where: str) -> None:
    import sqlalchemy as sa

    op.drop_index("ix_anomalies_active_direction", table_name="anomalies")
    op.create_index(
        "ix_anomalies_active_direction",
        "anomalies",
        DIRECTION,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade():
    for name in DROPPED:
        op.drop_index(name, table_name="anomalies")
    _direction_index(f"direction_code IS NOT NULL AND {ACTIVE}")


def downgrade():
    _direction_index(ACTIVE)
    for name, columns in DROPPED.items():
        op.create_index(name, "anomalies", columns)
