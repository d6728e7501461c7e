"""article groups: no index over the whole supplier list of a group (site_id, suppliers) — a
label bought from a hundred suppliers made an entry above PostgreSQL's 2,704 bytes, and the
groups' upkeep (an import, a mapping) failed; the supplier filter's choices read the level's
rows instead (12–19 ms at 1M lines)

Revision ID: a28c0ffee028
Revises: a27c0ffee027
Create Date: 2026-12-08 00:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a28c0ffee028"
down_revision = "a27c0ffee027"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_article_groups_suppliers", table_name="article_groups")


def downgrade():
    op.create_index("ix_article_groups_suppliers", "article_groups", ["site_id", "suppliers"])
