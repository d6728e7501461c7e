"""article groups: the « Articles à rattacher » groups and their lines, kept at import and
mapping time (built by ``workbench matching rebuild-groups``)

Revision ID: a16a7c1e0001
Revises: a15c0ffee001
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16a7c1e0001'
down_revision = 'a15c0ffee001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'article_group_lines',
        sa.Column('line_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('line_id', name=op.f('pk_article_group_lines')),
    )
    op.create_index('ix_article_group_lines_key', 'article_group_lines', ['key', 'site_id'])
    op.create_table(
        'article_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('label', sa.String(length=500), nullable=False),
        sa.Column('supplier_siret', sa.String(length=20), nullable=False),
        sa.Column('supplier_name', sa.String(length=300), nullable=True),
        sa.Column('reference', sa.String(length=100), nullable=True),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=False),
        sa.Column('oldest', sa.Date(), nullable=True),
        sa.Column('labels', sa.Text(), nullable=False),
        sa.Column('label_count', sa.Integer(), nullable=False),
        sa.Column('supplier_count', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.Text(), nullable=False),
        sa.Column('cluster_key', sa.String(length=64), nullable=False),
        sa.Column('cluster_size', sa.Integer(), nullable=False),
        sa.Column('head_oldest', sa.Boolean(), nullable=False),
        sa.Column('head_lines', sa.Boolean(), nullable=False),
        sa.Column('sirets', sa.Text(), nullable=False),
        sa.Column('suppliers', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_article_groups')),
        sa.UniqueConstraint('site_id', 'key', name=op.f('uq_article_groups_site_id_key')),
    )
    op.create_index('ix_article_groups_oldest', 'article_groups', ['site_id', 'head_oldest', 'oldest', 'line_count'])
    op.create_index('ix_article_groups_lines', 'article_groups', ['site_id', 'head_lines', 'line_count', 'oldest'])
    op.create_index('ix_article_groups_cluster', 'article_groups', ['cluster_key', 'site_id'])
    op.create_index('ix_article_groups_fingerprint', 'article_groups', ['site_id', 'fingerprint'])
    op.create_index('ix_article_groups_key', 'article_groups', ['key'])
    op.create_index('ix_article_groups_suppliers', 'article_groups', ['site_id', 'suppliers'])
    op.create_index('ix_article_groups_supplier', 'article_groups', ['site_id', 'supplier_siret'])
    op.create_index('ix_article_groups_supplier_count', 'article_groups', ['site_id', 'supplier_count'])
    op.create_index('ix_anomalies_rule_group', 'anomalies', ['rule_code', 'group_key', 'site_id', 'status', 'owner_role'])
    # Existing lines: the groups are built from them (pure SQL is not enough: a label group's
    # key is the engine's normalised label), so the application's rebuild runs here.
    from workbench.matching.groups import rebuild_on_connection

    rebuild_on_connection(op.get_bind())


def downgrade():
    op.drop_index('ix_anomalies_rule_group', table_name='anomalies')
    op.drop_table('article_groups')
    op.drop_table('article_group_lines')
