"""Reference data: directions, sites (lycées), nomenclature, suppliers and their product matrices."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Base, Money, ProvenanceMixin, VersionedMixin, utcnow

#: ma-cantine purchase families.
FAMILIES: dict[str, str] = {
    "VIANDES_VOLAILLES": "Viandes et volailles",
    "CHARCUTERIE": "Charcuterie",
    "PRODUITS_DE_LA_MER": "Poissons et produits de la mer",
    "FRUITS_ET_LEGUMES": "Fruits et légumes",
    "PRODUITS_LAITIERS": "Produits laitiers, beurre et œufs",
    "BOULANGERIE": "Boulangerie et pâtisserie",
    "BOISSONS": "Boissons",
    "AUTRES": "Autres produits",
}

#: ma-cantine quality characteristics (EGalim labels and information-only tokens).
LABELS: dict[str, str] = {
    "BIO": "Bio",
    "LABEL_ROUGE": "Label rouge",
    "AOCAOP": "AOC / AOP",
    "IGP": "IGP",
    "STG": "STG",
    "HVE": "HVE",
    "PECHE_DURABLE": "Pêche durable",
    "RUP": "RUP",
    "FERMIER": "Fermier",
    "COMMERCE_EQUITABLE": "Commerce équitable",
    "EXTERNALITES": "Externalités environnementales",
    "PERFORMANCE": "Performance environnementale",
    "FRANCE": "Origine France",
    "CIRCUIT_COURT": "Circuit court",
    "LOCAL": "Local",
}

#: The characteristics that count for EGalim (origin, local and short circuit are information only).
EGALIM_LABELS = frozenset(
    {
        "BIO",
        "LABEL_ROUGE",
        "AOCAOP",
        "IGP",
        "STG",
        "HVE",
        "PECHE_DURABLE",
        "RUP",
        "FERMIER",
        "COMMERCE_EQUITABLE",
        "EXTERNALITES",
        "PERFORMANCE",
    }
)

COMPANY_CATEGORIES = ("PME", "ETI", "GE")


def _in(column: str, values) -> str:  # type: ignore[no-untyped-def]
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Direction(Base):
    __tablename__ = "directions"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: CPV divisions (two digits, comma separated) whose contracts belong to this direction.
    cpv_divisions: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    def __repr__(self) -> str:
        return f"<Direction {self.code}>"


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (
        sa.CheckConstraint("length(uai) = 8", name="uai_length"),
        sa.Index("uq_sites_siret", "siret", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uai: Mapped[str] = mapped_column(sa.String(8), unique=True)
    #: The canteen's own SIRET (the key of the national ma-cantine purchase format).
    siret: Mapped[str | None] = mapped_column(sa.String(14))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(50), default="lycee", server_default="lycee")
    commune: Mapped[str | None] = mapped_column(sa.String(100))
    department: Mapped[str | None] = mapped_column(sa.String(3))
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"), index=True)

    direction: Mapped[Direction | None] = relationship()

    def __repr__(self) -> str:
        return f"<Site {self.uai} {self.name!r}>"


class NomenclatureItem(ProvenanceMixin, Base):
    __tablename__ = "nomenclature_items"
    __table_args__ = (sa.CheckConstraint(_in("family", FAMILIES), name="family_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30), unique=True)
    label: Mapped[str] = mapped_column(sa.String(300))
    family: Mapped[str] = mapped_column(sa.String(30))
    parent_code: Mapped[str | None] = mapped_column(sa.String(30))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    def __repr__(self) -> str:
        return f"<NomenclatureItem {self.code} {self.label!r}>"


class Supplier(ProvenanceMixin, VersionedMixin, Base):
    __tablename__ = "suppliers"
    __table_args__ = (
        sa.Index(
            "uq_suppliers_siret",
            "siret",
            unique=True,
            sqlite_where=sa.text("siret IS NOT NULL"),
            postgresql_where=sa.text("siret IS NOT NULL"),
        ),
        sa.CheckConstraint(
            "company_category IS NULL OR " + _in("company_category", COMPANY_CATEGORIES),
            name="company_category_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str | None] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(300))
    company_category: Mapped[str | None] = mapped_column(sa.String(3))
    headcount_bracket: Mapped[str | None] = mapped_column(sa.String(2))
    commune_code: Mapped[str | None] = mapped_column(sa.String(5))
    is_ess: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"), index=True)

    def __repr__(self) -> str:
        return f"<Supplier {self.siret} {self.name!r}>"


class MatrixEntry(ProvenanceMixin, VersionedMixin, Base):
    """One article of a supplier's product matrix (the supplier's own declaration)."""

    __tablename__ = "matrix_entries"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(sa.String(100))
    label: Mapped[str] = mapped_column(sa.String(300))
    nomenclature_code: Mapped[str | None] = mapped_column(sa.String(30))
    #: ma-cantine characteristics, comma separated (``BIO,LABEL_ROUGE``).
    labels: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    origin: Mapped[str | None] = mapped_column(sa.String(50))
    unit_price: Mapped[float | None] = mapped_column(Money)
    unit: Mapped[str | None] = mapped_column(sa.String(20))
    valid_from: Mapped[dt.date | None] = mapped_column(sa.Date)
    valid_to: Mapped[dt.date | None] = mapped_column(sa.Date)

    supplier: Mapped[Supplier] = relationship()

    def __repr__(self) -> str:
        return f"<MatrixEntry {self.supplier_id}/{self.reference}>"


class NomenclatureProposal(Base):
    """A new nomenclature item proposed by a canteen team, decided by the administrator."""

    __tablename__ = "nomenclature_proposals"
    __table_args__ = (
        sa.CheckConstraint("status IN ('proposed', 'approved', 'refused')", name="status_known"),
        sa.CheckConstraint(_in("family", FAMILIES), name="family_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(300))
    family: Mapped[str] = mapped_column(sa.String(30))
    parent_code: Mapped[str | None] = mapped_column(sa.String(30))
    comment: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    #: The « Articles à rattacher » group it was proposed from, if any.
    group_key: Mapped[str | None] = mapped_column(sa.String(600))
    status: Mapped[str] = mapped_column(sa.String(10), default="proposed")
    #: The item created on approval.
    code: Mapped[str | None] = mapped_column(sa.String(30))
    reason: Mapped[str | None] = mapped_column(sa.String(1000))
    proposed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column()

    proposed_by = relationship("User", foreign_keys=[proposed_by_id])

    def __repr__(self) -> str:
        return f"<NomenclatureProposal {self.id} {self.label!r} {self.status}>"
