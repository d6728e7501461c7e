"""anomaly texts haystack (PostgreSQL): the three texts a search reads, joined by a unit
separator and folded by lower() once, in a generated column — a search is one LIKE per
combination (see workbench.rules.search_texts)

Revision ID: a27c0ffee027
Revises: a26c0ffee026
Create Date: 2026-12-08 00:00:00

"""

from alembic import op

from workbench.rules.search_texts import HAYSTACK, TABLE, column_statements

# revision identifiers, used by Alembic.
revision = "a27c0ffee027"
down_revision = "a26c0ffee026"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in column_statements(dialect):  # PostgreSQL only
        op.execute(statement)
    if dialect == "postgresql":
        op.execute(f"ANALYZE {TABLE}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_column(TABLE, HAYSTACK)
