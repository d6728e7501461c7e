"""Load the demo frames into the database: bulk Core inserts, provenance, accounts, journal.

:func:`load_demo` flushes and never commits (the CLI commits once). Accounts go through the
same factory as the tests (:func:`workbench.demo.factories.make_user`, hence
``auth.operations.create_user``); every other table is a chunked ``INSERT`` executemany.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.auth.models import User
from workbench.demo import factories
from workbench.demo.generate import generate_demo
from workbench.imports.models import ImportBatch
from workbench.imports.operations.write import PURCHASE_VALUES
from workbench.imports.parsing import ROW
from workbench.imports.writer import analyze, insert_frame
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import Direction, MatrixEntry, NomenclatureItem, Site, Supplier

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5_000
SITE_COLUMNS = ("uai", "siret", "name", "kind", "commune", "department", "direction_code")
DEFAULT_PASSWORD = "demo-workbench"


@dataclass
class DemoResult:
    """What :func:`load_demo` loaded: counts per table, the accounts and their password."""

    seed: int
    size: str
    counts: dict[str, int]
    accounts: list[dict[str, str]]
    password: str
    nomenclature_source: str
    seconds: float = 0.0
    batches: dict[str, int] = field(default_factory=dict)


def database_has_data(session: Session) -> bool:
    """True when the database already holds sites (the demo then refuses to load)."""
    return session.scalar(sa.select(sa.exists().where(Site.id.is_not(None)))) or False


def _rows(frame: pd.DataFrame, columns: list[str], **constants: Any) -> list[dict[str, Any]]:
    """Plain-Python rows (None for NaN, native ints/floats) of ``columns`` plus ``constants``."""
    sub = frame[columns].astype(object)
    sub = sub.where(sub.notna(), None)
    rows = sub.to_dict("records")
    if constants:
        for row in rows:
            row.update(constants)
    return rows


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> int:
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), CHUNK_ROWS):
        session.execute(sa.insert(table), rows[start : start + CHUNK_ROWS])
    return len(rows)


def bulk_insert(session: Session, table: sa.Table, frame: pd.DataFrame, batch_id: int) -> int:
    """Insert purchase lines as the importer does (:func:`~workbench.imports.writer.
    insert_frame`), one chunk of rows converted to Python values at a time."""
    names = ["line_key", *PURCHASE_VALUES, "import_batch_id", "source_row"]
    frame = frame.assign(**{ROW: frame["source_row"]})
    insert_frame(session, table, names, frame, constants={"import_batch_id": batch_id})
    return len(frame)


def _batch(
    session: Session, kind: str, table: str, seed: int, size: str, rows: int, admin: User
) -> ImportBatch:
    digest = hashlib.sha256(f"demo|{seed}|{size}|{table}".encode()).hexdigest()
    batch = ImportBatch(
        kind=kind,
        file_format="demo",
        file_name=f"demo:{table}",
        sha256=digest,
        size_bytes=0,
        status="applied",
        created_by_id=admin.id,
        row_count=rows,
        inserted_count=rows,
        report=[],
    )
    session.add(batch)
    session.flush()
    return batch


def _scope(account: dict[str, Any], site_names: dict[str, str]) -> str:
    if account["sites"]:
        return ", ".join(site_names[u] for u in account["sites"])
    if account["direction"]:
        return f"direction {account['direction']}"
    return "toute la région"


def load_demo(
    session: Session,
    *,
    seed: int = 2025,
    size: str = "small",
    lines: int | None = None,
    password: str = DEFAULT_PASSWORD,
) -> DemoResult:
    """Generate the demo dataset and insert it (flushes, writes ``demo.loaded``, never commits).

    ``lines`` overrides the purchase line count of ``size`` (tests load a reduced dataset).
    The caller checks :func:`database_has_data` first: loading twice violates unique keys.
    """
    started = time.perf_counter()
    frames = generate_demo(seed, size, lines=lines)
    counts: dict[str, int] = {}

    counts["directions"] = _insert(
        session, Direction, _rows(frames["directions"], ["code", "name", "cpv_divisions"])
    )
    sites = frames["sites"]
    counts["sites"] = _insert(
        session,
        Site,
        _rows(sites, [c for c in SITE_COLUMNS if c in Site.__table__.columns]),
    )
    site_ids = dict(session.execute(sa.select(Site.uai, Site.id)).tuples().all())
    site_objects = {s.uai: s for s in session.scalars(sa.select(Site))}

    accounts = []
    site_names = dict(zip(sites["uai"], sites["name"], strict=True))
    users: dict[str, User] = {}
    for account in frames["accounts"].to_dict("records"):
        users[account["email"]] = factories.make_user(
            session,
            email=account["email"],
            role=account["role"],
            password=password,
            sites=[site_objects[u] for u in account["sites"]],
            direction=account["direction"],
            name=account["name"],
        )
        accounts.append(
            {
                "email": account["email"],
                "role": account["role"],
                "name": account["name"],
                "scope": _scope(account, site_names),
            }
        )
    counts["users"] = len(users)
    admin = users["admin@region.example"]

    batches: dict[str, ImportBatch] = {}

    def batch(kind: str, table: str, rows: int) -> ImportBatch:
        batches[table] = _batch(session, kind, table, seed, size, rows, admin)
        return batches[table]

    batch("sites", "sites", len(sites))

    nomenclature = frames["nomenclature"].reset_index(drop=True)
    b = batch("nomenclature", "nomenclature", len(nomenclature))
    nomenclature["source_row"] = nomenclature.index + 2
    counts["nomenclature_items"] = _insert(
        session,
        NomenclatureItem,
        _rows(
            nomenclature,
            ["code", "label", "family", "parent_code", "is_active", "source_row"],
            import_batch_id=b.id,
        ),
    )

    suppliers = frames["suppliers"]
    b = batch("suppliers", "suppliers", len(suppliers))
    suppliers = suppliers.assign(source_row=suppliers["key"] + 2)
    counts["suppliers"] = _insert(
        session,
        Supplier,
        _rows(
            suppliers,
            [
                "siret",
                "name",
                "company_category",
                "headcount_bracket",
                "commune_code",
                "is_ess",
                "direction_code",
                "source_row",
            ],
            import_batch_id=b.id,
        ),
    )
    supplier_ids = dict(
        session.execute(
            sa.select(Supplier.name, Supplier.id).where(Supplier.import_batch_id == b.id)
        )
        .tuples()
        .all()
    )
    supplier_id_of_key = suppliers["name"].map(supplier_ids).set_axis(suppliers["key"])

    matrix = frames["matrix"].reset_index(drop=True)
    b = batch("matrix", "matrix", len(matrix))
    matrix = matrix.assign(
        supplier_id=matrix["supplier_key"].map(supplier_id_of_key), source_row=matrix.index + 2
    )
    counts["matrix_entries"] = _insert(
        session,
        MatrixEntry,
        _rows(
            matrix,
            [
                "supplier_id",
                "reference",
                "label",
                "nomenclature_code",
                "labels",
                "origin",
                "unit_price",
                "unit",
                "valid_from",
                "valid_to",
                "source_row",
            ],
            import_batch_id=b.id,
        ),
    )

    purchases = frames["purchases"]
    slices = purchases.attrs.get("slices")
    if slices is None:
        b = batch("purchases", "purchases", len(purchases))
        purchases = purchases.assign(
            site_id=purchases["uai"].map(site_ids),
            supplier_id=purchases["supplier_key"].map(supplier_id_of_key),
        )
        counts["purchase_lines"] = _insert(
            session,
            PurchaseLine,
            _rows(
                purchases,
                ["line_key", *PURCHASE_VALUES, "source_row"],
                import_batch_id=b.id,
            ),
        )
    else:  # regional: streamed ten lycées at a time through the importer's bulk path
        b = batch("purchases", "purchases", 0)
        total = 0
        for part in slices():
            part = part.assign(
                site_id=part["uai"].map(site_ids),
                supplier_id=part["supplier_key"].map(supplier_id_of_key),
            )
            total += bulk_insert(session, PurchaseLine.__table__, part, b.id)
        b.row_count = b.inserted_count = total
        counts["purchase_lines"] = total
        analyze(session, "purchase_lines")

    contracts = frames["contracts"]
    b = batch("contracts", "contracts", len(contracts))
    contract_columns = [c.name for c in Contract.__table__.columns if c.name in contracts.columns]
    counts["contracts"] = _insert(
        session, Contract, _rows(contracts, contract_columns, import_batch_id=b.id)
    )
    ids = {
        (buyer, cid): pk
        for pk, buyer, cid in session.execute(
            sa.select(Contract.id, Contract.buyer_id, Contract.contract_id).where(
                Contract.import_batch_id == b.id
            )
        )
    }
    contract_id_of_key = pd.Series(
        [
            ids[(buyer, cid)]
            for buyer, cid in zip(contracts["buyer_id"], contracts["contract_id"], strict=True)
        ]
    )
    holders = frames["holders"]
    holders = holders.assign(contract_id=holders["contract_key"].map(contract_id_of_key))
    counts["contract_holders"] = _insert(
        session,
        ContractHolder,
        _rows(
            holders,
            [
                "contract_id",
                "role",
                "position",
                "id_type",
                "identifier",
                "name",
                "amount",
                "details",
            ],
        ),
    )
    modifications = frames["modifications"]
    if len(modifications):
        modifications = modifications.assign(
            contract_id=modifications["contract_key"].map(contract_id_of_key)
        )
        counts["contract_modifications"] = _insert(
            session,
            ContractModification,
            _rows(
                modifications,
                [
                    "contract_id",
                    "position",
                    "object",
                    "duration_months",
                    "amount",
                    "notification_date",
                    "publication_date",
                    "holders",
                ],
            ),
        )
    session.flush()

    source = frames["nomenclature"].attrs.get("source", "")
    record(
        session,
        "demo.loaded",
        target_kind="demo",
        target_label=f"graine {seed}, taille {size}",
        after={
            "seed": seed,
            "size": size,
            "counts": counts,
            "nomenclature_source": source,
            "batches": {t: bt.id for t, bt in batches.items()},
        },
    )
    from workbench.indicators.summary import rebuild_all as rebuild_summary
    from workbench.matching.groups import rebuild as rebuild_groups

    # the lines were bulk-inserted (no records_changed): build the article groups and the EGalim
    # summary once, or the first change of a line (a mapping) would pay the summary's rebuild
    rebuild_groups(session)
    rebuild_summary(session)
    seconds = time.perf_counter() - started
    logger.info("demo dataset loaded (seed %s, size %s) in %.1f s: %s", seed, size, seconds, counts)
    return DemoResult(
        seed=seed,
        size=size,
        counts=counts,
        accounts=accounts,
        password=password,
        nomenclature_source=source,
        seconds=seconds,
        batches={t: bt.id for t, bt in batches.items()},
    )
