"""Operational records: canteen purchase lines and contract records (DECP)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Base, Money, ProvenanceMixin, VersionedMixin
from workbench.reference.models import Site, Supplier


class PurchaseLine(ProvenanceMixin, VersionedMixin, Base):
    """A canteen purchase line. ``line_key`` is the natural key computed by the importer."""

    __tablename__ = "purchase_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_positive"),
        # The "articles à rattacher" queue reads only unmapped lines: index just those.
        sa.Index(
            "ix_purchase_lines_unmapped",
            "site_id",
            "supplier_siret",
            "reference",
            sqlite_where=sa.text("nomenclature_code IS NULL"),
            postgresql_where=sa.text("nomenclature_code IS NULL"),
        ),
        # Indicators read a year (or a month) of lines.
        sa.Index("ix_purchase_lines_date", "line_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    line_date: Mapped[dt.date] = mapped_column(sa.Date)
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    supplier_siret: Mapped[str | None] = mapped_column(sa.String(20))
    supplier_name: Mapped[str | None] = mapped_column(sa.String(300))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    label: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[float | None] = mapped_column(sa.Float)
    unit: Mapped[str | None] = mapped_column(sa.String(20))
    amount_ht: Mapped[float | None] = mapped_column(Money)
    family: Mapped[str | None] = mapped_column(sa.String(30))
    #: Declared ma-cantine characteristics, comma separated.
    labels: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    origin: Mapped[str | None] = mapped_column(sa.String(50))
    nomenclature_code: Mapped[str | None] = mapped_column(sa.String(30))
    is_short_circuit: Mapped[bool | None] = mapped_column()
    is_local: Mapped[bool | None] = mapped_column()
    #: ma-cantine ``definition_local`` (PAT, COMMUNE, DEPARTEMENT, REGION, KM) and its distance.
    local_definition: Mapped[str | None] = mapped_column(sa.String(20))
    local_km: Mapped[float | None] = mapped_column(sa.Float)

    site: Mapped[Site] = relationship()
    supplier: Mapped[Supplier | None] = relationship()

    def __repr__(self) -> str:
        return f"<PurchaseLine {self.id} {self.label!r}>"


class Contract(ProvenanceMixin, VersionedMixin, Base):
    """A contract record (marché or contrat de concession) in DECP terms."""

    __tablename__ = "contracts"
    __table_args__ = (
        sa.UniqueConstraint("buyer_id", "contract_id"),
        sa.CheckConstraint("kind IN ('marche', 'concession')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="marche")
    contract_id: Mapped[str] = mapped_column(sa.String(50))
    buyer_id: Mapped[str] = mapped_column(sa.String(20))
    buyer_name: Mapped[str | None] = mapped_column(sa.String(300))
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"), index=True)
    nature: Mapped[str | None] = mapped_column(sa.String(100))
    object: Mapped[str | None] = mapped_column(sa.Text)
    cpv_code: Mapped[str | None] = mapped_column(sa.String(12))
    procedure: Mapped[str | None] = mapped_column(sa.String(200))
    techniques: Mapped[list[str] | None] = mapped_column(sa.JSON)
    execution_modes: Mapped[list[str] | None] = mapped_column(sa.JSON)
    is_innovative: Mapped[bool | None] = mapped_column()
    ccag: Mapped[str | None] = mapped_column(sa.String(100))
    offers_received: Mapped[int | None] = mapped_column(sa.Integer)
    has_advance: Mapped[bool | None] = mapped_column()
    advance_rate: Mapped[float | None] = mapped_column(sa.Float)
    grouping_type: Mapped[str | None] = mapped_column(sa.String(50))
    framework_id: Mapped[str | None] = mapped_column(sa.String(50))
    place_code: Mapped[str | None] = mapped_column(sa.String(20))
    place_type: Mapped[str | None] = mapped_column(sa.String(50))
    place_name: Mapped[str | None] = mapped_column(sa.String(200))
    duration_months: Mapped[int | None] = mapped_column(sa.Integer)
    notification_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    publication_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    signature_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    start_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    amount: Mapped[float | None] = mapped_column(Money)
    public_subsidy: Mapped[float | None] = mapped_column(Money)
    price_form: Mapped[str | None] = mapped_column(sa.String(50))
    price_types: Mapped[list[str] | None] = mapped_column(sa.JSON)
    subcontracting_declared: Mapped[bool | None] = mapped_column()
    origin_eu: Mapped[float | None] = mapped_column(sa.Float)
    origin_france: Mapped[float | None] = mapped_column(sa.Float)
    social_considerations: Mapped[list[str] | None] = mapped_column(sa.JSON)
    environmental_considerations: Mapped[list[str] | None] = mapped_column(sa.JSON)
    #: ``decp_v2``, ``decp_1.5`` or ``decp_csv``.
    source_format: Mapped[str | None] = mapped_column(sa.String(12))
    #: The record as received, to export faithfully and to show the source.
    raw: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: JSON-Schema validation errors found at import: ``[{"path": ..., "message": ...}]``.
    schema_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    holders: Mapped[list[ContractHolder]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="ContractHolder.position"
    )
    modifications: Mapped[list[ContractModification]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractModification.position",
    )

    @property
    def natural_key(self) -> str:
        return f"{self.buyer_id}/{self.contract_id}"

    def __repr__(self) -> str:
        return f"<Contract {self.natural_key}>"


class ContractHolder(VersionedMixin, Base):
    """A holder (titulaire / concessionnaire) or a subcontractor of a contract."""

    __tablename__ = "contract_holders"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "role", "position"),
        sa.CheckConstraint("role IN ('holder', 'subcontractor')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(15), default="holder")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    id_type: Mapped[str | None] = mapped_column(sa.String(30))
    identifier: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(300))
    amount: Mapped[float | None] = mapped_column(Money)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    contract: Mapped[Contract] = relationship(back_populates="holders")

    def __repr__(self) -> str:
        return f"<ContractHolder {self.role} {self.identifier}>"


class ContractModification(Base):
    """A numbered modification of a contract as published (never a correction)."""

    __tablename__ = "contract_modifications"
    __table_args__ = (sa.UniqueConstraint("contract_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    object: Mapped[str | None] = mapped_column(sa.Text)
    duration_months: Mapped[int | None] = mapped_column(sa.Integer)
    amount: Mapped[float | None] = mapped_column(Money)
    notification_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    publication_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    holders: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    contract: Mapped[Contract] = relationship(back_populates="modifications")

    def __repr__(self) -> str:
        return f"<ContractModification {self.contract_id}#{self.position}>"
