"""indicator speed: partial index on active blocking anomalies per record, EGalim summary state and rollups

Revision ID: a15c0ffee001
Revises: a17c0ffee017
Create Date: 2026-12-02 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a15c0ffee001'
down_revision = 'a17c0ffee017'
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


    money = sa.Numeric(16, 2, asdecimal=False)
    sums = ["lines", "amount_ht", "france_amount", "local_amount", "short_circuit_amount",
            "regional_amount"]
    parts = ["lines", "amount_ht", "bio", "egalim", "mf_total", "mf_egalim", "france_amount",
             "local_amount", "short_circuit_amount", "regional_amount"]

    def columns(names):
        return [
            sa.Column(n, sa.Integer() if n == "lines" else money, nullable=False) for n in names
        ]

    op.create_table(
        "indicator_egalim_by_site",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        *columns(parts),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_indicator_egalim_by_site_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "year", "month", name=op.f("pk_indicator_egalim_by_site")),
    )
    op.create_table(
        "indicator_egalim_by_kind",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=30), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("local_definition", sa.String(length=20), nullable=False),
        *columns(sums),
        sa.PrimaryKeyConstraint("year", "month", "family", "category", "local_definition", name=op.f("pk_indicator_egalim_by_kind")),
    )
    # rolled up from the summary already built
    meat_fish = "family IN ('VIANDES_VOLAILLES', 'PRODUITS_DE_LA_MER')"
    op.execute(
        "INSERT INTO indicator_egalim_by_site (site_id, year, month, " + ", ".join(parts) + ") "
        "SELECT site_id, year, month, sum(lines), sum(amount_ht), "
        "sum(CASE WHEN category = 'BIO' THEN amount_ht ELSE 0 END), "
        "sum(CASE WHEN category <> '' THEN amount_ht ELSE 0 END), "
        f"sum(CASE WHEN {meat_fish} THEN amount_ht ELSE 0 END), "
        f"sum(CASE WHEN {meat_fish} AND category <> '' THEN amount_ht ELSE 0 END), "
        "sum(france_amount), sum(local_amount), sum(short_circuit_amount), sum(regional_amount) "
        "FROM indicator_egalim_summary GROUP BY site_id, year, month"
    )
    op.execute(
        "INSERT INTO indicator_egalim_by_kind (year, month, family, category, local_definition, "
        + ", ".join(sums) + ") SELECT year, month, family, category, local_definition, "
        + ", ".join(f"sum({n})" for n in sums)
        + " FROM indicator_egalim_summary GROUP BY year, month, family, category, local_definition"
    )


def downgrade():
    op.drop_table("indicator_egalim_by_kind")
    op.drop_table("indicator_egalim_by_site")
    op.drop_table("indicator_egalim_summary_state")
    op.drop_index("ix_anomalies_active_blocking", table_name="anomalies")
