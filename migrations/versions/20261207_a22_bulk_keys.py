"""bulk keys: on PostgreSQL the foreign keys of purchase_lines and anomalies are checked once
per statement by triggers (the native keys check row by row: 19 s of server time for the three
keys of a million purchase lines); SQLite keeps its native keys

Revision ID: a22c0ffee022
Revises: a21c0ffee021
Create Date: 2026-12-07 00:00:00

"""

from alembic import op

from workbench.core.bulk_keys import REFERENCES, drop_statements, trigger_statements

# revision identifiers, used by Alembic.
revision = "a22c0ffee022"
down_revision = "a21c0ffee021"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect != "postgresql":
        return
    for reference in REFERENCES:
        op.drop_constraint(reference.constraint, reference.table, type_="foreignkey")
    for statement in trigger_statements(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect != "postgresql":
        return
    for statement in drop_statements(dialect):
        op.execute(statement)
    for reference in REFERENCES:
        op.create_foreign_key(
            reference.constraint,
            reference.table,
            reference.parent,
            [reference.column],
            [reference.key],
            ondelete=None if reference.on_delete == "NO ACTION" else reference.on_delete,
        )
