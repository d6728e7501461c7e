"""Rows for the exports, read in batches and within the user's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import User
from workbench.records.access import scope_clause
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import Site


def purchase_rows(
    session: Session, user: User, site_id: int | None = None
) -> Iterator[dict[str, Any]]:
    stmt = (
        sa.select(
            Site.uai,
            Site.siret.label("site_siret"),
            PurchaseLine.line_date,
            PurchaseLine.supplier_siret,
            PurchaseLine.supplier_name,
            PurchaseLine.reference,
            PurchaseLine.label,
            PurchaseLine.quantity,
            PurchaseLine.unit,
            PurchaseLine.amount_ht,
            PurchaseLine.family,
            PurchaseLine.labels,
            PurchaseLine.origin,
            PurchaseLine.nomenclature_code,
            PurchaseLine.is_short_circuit,
            PurchaseLine.is_local,
        )
        .join(Site, Site.id == PurchaseLine.site_id)
        .order_by(Site.uai, PurchaseLine.line_date, PurchaseLine.id)
        .execution_options(yield_per=5000)
    )
    stmt = stmt.where(scope_clause("purchase_line", user))
    if site_id is not None:
        stmt = stmt.where(PurchaseLine.site_id == site_id)
    for row in session.execute(stmt):
        yield dict(row._mapping)


def contract_rows(
    session: Session, user: User
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    columns = [
        c
        for c in Contract.__table__.columns
        if c.name not in ("import_batch_id", "source_row", "schema_errors")
    ]
    stmt = sa.select(*columns).order_by(Contract.buyer_id, Contract.contract_id)
    stmt = stmt.where(scope_clause("contract", user))
    contracts = [dict(r._mapping) for r in session.execute(stmt)]
    holders: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = {c["id"] for c in contracts}
    for row in session.execute(
        sa.select(
            ContractHolder.contract_id,
            ContractHolder.role,
            ContractHolder.position,
            ContractHolder.id_type,
            ContractHolder.identifier,
        ).where(
            ContractHolder.contract_id.in_(
                sa.select(Contract.id).where(scope_clause("contract", user))
            )
        )
    ):
        if row.contract_id in ids:
            holders[row.contract_id].append(dict(row._mapping))
    return contracts, holders
