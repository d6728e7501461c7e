"""anomalies sort indexes: the claimed and proposed anomalies (rule_code, status,
first_seen_at, id), and the active ones by field and value (rule_code, field, value,
first_seen_at, id), partial indexes: a line view sorted by state, field or value walks them
instead of sorting every anomaly of the queue

Revision ID: a26c0ffee026
Revises: a25c0ffee025
Create Date: 2026-12-07 15:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a26c0ffee026"
down_revision = "a25c0ffee025"
branch_labels = None
depends_on = None

IN_HAND = "status IN ('claimed', 'proposed')"
ACTIVE = "status IN ('open', 'claimed', 'proposed')"


def upgrade():
    op.create_index(
        "ix_anomalies_in_hand",
        "anomalies",
        ["rule_code", "status", "first_seen_at", "id"],
        unique=False,
        sqlite_where=sa.text(IN_HAND),
        postgresql_where=sa.text(IN_HAND),
    )
    op.create_index(
        "ix_anomalies_active_field",
        "anomalies",
        ["rule_code", "field", "value", "first_seen_at", "id"],
        unique=False,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade():
    op.drop_index("ix_anomalies_active_field", table_name="anomalies")
    op.drop_index("ix_anomalies_in_hand", table_name="anomalies")
