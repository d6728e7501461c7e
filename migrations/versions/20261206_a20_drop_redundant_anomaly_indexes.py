"""drop four anomaly indexes no query needs any more: every anomaly written paid for them

- ix_anomalies_group_key (group_key): look-ups by group key name their rule, and
  ix_anomalies_rule_group (rule_code, group_key, …) serves them;
- ix_anomalies_rule_status (rule_code, status): counts come from anomaly_counts, active
  anomalies of a rule from the partial ix_anomalies_active_rule, the runs' look-ups from the
  unique key (rule_code, record_kind, record_id, field);
- ix_anomalies_queue (owner_role, status, site_id, first_seen_at): the queues read the partial
  indexes on active anomalies (ix_anomalies_active_*, ix_anomalies_cover_*);
- ix_anomalies_direction_code (direction_code): a direction's active anomalies are in
  ix_anomalies_active_direction; directions are never deleted (no foreign-key check to serve).

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


def upgrade():
    for name in DROPPED:
        op.drop_index(name, table_name="anomalies")


def downgrade():
    for name, columns in DROPPED.items():
        op.create_index(name, "anomalies", columns)
