"""api tokens, jobs, nomenclature proposals: source systems' tokens and their batches, background jobs, proposed items

Revision ID: a13c0ffee001
Revises: a10dec9f0c01
Create Date: 2026-12-01 19:30:00

"""
from alembic import op
import sqlalchemy as sa
import workbench.db


# revision identifiers, used by Alembic.
revision = 'a13c0ffee001'
down_revision = 'a10dec9f0c01'
branch_labels = None
depends_on = None

FAMILY_CHECK = "family IN (" + ", ".join(
    f"'{f}'"
    for f in (
        "VIANDES_VOLAILLES",
        "CHARCUTERIE",
        "PRODUITS_DE_LA_MER",
        "FRUITS_ET_LEGUMES",
        "PRODUITS_LAITIERS",
        "BOULANGERIE",
        "BOISSONS",
        "AUTRES",
    )
) + ")"


def upgrade():
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("kinds", sa.String(length=100), nullable=False),
        sa.Column("site_uais", sa.JSON(), nullable=False),
        sa.Column("created_at", workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "api_batches",
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.Column("api_token_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_api_batches_api_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_api_batches_import_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_batch_id", name=op.f("pk_api_batches")),
    )
    op.create_index(
        op.f("ix_api_batches_api_token_id"), "api_batches", ["api_token_id"], unique=False
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'cancelled')",
            name=op.f("ck_jobs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_jobs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_created_by_id"), "jobs", ["created_by_id"], unique=False)
    op.create_table(
        "nomenclature_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("family", sa.String(length=30), nullable=False),
        sa.Column("parent_code", sa.String(length=30), nullable=True),
        sa.Column("comment", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("group_key", sa.String(length=600), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", workbench.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", workbench.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'refused')",
            name=op.f("ck_nomenclature_proposals_status_known"),
        ),
        sa.CheckConstraint(
            FAMILY_CHECK,
            name=op.f("ck_nomenclature_proposals_family_known"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_nomenclature_proposals_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_nomenclature_proposals_proposed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nomenclature_proposals")),
    )
    op.create_index(
        op.f("ix_nomenclature_proposals_proposed_by_id"),
        "nomenclature_proposals",
        ["proposed_by_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(
        op.f("ix_nomenclature_proposals_proposed_by_id"), table_name="nomenclature_proposals"
    )
    op.drop_table("nomenclature_proposals")
    op.drop_index(op.f("ix_jobs_created_by_id"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_api_batches_api_token_id"), table_name="api_batches")
    op.drop_table("api_batches")
    op.drop_table("api_tokens")
