"""Writing the checked rows, per kind (pass 2; bulk upserts)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record_many
from workbench.db import any_of
from workbench.imports import decp
from workbench.imports.models import ImportBatch
from workbench.imports.operations.common import _StagedPurchases
from workbench.imports.operations.reference import write_directions, write_users
from workbench.imports.parsing import ROW, Report
from workbench.imports.staging import line_keys
from workbench.imports.writer import (
    UpsertResult,
    analyze,
    copies_in_background,
    holder_field,
    upsert,
)
from workbench.records.models import (
    Contract,
    ContractHolder,
    ContractModification,
    ContractSubcontractingModification,
    PurchaseLine,
    current_state,
)
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
#: Lines written above which ``purchase_lines`` is ANALYZEd at the end of the import.
ANALYZE_AFTER = 20_000


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
    with copies_in_background(session):  # the next chunk is prepared while one is written
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
    if result.inserted + result.updated >= ANALYZE_AFTER:  # fresh statistics for the planner
        analyze(session, "purchase_lines")
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
        rows += session.execute(sa.select(*selected).where(any_of(table.c.line_key, batch))).all()
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


#: Per contract, the child rows written with it (compared as pseudo-columns by the upsert).
CONTRACT_CHILDREN = ("holders", "modifications", "subcontracting_modifications")


def _write_contracts(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
    if frame.empty:
        return UpsertResult()
    table = Contract.__table__
    values = [c for c in decp.CONTRACT_FIELDS if c not in ("contract_id", "buyer_id")] + [
        "direction_code"
    ]
    frame = frame.copy()
    for name in CONTRACT_CHILDREN:
        if name not in frame:
            frame[name] = [[] for _ in range(len(frame))]
    existing = _existing_contracts(session, values)
    frame, history = _versions(session, frame, existing, report, batch_id)

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
        frame[["buyer_id", "contract_id", ROW, *values, *CONTRACT_CHILDREN]],
        ["buyer_id", "contract_id"],
        [*values, *CONTRACT_CHILDREN],
        report,
        batch_id,
        existing=existing,
        pseudo_cols=list(CONTRACT_CHILDREN),
        holder_getter=holder_getter,
        label="Import de marchés",
    )
    result.history = history
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
    children = {
        "holders": ContractHolder,
        "modifications": ContractModification,
        "subcontracting_modifications": ContractSubcontractingModification,
    }
    for name, model in children.items():
        session.execute(sa.delete(model).where(model.contract_id.in_(contract_ids)))
        rows = [
            {**row, "contract_id": contract_id}
            for contract_id, items in zip(contract_ids, changed[name], strict=True)
            for row in items
        ]
        if rows:
            session.execute(sa.insert(model), rows)
    session.expire_all()
    return result


def _versions(
    session: Session, frame: pd.DataFrame, existing: pd.DataFrame, report: Report, batch_id: int
) -> tuple[pd.DataFrame, int]:
    """Incoming records already stored: the latest publication is current, the other history.

    An incoming publication older than the stored one (``datePublicationDonnees``) goes to the
    stored contract's history and is not written over it; a newer (or undated) one is written
    and the stored one joins the history. Replaced holders are a warning of the report (and the
    CONTRACT_HOLDERS_REPLACED rule). Returns the frame to upsert and the count of older ones.
    """
    if existing.empty:
        return frame, 0
    stored = existing.set_index(["buyer_id", "contract_id"])
    files = dict(session.execute(sa.select(ImportBatch.id, ImportBatch.file_name)).all())
    older: dict[int, list[dict[str, Any]]] = {}
    drop = []
    for idx, buyer_id, contract_id in zip(
        frame.index, frame["buyer_id"], frame["contract_id"], strict=True
    ):
        if (buyer_id, contract_id) not in stored.index:
            continue
        old = stored.loc[(buyer_id, contract_id)]
        old_hash = decp.publication_hash(old["raw"])
        incoming = frame.loc[idx]
        if decp.publication_hash(incoming["raw"]) == old_hash:
            continue
        history = list(old["publications"] or [])
        stored_batch = old.get("import_batch_id")
        old_file = files.get(int(stored_batch)) if pd.notna(stored_batch) else None
        continuation = incoming.get("csv_continuation")
        if isinstance(continuation, dict):
            _continue_contract(frame, idx, old, continuation, history, old_file)
            continue
        new_date = _as_date(incoming["publication_date"])
        old_date = _as_date(old["publication_date"])
        if new_date is not None and old_date is not None and new_date < old_date:
            snapshot = decp.publication_snapshot(
                incoming.to_dict(), frame.attrs.get("file_name") or report_file(incoming)
            )
            if snapshot["hash"] not in {h.get("hash") for h in history}:
                older[int(old["id"])] = _by_date([*history, snapshot])
            drop.append(idx)
            continue
        previous = decp.publication_snapshot(
            {**old.to_dict(), "publication_date": old_date}, old_file
        )
        merged = {h.get("hash"): h for h in [*history, previous, *(incoming["publications"] or [])]}
        merged.pop(decp.publication_hash(incoming["raw"]), None)
        frame.at[idx, "publications"] = _by_date(list(merged.values()))
        before = [h["identifier"] for h in old["holders"] if h["role"] == "holder"]
        after = [h["identifier"] for h in incoming["holders"] if h["role"] == "holder"]
        if sorted(map(str, before)) != sorted(map(str, after)):
            report.warning(
                int(incoming[ROW]),
                "titulaires",
                ", ".join(map(str, after)),
                "Titulaires différents de la publication précédente ("
                + (", ".join(map(str, before)) or "aucun")
                + ") : la publication la plus récente est retenue, la précédente est gardée "
                "dans l'historique.",
            )
    for contract_id, history in older.items():
        session.execute(
            sa.update(Contract).where(Contract.id == contract_id).values(publications=history)
        )
    if older:
        record_many(
            session,
            [
                {
                    "action": "contract.history_added",
                    "target_kind": "contract",
                    "target_id": contract_id,
                    "target_label": "Import de marchés",
                    "after": {"publications": len(history)},
                }
                for contract_id, history in older.items()
            ],
            import_batch_id=batch_id,
        )
    return frame.drop(index=drop), len(drop)


def _continue_contract(
    frame: pd.DataFrame,
    idx: Any,
    old: pd.Series,
    continuation: dict[str, Any],
    history: list[dict[str, Any]],
    old_file: str | None,
) -> None:
    """Later versions of a flat CSV contract: modifications appended to the stored contract.

    The stored initial values and holders stay; the stored modifications from the incoming
    first version on are replaced by the incoming ones; the stored publication joins the
    history.
    """
    first = int(continuation["version"])
    incoming = frame.loc[idx]
    modifications = [m for m in old["modifications"] if m["position"] < first - 1]
    modifications += [continuation["modification"], *(incoming["modifications"] or [])]
    for name in ("amount", "duration_months", "notification_date", "publication_date"):
        frame.at[idx, name] = old[name]
    frame.at[idx, "holders"] = old["holders"]
    frame.at[idx, "modifications"] = modifications
    amount, months = current_state(old["amount"], old["duration_months"], modifications)
    frame.at[idx, "current_amount"] = amount
    frame.at[idx, "current_duration_months"] = months
    old_rows = (old["raw"] or {}).get("rows", []) if isinstance(old["raw"], dict) else []
    frame.at[idx, "raw"] = {"rows": [*old_rows, *incoming["raw"]["rows"]]}
    previous = decp.publication_snapshot(
        {**old.to_dict(), "publication_date": _as_date(old["publication_date"])}, old_file
    )
    merged = {h.get("hash"): h for h in [*history, previous]}
    frame.at[idx, "publications"] = _by_date(list(merged.values()))


def report_file(record: pd.Series) -> str | None:
    """The file named by a record's value errors or history (the file being imported)."""
    for item in record.get("value_errors") or []:
        if item.get("file"):
            return item["file"]
    return None


def _as_date(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    return pd.Timestamp(value).date()


def _by_date(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(history, key=lambda h: str(h.get("publication_date") or ""))


def _existing_contracts(session: Session, values: list[str]) -> pd.DataFrame:
    table = Contract.__table__
    columns = ["id", "buyer_id", "contract_id", "import_batch_id", *values]
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
                "notification_date": h.notification_date,
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
    sub_mods: dict[int, list] = {}
    for m in session.execute(
        sa.select(ContractSubcontractingModification).order_by(
            ContractSubcontractingModification.contract_id,
            ContractSubcontractingModification.position,
        )
    ).scalars():
        sub_mods.setdefault(m.contract_id, []).append(
            {
                "position": m.position,
                "act_id": m.act_id,
                "duration_months": m.duration_months,
                "amount": m.amount,
                "notification_date": m.notification_date,
                "publication_date": m.publication_date,
            }
        )
    frame["holders"] = [holders.get(i, []) for i in frame["id"]]
    frame["modifications"] = [modifications.get(i, []) for i in frame["id"]]
    frame["subcontracting_modifications"] = [sub_mods.get(i, []) for i in frame["id"]]
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
    "directions": write_directions,
    "users": write_users,
}
