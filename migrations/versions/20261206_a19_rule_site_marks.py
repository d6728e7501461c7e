"""rule site marks: lycées whose purchase lines changed since the last full rule run, marked by
triggers on purchase_lines (and on deleted purchase-line anomalies); rule_runs keeps the
signature of what a full purchase run read besides the lines, and how many lycées it evaluated

Revision ID: a19c0ffee019
Revises: a18c0ffee018
Create Date: 2026-12-06 00:00:00

"""
from alembic import op
import sqlalchemy as sa

from workbench.rules.marks import drop_statements, trigger_statements


# revision identifiers, used by Alembic.
revision = "a19c0ffee019"
down_revision = "a18c0ffee018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rule_site_marks",
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_rule_site_marks")),
    )
    # ADD COLUMN, not a batch rebuild (instant on both databases)
    op.add_column("rule_runs", sa.Column("purchase_signature", sa.String(64), nullable=True))
    op.add_column("rule_runs", sa.Column("sites_checked", sa.Integer(), nullable=True))
    for statement in trigger_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.execute("ALTER TABLE rule_runs DROP COLUMN sites_checked")
    op.execute("ALTER TABLE rule_runs DROP COLUMN purchase_signature")
    op.drop_table("rule_site_marks")
