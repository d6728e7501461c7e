"""site siret: the canteen's own SIRET, key of the ma-cantine purchase format

Revision ID: 336b5359bb39
Revises: f5cd1e1ecb9c
Create Date: 2026-11-29 07:37:59.423258

"""
from alembic import op
import sqlalchemy as sa
import workbench.db


# revision identifiers, used by Alembic.
revision = '336b5359bb39'
down_revision = 'f5cd1e1ecb9c'
branch_labels = None
depends_on = None


def upgrade():
    # add_column and create_index need no table rebuild on SQLite
    op.add_column("sites", sa.Column("siret", sa.String(length=14), nullable=True))
    op.create_index("uq_sites_siret", "sites", ["siret"], unique=True)


def downgrade():
    op.drop_index("uq_sites_siret", table_name="sites")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("siret")
