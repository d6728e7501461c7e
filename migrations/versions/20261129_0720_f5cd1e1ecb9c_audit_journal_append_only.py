"""audit journal append only: the database refuses UPDATE and DELETE on audit_entries

Revision ID: f5cd1e1ecb9c
Revises: 21f1d627c23a
Create Date: 2026-11-29 07:20:27.277833

"""
from alembic import op
import sqlalchemy as sa
import workbench.db


# revision identifiers, used by Alembic.
revision = 'f5cd1e1ecb9c'
down_revision = '21f1d627c23a'
branch_labels = None
depends_on = None


TRIGGERS = ("audit_entries_no_update", "audit_entries_no_delete")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name, event in zip(TRIGGERS, ("UPDATE", "DELETE"), strict=True):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
            )
    elif bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_entries is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for name, event in zip(TRIGGERS, ("UPDATE", "DELETE"), strict=True):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )
        op.execute(
            "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
        )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif bind.dialect.name == "postgresql":
        for name in (*TRIGGERS, "audit_entries_no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
