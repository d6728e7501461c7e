"""Writing the checked rows, per kind (pass 2; bulk upserts)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.imports import decp
from workbench.imports.operations.common import _StagedPurchases
from workbench.imports.parsing import ROW, Report
from workbench.imports.staging import line_keys
from workbench.imports.writer import UpsertResult, holder_field, upsert
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import MatrixEntry, NomenclatureItem, Site, Supplier

# -- writing (per kind) -------------------------------------------------------------------------
PURCHASE_VALUES = (
    "site_id",
    "line_date",
    "supplier_id",
    "supplier_siret",
    "supplier_name",
    "reference",
    "label",
    "quantity",
    "unit",
    "amount_ht",
    "family",
    "labels",
    "origin",
    "nomenclature_code",
    "is_short_circuit",
    "is_local",
)
#: ma-cantine's definition of "local" and its distance (written when the file carries them).
PURCHASE_LOCAL_VALUES = ("local_definition", "local_km")


#: What pass 1 stages per purchase line (the raw text columns are dropped once converted).
STAGED_PURCHASE_COLUMNS = (ROW, *PURCHASE_VALUES, *PURCHASE_LOCAL_VALUES, "key_base")
#: Keys per ``line_key IN (...)`` look-up of the existing lines (below every driver's limit).
KEY_LOOKUP_BATCH = 5_000


def _present(frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in frame.columns]


def _write_purchases(session: Session, staged: Any, report: Report, batch_id: int) -> UpsertResult:
    """Pass 2: upsert the staged lines chunk by chunk, skipping the rejected rows.

    The existing lines are looked up by key for each chunk, and only when the database holds
    lines of the file's lycées and dates at all (a first import skips the look-ups).
    """
    result = UpsertResult()
    if not isinstance(staged, _StagedPurchases):
        return result
    table = PurchaseLine.__table__
    look_up = bool(staged.site_ids) and bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    table.c.site_id.in_(sorted(staged.site_ids)),
                    table.c.line_date.between(staged.first_date, staged.last_date),
                )
            )
        )
    )
    for chunk, numbers in staged.chunks():
        bases = chunk.pop("key_base")
        if report.error_rows:
            keep = ~chunk[ROW].isin(report.error_rows).to_numpy()
            chunk, bases, numbers = chunk[keep].copy(), bases[keep], numbers[keep]
        if chunk.empty:
            continue
        chunk["line_key"] = line_keys(bases, numbers)
        values = _present(chunk, (*PURCHASE_VALUES, *PURCHASE_LOCAL_VALUES))
        if look_up:
            existing = _existing_lines(session, table, chunk["line_key"], values)
        else:
            existing = pd.DataFrame(columns=["id", "line_key", *values])
        part, _ = upsert(
            session,
            table,
            "purchase_line",
            chunk,
            ["line_key"],
            values,
            report,
            batch_id,
            existing=existing,
            label="Import d'achats",
        )
        result.inserted += part.inserted
        result.updated += part.updated
        result.unchanged += part.unchanged
        result.conflicts += part.conflicts
    return result


def _existing_lines(
    session: Session, table: sa.Table, keys: pd.Series, values: list[str]
) -> pd.DataFrame:
    """The stored lines (id, key, compared values) having one of ``keys``."""
    columns = ["id", "line_key", *values]
    selected = [table.c[c] for c in columns]
    wanted = keys.tolist()
    rows: list[Any] = []
    for start in range(0, len(wanted), KEY_LOOKUP_BATCH):
        batch = wanted[start : start + KEY_LOOKUP_BATCH]
        rows += session.execute(sa.select(*selected).where(table.c.line_key.in_(batch))).all()
    return pd.DataFrame(rows, columns=columns)


def _write_simple(model: type, record_kind: str | None, keys: list[str], values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def write(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
        if frame.empty:
            return UpsertResult()
        present = _present(frame, values)
        result, _ = upsert(
            session,
            model.__table__,
            record_kind,
            frame[[*keys, ROW, *present]],
            keys,
            present,
            report,
            batch_id,
            label=f"Import {model.__tablename__}",
        )
        return result

    return write


def _write_contracts(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
    if frame.empty:
        return UpsertResult()
    table = Contract.__table__
    values = [c for c in decp.CONTRACT_FIELDS if c not in ("contract_id", "buyer_id")] + [
        "direction_code"
    ]
    frame = frame.copy()
    existing = _existing_contracts(session, values)

    def holder_getter(idx: Any, name: str):  # type: ignore[no-untyped-def]
        parsed = holder_field(name)
        if parsed is None:
            return None
        role, position = parsed
        holders = frame.at[idx, "holders"]
        for holder in holders:
            if holder["role"] == role and holder["position"] == position:

                def put(value: Any, h: dict = holder) -> None:
                    h["identifier"] = value

                return (lambda h=holder: h["identifier"]), put
        return None

    result, changed_index = upsert(
        session,
        table,
        "contract",
        frame[["buyer_id", "contract_id", ROW, *values, "holders", "modifications"]],
        ["buyer_id", "contract_id"],
        [*values, "holders", "modifications"],
        report,
        batch_id,
        existing=existing,
        pseudo_cols=["holders", "modifications"],
        holder_getter=holder_getter,
        label="Import de marchés",
    )
    changed = frame.loc[changed_index]
    if changed.empty:
        return result
    ids = dict(
        (tuple(k), i)
        for *k, i in session.execute(
            sa.select(Contract.buyer_id, Contract.contract_id, Contract.id).where(
                Contract.import_batch_id == batch_id
            )
        )
    )
    contract_ids = [
        ids[(b, c)] for b, c in zip(changed["buyer_id"], changed["contract_id"], strict=True)
    ]
    session.execute(sa.delete(ContractHolder).where(ContractHolder.contract_id.in_(contract_ids)))
    session.execute(
        sa.delete(ContractModification).where(ContractModification.contract_id.in_(contract_ids))
    )
    holders = []
    modifications = []
    for contract_id, hs, ms in zip(
        contract_ids, changed["holders"], changed["modifications"], strict=True
    ):
        holders += [{**h, "contract_id": contract_id} for h in hs]
        modifications += [{**m, "contract_id": contract_id} for m in ms]
    if holders:
        session.execute(sa.insert(ContractHolder), holders)
    if modifications:
        session.execute(sa.insert(ContractModification), modifications)
    session.expire_all()
    return result


def _existing_contracts(session: Session, values: list[str]) -> pd.DataFrame:
    table = Contract.__table__
    columns = ["id", "buyer_id", "contract_id", *values]
    rows = session.execute(sa.select(*(table.c[c] for c in columns))).all()
    frame = pd.DataFrame(rows, columns=columns)
    holders: dict[int, list] = {}
    for h in session.execute(
        sa.select(ContractHolder).order_by(
            ContractHolder.contract_id, ContractHolder.role, ContractHolder.position
        )
    ).scalars():
        holders.setdefault(h.contract_id, []).append(
            {
                "role": h.role,
                "position": h.position,
                "id_type": h.id_type,
                "identifier": h.identifier,
                "name": h.name,
                "amount": h.amount,
                "details": h.details,
            }
        )
    modifications: dict[int, list] = {}
    for m in session.execute(
        sa.select(ContractModification).order_by(
            ContractModification.contract_id, ContractModification.position
        )
    ).scalars():
        modifications.setdefault(m.contract_id, []).append(
            {
                "position": m.position,
                "object": m.object,
                "duration_months": m.duration_months,
                "amount": m.amount,
                "notification_date": m.notification_date,
                "publication_date": m.publication_date,
                "holders": m.holders,
            }
        )
    frame["holders"] = [holders.get(i, []) for i in frame["id"]]
    frame["modifications"] = [modifications.get(i, []) for i in frame["id"]]
    return frame


WRITERS = {
    "purchases": _write_purchases,
    "contracts": _write_contracts,
    "matrix": _write_simple(
        MatrixEntry,
        "matrix_entry",
        ["supplier_id", "reference"],
        (
            "label",
            "nomenclature_code",
            "labels",
            "origin",
            "unit_price",
            "unit",
            "valid_from",
            "valid_to",
        ),
    ),
    "suppliers": _write_simple(
        Supplier,
        "supplier",
        ["siret"],
        ("name", "company_category", "headcount_bracket", "commune_code", "is_ess"),
    ),
    "nomenclature": _write_simple(
        NomenclatureItem,
        "nomenclature_item",
        ["code"],
        ("label", "family", "parent_code", "is_active"),
    ),
    "sites": _write_simple(
        Site, None, ["uai"], ("name", "kind", "commune", "department", "direction_code", "siret")
    ),
}
