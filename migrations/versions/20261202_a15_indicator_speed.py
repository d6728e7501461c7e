"""indicator speed: partial index on active blocking anomalies per record, EGalim summary state

Revision ID: a15c0ffee001
Revises: a13c0ffee001
Create Date: 2026-12-02 22:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a15c0ffee001'
down_revision = 'a13c0ffee001'
branch_labels = None
depends_on = None

ACTIVE_BLOCKING_WHERE = "severity = 'blocking' AND status IN ('open', 'claimed', 'proposed')"


def upgrade():
    import sqlalchemy as sa

    op.create_index(
        "ix_anomalies_active_blocking",
        "anomalies",
        ["record_kind", "record_id"],
        sqlite_where=sa.text(ACTIVE_BLOCKING_WHERE),
        postgresql_where=sa.text(ACTIVE_BLOCKING_WHERE),
    )
    op.create_table(
        "indicator_egalim_summary_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("max_line_id", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_egalim_summary_state")),
    )
    # the summary already built keeps serving the pages: record what it counts, if complete
    op.execute(
        "INSERT INTO indicator_egalim_summary_state (id, max_line_id, line_count) "
        "SELECT 1, CASE WHEN (SELECT coalesce(sum(lines), 0) FROM indicator_egalim_summary) "
        "= (SELECT count(*) FROM purchase_lines) "
        "THEN (SELECT coalesce(max(id), 0) FROM purchase_lines) ELSE -1 END, "
        "(SELECT count(*) FROM purchase_lines)"
    )


def downgrade():
    op.drop_table("indicator_egalim_summary_state")
    op.drop_index("ix_anomalies_active_blocking", table_name="anomalies")
