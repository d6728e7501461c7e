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


def scope_clause(kind: str, user: User) -> sa.ColumnElement[bool]:
    """The WHERE clause restricting records of ``kind`` to what ``user`` may read."""
    if user.role in (Role.ADMIN, Role.LEGAL):
        return sa.true()
    if kind == "purchase_line" and user.role == Role.CANTEEN:
        return PurchaseLine.site_id.in_(user.site_ids or {-1})
    if kind == "contract" and user.role == Role.DIRECTION:
        return Contract.direction_code == user.direction_code
    if kind == "supplier" and user.role == Role.DIRECTION:
        return supplier_scope_clause(user)
    if kind == "matrix_entry" and user.role in (Role.CANTEEN, Role.DIRECTION):
        return sa.true()  # matrices are shared reference data, read-only for these roles
    if kind == "nomenclature_item" and user.role in (Role.CANTEEN, Role.DIRECTION):
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
