"""Loading one record by kind and id, within the user's scope (404 outside it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import MatrixEntry, NomenclatureItem, Supplier

RECORD_MODELS: dict[str, type] = {
    "purchase_line": PurchaseLine,
    "supplier": Supplier,
    "contract": Contract,
    "matrix_entry": MatrixEntry,
    "nomenclature_item": NomenclatureItem,
}

RECORD_KIND_LABELS = {
    "purchase_line": "Ligne d'achat",
    "supplier": "Fournisseur",
    "contract": "Marché",
    "matrix_entry": "Article de matrice fournisseur",
    "nomenclature_item": "Article de nomenclature",
}


def supplier_scope_clause(user: User) -> sa.ColumnElement[bool]:
    """Suppliers of a direction: assigned to it, or holding one of its contracts."""
    holds_contract = sa.exists(
        sa.select(ContractHolder.id)
        .join(Contract, Contract.id == ContractHolder.contract_id)
        .where(
            ContractHolder.identifier == Supplier.siret,
            Contract.direction_code == user.direction_code,
        )
    )
    return sa.or_(Supplier.direction_code == user.direction_code, holds_contract)


def _matrix_scope_clause(user: User) -> sa.ColumnElement[bool]:
    """Matrix entries of a direction: those of its suppliers only."""
    return MatrixEntry.supplier_id.in_(sa.select(Supplier.id).where(supplier_scope_clause(user)))


def _anomaly_scope_clause(user: User, kind: str) -> sa.ColumnElement[bool]:
    """Anomalies, or their maintained counts (same owner, lycée and direction columns)."""
    from workbench.auth.models import user_sites
    from workbench.rules.models import Anomaly, AnomalyCount

    table: Any = AnomalyCount if kind == "anomaly_count" else Anomaly
    if user.role == Role.CANTEEN:
        allowed = sa.select(user_sites.c.site_id).where(user_sites.c.user_id == user.id)
        return sa.and_(table.owner_role == Role.CANTEEN, table.site_id.in_(allowed))
    return sa.and_(
        table.owner_role == Role.DIRECTION, table.direction_code == (user.direction_code or "-")
    )


#: Kinds that are not records but are read under the same scope.
ANOMALY_KINDS = ("anomaly", "anomaly_count")
#: The « Articles à rattacher » groups (``article_groups`` rows, per lycée): purchase lines'.
GROUP_KINDS = ("article_group",)


def _article_group_scope_clause(user: User) -> sa.ColumnElement[bool]:
    """A canteen user's lycées' rows of the groups table (never the region-wide rows)."""
    from workbench.matching.models import ArticleGroupRow

    return ArticleGroupRow.site_id.in_(user.site_ids or {-1})


#: Aggregated figures (indicators) read wider than records: observatory readers read every
#: record behind the region's figures, directions the region's purchases (EGalim) and the
#: supplier reference behind SPASER. Nothing else is widened.
FIGURES_SCOPE: dict[str, tuple[str, ...]] = {
    "purchase_line": (Role.DIRECTION, Role.VIEWER),
    "contract": (Role.VIEWER,),
    "supplier": (Role.DIRECTION, Role.VIEWER),
}


def scope_clause(kind: str, user: User | None, *, figures: bool = False) -> sa.ColumnElement[bool]:
    """THE scope function: the WHERE clause restricting ``kind`` rows to what ``user`` may read.

    Every query that reads records goes through it: record pages and history
    (:func:`load_scoped`), queues (``kind="anomaly"``, via ``rules.queries.scope_anomalies``),
    the « Articles à rattacher » groups table (``kind="article_group"``: a canteen user's lycées),
    edit permissions, exports and, with ``figures=True``, indicators. Deny by default: an
    unknown role, an unknown kind or no user reads nothing.
    """
    role = getattr(user, "role", None)
    if user is None or role not in set(Role):
        return sa.false()
    if figures and role in FIGURES_SCOPE.get(kind, ()):
        return sa.true()
    if role in (Role.ADMIN, Role.LEGAL):
        known = kind in RECORD_MODELS or kind in ANOMALY_KINDS or kind in GROUP_KINDS
        return sa.true() if known else sa.false()
    if kind in ANOMALY_KINDS and role in (Role.CANTEEN, Role.DIRECTION):
        return _anomaly_scope_clause(user, kind)
    if kind in GROUP_KINDS and role == Role.CANTEEN:
        return _article_group_scope_clause(user)
    if kind == "purchase_line" and role == Role.CANTEEN:
        return PurchaseLine.site_id.in_(user.site_ids or {-1})
    if kind == "contract" and role == Role.DIRECTION:
        return Contract.direction_code == user.direction_code
    if kind == "supplier" and role == Role.DIRECTION:
        return supplier_scope_clause(user)
    if kind == "matrix_entry" and role == Role.DIRECTION:
        return _matrix_scope_clause(user)
    if kind == "matrix_entry" and role == Role.CANTEEN:
        return sa.true()  # matrices are shared reference data, read-only for canteens
    if kind == "nomenclature_item" and role in (Role.CANTEEN, Role.DIRECTION):
        return sa.true()
    return sa.false()


def load_scoped(session: Session, kind: str, record_id: int, user: User) -> Any:
    """The record, or a 404 when it does not exist *or* lies outside the user's scope."""
    model = RECORD_MODELS.get(kind)
    if model is None:
        abort(404)
    record = session.scalar(sa.select(model).where(model.id == record_id, scope_clause(kind, user)))
    if record is None:
        abort(404)
    return record


def record_label(kind: str, record: Any) -> str:
    if kind == "purchase_line":
        return record.label
    if kind == "supplier":
        return record.name
    if kind == "contract":
        return record.object or record.contract_id
    if kind == "matrix_entry":
        return f"{record.reference} — {record.label}"
    if kind == "nomenclature_item":
        return f"{record.code} — {record.label}"
    return str(record.id)
