"""Operational records: canteen purchase lines and contract records (DECP)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.core.bulk_keys import native_on_sqlite_only
from workbench.db import Base, Money, ProvenanceMixin, VersionedMixin
from workbench.reference.models import Site, Supplier

#: Contract amounts: any amount a DECP file carries (up to 10^18 € excluded). The reader turns a
#: larger value into a value error (field left empty) and the rules flag absurd ones (> 3 bn€).
ContractMoney = sa.Numeric(20, 2, asdecimal=False)
#: Absolute bound of :data:`ContractMoney` (exclusive) and of a 32-bit integer column.
CONTRACT_MONEY_LIMIT = 10**18
INTEGER_LIMIT = 2**31 - 1


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
        # Re-checks load the lines of the same lycée and day (duplicate context).
        sa.Index("ix_purchase_lines_site_date", "site_id", "line_date"),
        # Indicators read a year (or a month) of lines.
        sa.Index("ix_purchase_lines_date", "line_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: No index of its own: ``ix_purchase_lines_site_date`` starts with it.
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="RESTRICT"))
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


# PostgreSQL checks its keys per statement (a million rows per import): workbench.core.bulk_keys
native_on_sqlite_only(PurchaseLine.__table__)


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
    #: The initial amount (montant HT, or valeurGlobale of a concession) as first published.
    amount: Mapped[float | None] = mapped_column(ContractMoney)
    public_subsidy: Mapped[float | None] = mapped_column(ContractMoney)
    #: Amount and duration after the last modification (in date order) that sets them; equal
    #: to the initial values when no modification does. Kept in step at import and on flush.
    current_amount: Mapped[float | None] = mapped_column(ContractMoney)
    current_duration_months: Mapped[int | None] = mapped_column(sa.Integer)
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
    #: Values the import could not keep (placeholder, unreadable, out of range, malformed
    #: holder): ``[{"field", "raw", "message", "file", "kind"}]``; the field is left empty.
    value_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    #: Earlier publications of the same contract (older ``datePublicationDonnees``, earlier
    #: rows of the flat CSV, other files): ``[{"publication_date", "file", "amount",
    #: "duration_months", "holders", "hash", "raw"}]``, oldest first. The row is the latest.
    publications: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    holders: Mapped[list[ContractHolder]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="ContractHolder.position"
    )
    modifications: Mapped[list[ContractModification]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractModification.position",
    )
    subcontracting_modifications: Mapped[list[ContractSubcontractingModification]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractSubcontractingModification.position",
    )

    def refresh_current_state(self, modifications: list[Any] | None = None) -> None:
        """Current amount and duration from the modifications (latest in date order).

        ``modifications`` defaults to the loaded collection.
        """
        if modifications is None:
            modifications = list(self.modifications)
        amount, months = current_state(
            self.amount,
            self.duration_months,
            [
                {
                    "position": m.position,
                    "notification_date": m.notification_date,
                    "amount": m.amount,
                    "duration_months": m.duration_months,
                }
                for m in modifications
            ],
        )
        if self.current_amount != amount:
            self.current_amount = amount
        if self.current_duration_months != months:
            self.current_duration_months = months

    @property
    def current_holders(self) -> list[dict[str, Any]]:
        """Holders after the last modification that names them (else the initial holders)."""
        for modification in reversed(ordered_modifications(self.modifications)):
            if modification.holders:
                return list(modification.holders)
        return [
            {"id_type": h.id_type, "identifier": h.identifier, "name": h.name}
            for h in self.holders
            if h.role == "holder"
        ]

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
    amount: Mapped[float | None] = mapped_column(ContractMoney)
    #: Notification date of a subcontracting act (subcontractors only).
    notification_date: Mapped[dt.date | None] = mapped_column(sa.Date)
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
    #: The new amount of the contract (DECP ``montant`` / ``valeurGlobale``: not a delta).
    amount: Mapped[float | None] = mapped_column(ContractMoney)
    notification_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    publication_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: Holders after the modification, parsed like the contract's (``[{"id_type",
    #: "identifier", "name", "position"}]``); malformed ones are value errors, not holders.
    holders: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    contract: Mapped[Contract] = relationship(back_populates="modifications")

    def __repr__(self) -> str:
        return f"<ContractModification {self.contract_id}#{self.position}>"


class ContractSubcontractingModification(Base):
    """A modification of a subcontracting act (DECP v2 ``modificationsActesSousTraitance``)."""

    __tablename__ = "contract_subcontracting_modifications"
    __table_args__ = (sa.UniqueConstraint("contract_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    #: The ``id`` the file gives the modification (text: files use numbers and strings).
    act_id: Mapped[str | None] = mapped_column(sa.String(50))
    duration_months: Mapped[int | None] = mapped_column(sa.Integer)
    amount: Mapped[float | None] = mapped_column(ContractMoney)
    notification_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    publication_date: Mapped[dt.date | None] = mapped_column(sa.Date)

    contract: Mapped[Contract] = relationship(back_populates="subcontracting_modifications")

    def __repr__(self) -> str:
        return f"<ContractSubcontractingModification {self.contract_id}#{self.position}>"


# -- current state -----------------------------------------------------------------------------
def _modification_order(item: Any) -> tuple:
    date = item["notification_date"] if isinstance(item, dict) else item.notification_date
    position = item["position"] if isinstance(item, dict) else item.position
    return (date is None, date or dt.date.min, position if position is not None else 0)


def ordered_modifications(modifications: list[Any]) -> list[Any]:
    """Modifications in date order (notification date, then position; undated last)."""
    return sorted(modifications, key=_modification_order)


def current_state(
    amount: float | None, duration_months: int | None, modifications: list[dict[str, Any]]
) -> tuple[float | None, int | None]:
    """Amount and duration after the last modification (in date order) that sets each."""
    for modification in ordered_modifications(modifications):
        if modification.get("amount") is not None:
            amount = modification["amount"]
        if modification.get("duration_months") is not None:
            duration_months = modification["duration_months"]
    return amount, duration_months


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _keep_current_state(session: sa.orm.Session, flush_context: Any, instances: Any) -> None:
    """A contract changed through the ORM (a correction, a factory) keeps its current state."""
    changed: dict[Contract, tuple[list, list]] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Contract):
            changed.setdefault(obj, ([], []))
        elif isinstance(obj, ContractModification):
            contract = obj.contract
            if contract is None and obj.contract_id is not None:
                contract = session.get(Contract, obj.contract_id)
            if contract is not None:
                added, removed = changed.setdefault(contract, ([], []))
                (removed if obj in session.deleted else added).append(obj)
    for contract, (added, removed) in changed.items():
        if contract in session.deleted:
            continue
        if contract.id is None:
            modifications = list(contract.modifications)
        else:  # the stored ones (a collection loaded earlier may be stale)
            modifications = list(
                session.scalars(
                    sa.select(ContractModification).where(
                        ContractModification.contract_id == contract.id
                    )
                )
            )
        modifications = [m for m in modifications if m not in removed]
        modifications += [m for m in added if m not in modifications]
        contract.refresh_current_state(modifications)
