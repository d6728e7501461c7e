"""pausable anomaly counts and anomaly fingerprints: a rule run's bulk writes on SQLite count in
one grouped statement (anomaly_counts_paused; SQLite triggers recreated with its WHEN clause);
anomalies.fingerprint, the hash of the values a run compares; the purchase lines' lycée index
dropped (ix_purchase_lines_site_date starts with site_id: one index less to write per line)

Revision ID: a17c0ffee017
Revises: a13c0ffee001
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa

from workbench.rules.counts import drop_statements, trigger_statements


# revision identifiers, used by Alembic.
revision = 'a17c0ffee017'
down_revision = 'a13c0ffee001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "anomaly_counts_paused",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_counts_paused")),
    )
    op.drop_index("ix_purchase_lines_site_id", table_name="purchase_lines")
    # ADD COLUMN, not a batch rebuild: instant on both databases, whatever the table's size
    op.add_column("anomalies", sa.Column("fingerprint", sa.BigInteger(), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in drop_statements(dialect):
            op.execute(statement)
        for statement in trigger_statements(dialect, pausable=True):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in drop_statements(dialect):
            op.execute(statement)
        for statement in trigger_statements(dialect, pausable=False):
            op.execute(statement)
    op.drop_table("anomaly_counts_paused")
    op.create_index("ix_purchase_lines_site_id", "purchase_lines", ["site_id"], unique=False)
    # native DROP COLUMN (SQLite ≥ 3.35): a batch rebuild would drop the triggers and the
    # partial indexes
    op.execute("ALTER TABLE anomalies DROP COLUMN fingerprint")
