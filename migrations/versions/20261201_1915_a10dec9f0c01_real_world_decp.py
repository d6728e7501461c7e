"""real-world DECP: wider contract amounts, value errors, current state, publications,
subcontracting acts dates and their modifications

Revision ID: a10dec9f0c01
Revises: a12c0ffee012
Create Date: 2026-12-01 19:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10dec9f0c01'
down_revision = 'a12c0ffee012'
branch_labels = None
depends_on = None

NARROW = sa.Numeric(precision=14, scale=2, asdecimal=False)
WIDE = sa.Numeric(precision=20, scale=2, asdecimal=False)


def upgrade():
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.alter_column("amount", existing_type=NARROW, type_=WIDE)
        batch_op.alter_column("public_subsidy", existing_type=NARROW, type_=WIDE)
        batch_op.add_column(sa.Column("current_amount", WIDE, nullable=True))
        batch_op.add_column(sa.Column("current_duration_months", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("value_errors", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("publications", sa.JSON(), nullable=True))
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.alter_column("amount", existing_type=NARROW, type_=WIDE)
        batch_op.add_column(sa.Column("notification_date", sa.Date(), nullable=True))
    with op.batch_alter_table("contract_modifications", schema=None) as batch_op:
        batch_op.alter_column("amount", existing_type=NARROW, type_=WIDE)
    op.create_table(
        "contract_subcontracting_modifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.String(length=50), nullable=True),
        sa.Column("duration_months", sa.Integer(), nullable=True),
        sa.Column("amount", WIDE, nullable=True),
        sa.Column("notification_date", sa.Date(), nullable=True),
        sa.Column("publication_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_subcontracting_modifications_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_subcontracting_modifications")),
        sa.UniqueConstraint(
            "contract_id",
            "position",
            name=op.f("uq_contract_subcontracting_modifications_contract_id_position"),
        ),
    )
    with op.batch_alter_table("contract_subcontracting_modifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_subcontracting_modifications_contract_id"),
            ["contract_id"],
            unique=False,
        )
    # existing contracts: the current state is the initial state until the next import
    op.execute(
        "UPDATE contracts SET current_amount = amount, current_duration_months = duration_months"
    )


def downgrade():
    with op.batch_alter_table("contract_subcontracting_modifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_subcontracting_modifications_contract_id"))
    op.drop_table("contract_subcontracting_modifications")
    with op.batch_alter_table("contract_modifications", schema=None) as batch_op:
        batch_op.alter_column("amount", existing_type=WIDE, type_=NARROW)
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.drop_column("notification_date")
        batch_op.alter_column("amount", existing_type=WIDE, type_=NARROW)
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("publications")
        batch_op.drop_column("value_errors")
        batch_op.drop_column("current_duration_months")
        batch_op.drop_column("current_amount")
        batch_op.alter_column("public_subsidy", existing_type=WIDE, type_=NARROW)
        batch_op.alter_column("amount", existing_type=WIDE, type_=NARROW)
