"""Whole tables as DataFrames, one SELECT each: the input of the rules.

Columns (dates are ``datetime64``; money and quantities floats; JSON columns Python objects):

- ``purchase_lines``: id, site_id, line_date, supplier_id, supplier_siret, supplier_name,
  reference, label, quantity, unit, amount_ht, family, labels, origin, nomenclature_code
- ``suppliers``: id, siret, name, company_category, headcount_bracket, direction_code
- ``matrix_entries``: id, supplier_id, reference, label, nomenclature_code, labels, origin,
  unit_price, unit, valid_from, valid_to
- ``nomenclature``: id, code, label, family, is_active
- ``contracts``: id, kind, contract_id, buyer_id, buyer_name, direction_code, nature, object,
  cpv_code, procedure, ccag, offers_received, has_advance, advance_rate, place_code,
  place_type, place_name, duration_months, notification_date, publication_date,
  signature_date, start_date, amount, price_form, social_considerations,
  environmental_considerations, schema_errors, source_format, value_errors, current_amount,
  current_duration_months, publications
- ``holders``: id, contract_id, role, position, id_type, identifier, name, notification_date
- ``modifications``: id, contract_id, position, notification_date, publication_date, amount,
  duration_months, holders
- ``subcontracting_modifications``: id, contract_id, position, act_id, notification_date,
  publication_date, amount, duration_months
- ``cpv``: code, root (the CPV 2008 list shipped in ``workbench/data/cpv_2008.csv``)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench import PACKAGE_DIR
from workbench.db import any_of, copied_frame
from workbench.records.models import (
    Contract,
    ContractHolder,
    ContractModification,
    ContractSubcontractingModification,
    PurchaseLine,
)
from workbench.reference.models import MatrixEntry, NomenclatureItem, Supplier

CPV_PATH = PACKAGE_DIR / "data" / "cpv_2008.csv"
#: Bound parameters per IN list (SQLite allows 32,766; stay well below).
CHUNK = 5000
#: (lycée, day) pairs per SELECT of the duplicate context (~35 lines each at regional scale):
#: what one query brings into memory at most.
SITE_DAYS_PER_QUERY = 1000
#: Changed days of a lycée above which a re-check reads the lycée by ranges of days (the
#: lines of those days are most of its lines) rather than by a list of days.
RANGE_READ_DAYS = 300
#: Ids read at once when they run without gaps (one ``BETWEEN``, no bound list).
RUN_CHUNK = 100_000


def id_batches(ids: Iterable[int]) -> Iterator[list[int]]:
    """``ids`` sorted, in batches: each run of consecutive ids at least :data:`CHUNK` long (a
    whole import, say) comes alone, up to :data:`RUN_CHUNK` ids; the others by :data:`CHUNK`."""
    ordered = sorted({int(i) for i in ids})
    sparse: list[int] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start + 1 >= CHUNK:
            for lo in range(start, end + 1, RUN_CHUNK):
                yield ordered[lo : min(lo + RUN_CHUNK, end + 1)]
        else:
            sparse.extend(ordered[start : end + 1])
            while len(sparse) >= CHUNK:
                yield sparse[:CHUNK]
                sparse = sparse[CHUNK:]
        start = end + 1
    if sparse:
        yield sparse


def ids_clause(column: Any, batch: Sequence[int]) -> sa.ColumnElement[bool]:
    """``column`` in ``batch`` (sorted): a ``BETWEEN`` when the batch has no gap, else ``IN``."""
    if batch and batch[-1] - batch[0] + 1 == len(batch):
        return column.between(batch[0], batch[-1])
    return any_of(column, batch)


COLUMNS: dict[str, tuple[sa.ColumnElement, ...]] = {
    "purchase_lines": (
        PurchaseLine.id,
        PurchaseLine.site_id,
        PurchaseLine.line_date,
        PurchaseLine.supplier_id,
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
    ),
    "suppliers": (
        Supplier.id,
        Supplier.siret,
        Supplier.name,
        Supplier.company_category,
        Supplier.headcount_bracket,
        Supplier.direction_code,
    ),
    "matrix_entries": (
        MatrixEntry.id,
        MatrixEntry.supplier_id,
        MatrixEntry.reference,
        MatrixEntry.label,
        MatrixEntry.nomenclature_code,
        MatrixEntry.labels,
        MatrixEntry.origin,
        MatrixEntry.unit_price,
        MatrixEntry.unit,
        MatrixEntry.valid_from,
        MatrixEntry.valid_to,
    ),
    "nomenclature": (
        NomenclatureItem.id,
        NomenclatureItem.code,
        NomenclatureItem.label,
        NomenclatureItem.family,
        NomenclatureItem.is_active,
    ),
    "contracts": (
        Contract.id,
        Contract.kind,
        Contract.contract_id,
        Contract.buyer_id,
        Contract.buyer_name,
        Contract.direction_code,
        Contract.nature,
        Contract.object,
        Contract.cpv_code,
        Contract.procedure,
        Contract.ccag,
        Contract.offers_received,
        Contract.has_advance,
        Contract.advance_rate,
        Contract.place_code,
        Contract.place_type,
        Contract.place_name,
        Contract.duration_months,
        Contract.notification_date,
        Contract.publication_date,
        Contract.signature_date,
        Contract.start_date,
        Contract.amount,
        Contract.price_form,
        Contract.social_considerations,
        Contract.environmental_considerations,
        Contract.schema_errors,
        Contract.source_format,
        Contract.value_errors,
        Contract.current_amount,
        Contract.current_duration_months,
        Contract.publications,
    ),
    "holders": (
        ContractHolder.id,
        ContractHolder.contract_id,
        ContractHolder.role,
        ContractHolder.position,
        ContractHolder.id_type,
        ContractHolder.identifier,
        ContractHolder.name,
        ContractHolder.notification_date,
    ),
    "modifications": (
        ContractModification.id,
        ContractModification.contract_id,
        ContractModification.position,
        ContractModification.notification_date,
        ContractModification.publication_date,
        ContractModification.amount,
        ContractModification.duration_months,
        ContractModification.holders,
    ),
    "subcontracting_modifications": (
        ContractSubcontractingModification.id,
        ContractSubcontractingModification.contract_id,
        ContractSubcontractingModification.position,
        ContractSubcontractingModification.act_id,
        ContractSubcontractingModification.notification_date,
        ContractSubcontractingModification.publication_date,
        ContractSubcontractingModification.amount,
        ContractSubcontractingModification.duration_months,
    ),
}
TABLES = (*COLUMNS, "cpv")


def _select_columns(columns: Iterable[sa.ColumnElement]) -> list[sa.ColumnElement]:
    """Dates are read as raw values (ISO text on SQLite) and parsed by pandas in one pass."""
    selected = []
    for column in columns:
        if isinstance(column.type, sa.Date):
            selected.append(sa.type_coerce(column, sa.String).label(column.key))
        else:
            selected.append(column)
    return selected


def _frame(
    source: Session | sa.Connection, stmt: sa.Select, columns: Sequence[sa.ColumnElement]
) -> pd.DataFrame:
    connection = source if isinstance(source, sa.Connection) else source.connection()
    names = [c.key for c in columns]
    frame = copied_frame(connection, stmt, [(c.key, c.type) for c in columns])  # PostgreSQL
    if frame is None:
        result = connection.execute(stmt)  # Core: no ORM row processing
        frame = pd.DataFrame(result.fetchall(), columns=names)
    if frame.empty:
        frame = pd.DataFrame({name: pd.Series(dtype="object") for name in names})
    for column in columns:
        name = column.key
        if isinstance(column.type, sa.Date):
            frame[name] = pd.to_datetime(frame[name], errors="coerce", format="ISO8601")
        elif isinstance(column.type, sa.Float | sa.Numeric):
            if frame[name].dtype != "float64":
                frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        elif isinstance(column.type, sa.Integer) and frame[name].dtype == object:
            values = pd.to_numeric(frame[name], errors="coerce")
            frame[name] = (
                values.astype("int64") if values.notna().all() else values.astype("float64")
            )
    return frame


def read_table(
    session: Session | sa.Connection, name: str, where: sa.ColumnElement[bool] | None = None
) -> pd.DataFrame:
    """One table (see the module docstring for its columns), optionally filtered; read by a
    session, or by a connection of its own (:mod:`workbench.rules.prefetch`)."""
    columns = COLUMNS[name]
    stmt = sa.select(*_select_columns(columns))
    if where is not None:
        stmt = stmt.where(where)
    return _frame(session, stmt, columns)


@functools.cache
def _cpv_frame() -> pd.DataFrame:
    if not CPV_PATH.exists():
        return pd.DataFrame({"code": pd.Series(dtype=object), "root": pd.Series(dtype=object)})
    frame = pd.read_csv(CPV_PATH, dtype=str, usecols=["CODE"]).rename(columns={"CODE": "code"})
    frame["root"] = frame["code"].str[:8]
    return frame


def cpv_frame() -> pd.DataFrame:
    return _cpv_frame().copy()


def purchase_lines_by_ids(session: Session, line_ids: Sequence[int]) -> pd.DataFrame:
    """The given purchase lines (one ranged SELECT per chunk of ids when they are dense)."""
    frames = [
        read_table(session, "purchase_lines", ids_clause(PurchaseLine.id, batch))
        for batch in id_batches(line_ids)
    ]
    if not frames:
        return read_table(session, "purchase_lines", sa.false())
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def site_days(session: Session, line_ids: Sequence[int]) -> tuple[dict[int, set[str]], set[int]]:
    """``({site_id: {ISO day}}, missing ids)`` of the given purchase lines: one grouped SELECT
    per chunk of ids (a chunk's ids are listed only when some of its lines are gone)."""
    days: dict[int, set[str]] = {}
    missing: set[int] = set()
    day = sa.type_coerce(PurchaseLine.line_date, sa.String)
    for chunk in id_batches(line_ids):
        found = 0
        for site_id, value, count in session.connection().execute(
            sa.select(PurchaseLine.site_id, day, sa.func.count())
            .where(ids_clause(PurchaseLine.id, chunk))
            .group_by(PurchaseLine.site_id, day)
        ):
            found += int(count)
            days.setdefault(int(site_id), set()).add(str(value)[:10])
        if found < len(chunk):
            present = set(
                session.connection().scalars(
                    sa.select(PurchaseLine.id).where(ids_clause(PurchaseLine.id, chunk))
                )
            )
            missing.update(i for i in chunk if i not in present)
    return days, missing


def day_ranges(session: Session, site_id: int, max_lines: int) -> list[tuple[Any, Any]]:
    """The lycée's days packed into consecutive ``(first, last)`` ranges of at most
    ``max_lines`` lines each (a single day bigger than that is a range of its own): read range
    by range, a lycée of any size stays within a bounded memory, and every (lycée, day) — the
    duplicate rule's context — lies whole in one range. One grouped SELECT on the index
    ``(site_id, line_date)``."""
    ranges: list[tuple[Any, Any]] = []
    first = last = None
    held = 0
    for day, count in session.connection().execute(
        sa.select(PurchaseLine.line_date, sa.func.count())
        .where(PurchaseLine.site_id == site_id)
        .group_by(PurchaseLine.line_date)
        .order_by(PurchaseLine.line_date)
    ):
        if first is not None and held + count > max_lines:
            ranges.append((first, last))
            first, held = None, 0
        if first is None:
            first = day
        last = day
        held += int(count)
    if first is not None:
        ranges.append((first, last))
    return ranges


def in_days(site_id: int, first: Any, last: Any) -> sa.ColumnElement[bool]:
    """The lines of ``site_id`` from ``first`` to ``last`` (index ``(site_id, line_date)``)."""
    return sa.and_(PurchaseLine.site_id == site_id, PurchaseLine.line_date.between(first, last))


def iter_site_day_lines(
    session: Session, days: dict[int, set[str]], max_lines: int = 100_000
) -> Iterator[pd.DataFrame]:
    """Every purchase line of the given (site, day) pairs (duplicate context), by index
    ``(site_id, line_date)``: one SELECT per batch of at most :data:`SITE_DAYS_PER_QUERY`
    pairs, yielded batch by batch; a lycée with most of its year changed is read by ranges of
    days of at most ``max_lines`` lines (:func:`day_ranges`)."""
    batch: list[sa.ColumnElement[bool]] = []
    size = 0
    for site_id in sorted(days):
        dates = sorted(days[site_id])
        if len(dates) > RANGE_READ_DAYS:  # most of its year: read it range by range
            wanted = set(dates)
            for first, last in day_ranges(session, site_id, max_lines):
                frame = read_table(session, "purchase_lines", in_days(site_id, first, last))
                keep = frame["line_date"].dt.strftime("%Y-%m-%d").isin(wanted)
                yield frame[keep.to_numpy()]
            continue
        for start in range(0, len(dates), SITE_DAYS_PER_QUERY):
            part = dates[start : start + SITE_DAYS_PER_QUERY]
            if batch and size + len(part) > SITE_DAYS_PER_QUERY:
                yield read_table(session, "purchase_lines", sa.or_(*batch))
                batch, size = [], 0
            batch.append(
                sa.and_(
                    PurchaseLine.site_id == site_id,
                    PurchaseLine.line_date.in_([pd.Timestamp(d).date() for d in part]),
                )
            )
            size += len(part)
    if batch:
        yield read_table(session, "purchase_lines", sa.or_(*batch))


def site_day_lines(session: Session, days: dict[int, set[str]]) -> pd.DataFrame:
    """:func:`iter_site_day_lines` in one frame, by id."""
    frames = list(iter_site_day_lines(session, days))
    if not frames:
        return read_table(session, "purchase_lines", sa.false())
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def purchase_line_context(session: Session, line_ids: Sequence[int]) -> pd.DataFrame:
    """The given purchase lines and every line of the same site and day (duplicate context).

    Every line returned can be fully evaluated: its duplicates, if any, are in the frame too.
    """
    days, _ = site_days(session, line_ids)
    return site_day_lines(session, days)


def load_frames(
    session: Session,
    tables: Iterable[str],
    *,
    purchase_line_ids: Sequence[int] | None = None,
) -> dict[str, pd.DataFrame]:
    """The requested tables, one SELECT each (``purchase_lines`` restricted to the lines given
    and their same-site-same-day context when ``purchase_line_ids`` is not None)."""
    frames: dict[str, pd.DataFrame] = {}
    for name in dict.fromkeys(tables):
        if name == "cpv":
            frames[name] = cpv_frame()
        elif name == "purchase_lines" and purchase_line_ids is not None:
            frames[name] = purchase_line_context(session, purchase_line_ids)
        else:
            frames[name] = read_table(session, name)
    return frames
