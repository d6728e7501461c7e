"""Incremental re-check of the records a change touched (receiver of ``records_changed``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db import any_of
from workbench.rules.frames import CHUNK
from workbench.rules.operations.run import RunResult, run_rules

logger = logging.getLogger(__name__)


# -- incremental re-check ---------------------------------------------------------------------
def recheck_records(
    session: Session,
    record_kind: str,
    record_ids: Sequence[int] | None,
    fields: Sequence[str] | None = None,
) -> list[RunResult]:
    """Re-evaluate what depends on changed records (``record_ids=None``: all of that kind).

    - purchase lines / contracts: their rules, for those records;
    - suppliers: the supplier rules, then the purchase lines of those suppliers (by id or SIRET)
      and the contracts they hold;
    - matrix entries: the purchase lines with that supplier and reference;
    - nomenclature items: the purchase lines with those codes.
    """
    from workbench.records.models import ContractHolder, PurchaseLine
    from workbench.reference.models import MatrixEntry, NomenclatureItem, Supplier

    ids = None if record_ids is None else [int(i) for i in record_ids]
    if ids is not None and not ids:
        return []
    if record_kind in ("purchase_line", "contract"):
        return [run_rules(session, record_kind=record_kind, record_ids=ids, fields=fields)]
    if record_kind in ("supplier", "matrix_entry", "nomenclature_item") and ids is None:
        kinds = (
            ("supplier", "purchase_line", "contract")
            if record_kind == "supplier"
            else ("purchase_line",)
        )
        return [run_rules(session, record_kind=kind) for kind in kinds]
    results = []
    line_ids: set[int] = set()
    contract_ids: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if record_kind == "supplier":
            sirets = [
                s
                for s in session.scalars(
                    sa.select(Supplier.siret).where(any_of(Supplier.id, chunk))
                )
                if s
            ]
            line_ids.update(
                session.scalars(
                    sa.select(PurchaseLine.id).where(
                        sa.or_(
                            any_of(PurchaseLine.supplier_id, chunk),
                            any_of(PurchaseLine.supplier_siret, sirets),
                        )
                    )
                )
            )
            contract_ids.update(
                session.scalars(
                    sa.select(ContractHolder.contract_id).where(
                        any_of(ContractHolder.identifier, sirets)
                    )
                )
            )
        elif record_kind == "matrix_entry":
            pairs = session.execute(
                sa.select(MatrixEntry.supplier_id, MatrixEntry.reference).where(
                    any_of(MatrixEntry.id, chunk)
                )
            ).all()
            for supplier_id in {p[0] for p in pairs}:
                refs = [p[1] for p in pairs if p[0] == supplier_id]
                line_ids.update(
                    session.scalars(
                        sa.select(PurchaseLine.id).where(
                            PurchaseLine.supplier_id == supplier_id,
                            any_of(PurchaseLine.reference, refs),
                        )
                    )
                )
        elif record_kind == "nomenclature_item":
            codes = list(
                session.scalars(
                    sa.select(NomenclatureItem.code).where(any_of(NomenclatureItem.id, chunk))
                )
            )
            line_ids.update(
                session.scalars(
                    sa.select(PurchaseLine.id).where(any_of(PurchaseLine.nomenclature_code, codes))
                )
            )
    if record_kind == "supplier":
        results.append(run_rules(session, record_kind="supplier"))
    if line_ids:
        results.append(run_rules(session, record_kind="purchase_line", record_ids=sorted(line_ids)))
    if contract_ids:
        results.append(run_rules(session, record_kind="contract", record_ids=sorted(contract_ids)))
    return results


def on_records_changed(
    sender: Any, record_kind: str, record_ids: Sequence[int] | None = None, **extra: Any
) -> None:
    """Receiver of :data:`workbench.core.signals.records_changed` (sender = the session)."""
    if not isinstance(sender, Session) and not hasattr(sender, "execute"):
        logger.warning("records_changed sent by %r, not a session: ignored", sender)
        return
    recheck_records(sender, record_kind, record_ids, extra.get("fields"))
