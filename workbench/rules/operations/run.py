"""Running the rules over whole tables and upserting anomalies in bulk (see the package docstring)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from workbench.audit.operations import record_many
from workbench.core.errors import NotFound
from workbench.db import any_of, utcnow
from workbench.imports.writer import (
    analyze,
    drop_stage,
    insert_staged,
    is_postgresql,
    stage_rows,
)
from workbench.records.models import PurchaseLine
from workbench.rules import marks as site_marks
from workbench.rules.behind import checked_beside, written_behind
from workbench.rules.common import clear_cache
from workbench.rules.counts import counted_in_bulk
from workbench.rules.deferred import indexes_built_after, starts_small
from workbench.rules.frames import (
    CHUNK,
    day_ranges,
    id_batches,
    ids_clause,
    in_days,
    iter_site_day_lines,
    load_frames,
    purchase_lines_by_ids,
    read_table,
    site_days,
)
from workbench.rules.models import ACTIVE_STATUSES, Anomaly, AnomalyCount, AnomalyStatus, RuleRun
from workbench.rules.operations.settings import effective_rules
from workbench.rules.registry import (
    FAILURE_COLUMNS,
    RuleView,
)

logger = logging.getLogger(__name__)

ANOMALIES = Anomaly.__table__
#: Kept for callers; re-checks are chunked whatever their size (see :data:`LINE_CHUNK`).
MAX_INCREMENTAL_LINES = 50_000
#: Purchase lines evaluated at once (whole lycées per chunk: the duplicate rule groups by
#: site and day, every other purchase rule looks at one line): memory is bounded by this.
LINE_CHUNK = 100_000
#: Above this many records in a chunk, its anomalies are read by lycée rather than by id.
BY_ID_MAX = 50_000
#: Rows written above which the anomalies table is ANALYZEd at the end of a run.
ANALYZE_AFTER = 20_000
PURCHASE = "purchase_line"
#: Columns compared to decide whether an active anomaly needs an update (through their hash,
#: ``anomalies.fingerprint``: see :func:`fingerprints`).
COMPARED = ("severity", "value", "message", "group_key", "site_id", "direction_code", "supplier_id")


def fingerprints(found: pd.DataFrame) -> np.ndarray:
    """One signed 64-bit hash of the :data:`COMPARED` values per row of ``found``.

    The same values give the same hash in every process (pandas' fixed-key hashing of the
    values as text), so a run reads the stored hash instead of the values to find what
    changed.
    """
    parts = {}
    for column in COMPARED:
        values = found[column]
        if column in ("site_id", "supplier_id"):
            parts[column] = values.astype("float64").fillna(-1).astype("int64")
        else:
            parts[column] = values.astype(object).where(values.notna(), "\x00").astype(str)
    hashed = pd.util.hash_pandas_object(pd.DataFrame(parts, index=found.index), index=False)
    return hashed.to_numpy().view("int64")


@dataclasses.dataclass
class RuleCount:
    failing: int = 0
    opened: int = 0
    reopened: int = 0
    closed: int = 0
    unchanged: int = 0
    updated: int = 0
    enabled: bool = True
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.reopened or self.closed)


@dataclasses.dataclass
class RunResult:
    counts: dict[str, RuleCount] = dataclasses.field(default_factory=dict)
    duration: float = 0.0
    load_seconds: float = 0.0
    check_seconds: float = 0.0
    write_seconds: float = 0.0
    #: The :class:`RuleRun` row of this run (the time of the run, in one place).
    run_id: int | None = None
    #: Peak number of purchase lines held at once (bounded by :data:`LINE_CHUNK` per lycée).
    peak_lines: int = 0
    #: A whole run of the purchase rules: the lycées evaluated (the others had no change,
    #: :mod:`workbench.rules.marks`), and the signature of what the rules read besides lines.
    sites_checked: int | None = None
    purchase_signature: str | None = None

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_seconds": round(self.duration, 3),
            "load_seconds": round(self.load_seconds, 3),
            "check_seconds": round(self.check_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
            "peak_lines": self.peak_lines,
            "sites_checked": self.sites_checked,
            "rules": {code: dataclasses.asdict(c) for code, c in sorted(self.counts.items())},
            "totals": {
                name: self.total(name)
                for name in ("failing", "opened", "reopened", "closed", "unchanged", "updated")
            },
        }


# -- running ----------------------------------------------------------------------------------
def _tables_for(views: Iterable[RuleView]) -> list[str]:
    tables: dict[str, None] = {}
    for view in views:
        for table in view.rule.tables:
            tables[table] = None
        kind = view.rule.record_kind
        if kind == "purchase_line":
            tables["purchase_lines"] = None
        elif kind == "contract":
            tables["contracts"] = None
        elif kind == "supplier":
            tables.update(dict.fromkeys(("suppliers", "holders", "contracts")))
        elif kind == "matrix_entry":
            tables["matrix_entries"] = None
    return list(tables)


#: The longest ``group_key`` an anomaly holds (its column's length).
GROUP_KEY_MAX: int = ANOMALIES.c.group_key.type.length  # type: ignore[attr-defined]
#: The longest value an anomaly holds, in characters. ``value`` and ``group_key`` are in the
#: covering indexes, whose entries PostgreSQL caps at 2,704 bytes: 300 + 250 characters of up
#: to four bytes each, with the rule, the field and the rest, stay below.
VALUE_MAX = 250


def _too_long(column: pd.Series, most: int) -> pd.Series:
    """Which texts of ``column`` are longer than ``most`` characters (other values: never)."""
    if column.dtype != object or column.empty:
        return pd.Series(False, index=column.index)
    return column.str.len().gt(most).fillna(False).astype(bool)


def bounded_texts(found: pd.DataFrame) -> pd.DataFrame:
    """``group_key`` and ``value`` of ``found`` within what the anomalies hold: a longer group
    key (a label of 500 characters makes a key of 504) keeps its start and a digest of the
    whole (groups stay apart); a longer value keeps its start and « … » (it is shown, and
    the record keeps it whole). On PostgreSQL either one made the whole run fail — the
    re-check of an import with it."""
    keys = found["group_key"]
    long_keys = _too_long(keys, GROUP_KEY_MAX)
    if long_keys.any():
        found.loc[long_keys, "group_key"] = [
            k[: GROUP_KEY_MAX - 41] + "#" + hashlib.sha1(k.encode()).hexdigest()
            for k in keys[long_keys]
        ]
    values = found["value"]
    long_values = _too_long(values, VALUE_MAX)
    if long_values.any():
        found.loc[long_values, "value"] = [v[: VALUE_MAX - 1] + "…" for v in values[long_values]]
    return found


def _check(view: RuleView, frames: dict[str, pd.DataFrame], today: dt.date) -> pd.DataFrame:
    rule = view.rule
    found = rule().check(frames, {**view.params, "today": today})
    missing = [c for c in FAILURE_COLUMNS if c not in found.columns]
    if missing:
        raise RuntimeError(f"Rule {rule.code} returned no {missing}")
    found = found.copy()
    if "severity" not in found:
        found["severity"] = rule.severity
    else:
        found["severity"] = found["severity"].fillna(rule.severity)
    if "group_key" not in found:
        found["group_key"] = None
    found["rule_code"] = rule.code
    found["record_kind"] = rule.record_kind
    found["owner_role"] = rule.owner_role
    found["field"] = found["field"].fillna("").astype(str).str.slice(0, 60)
    found["record_id"] = found["record_id"].astype("int64")
    return bounded_texts(found)


def _supplier_directions(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Supplier id → direction: its own, else that of the first contract it holds, else None."""
    suppliers = frames["suppliers"]
    own = pd.Series(suppliers["direction_code"].values, index=suppliers["id"].values)
    holders = frames.get("holders")
    contracts = frames.get("contracts")
    if holders is None or contracts is None or holders.empty:
        return own
    from workbench.rules.common import compact_siret

    contract_direction = pd.Series(contracts["direction_code"].values, index=contracts["id"].values)
    held = pd.DataFrame(
        {
            "siret": compact_siret(holders["identifier"]),
            "direction": holders["contract_id"].map(contract_direction),
        }
    )
    held = held[held["direction"].notna() & (held["siret"] != "")].drop_duplicates("siret")
    by_siret = pd.Series(held["direction"].values, index=held["siret"].values)
    via_contract = pd.Series(
        compact_siret(suppliers["siret"]).map(by_siret).values, index=suppliers["id"].values
    )
    return own.where(own.notna(), via_contract)


def _add_scope(found: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    found["site_id"] = np.nan
    found["direction_code"] = None
    found["supplier_id"] = np.nan
    for kind, part in found.groupby("record_kind"):
        ids = part["record_id"]
        if kind == "purchase_line":
            lines = frames["purchase_lines"].set_index("id")
            found.loc[part.index, "site_id"] = ids.map(lines["site_id"]).astype("float64").values
            found.loc[part.index, "supplier_id"] = (
                ids.map(lines["supplier_id"]).astype("float64").values
            )
        elif kind == "contract":
            contracts = frames["contracts"].set_index("id")
            found.loc[part.index, "direction_code"] = ids.map(contracts["direction_code"]).values
        elif kind == "supplier":
            found.loc[part.index, "supplier_id"] = ids.astype("float64").values
            found.loc[part.index, "direction_code"] = ids.map(_supplier_directions(frames)).values
        elif kind == "matrix_entry":
            entries = frames["matrix_entries"].set_index("id")
            found.loc[part.index, "supplier_id"] = (
                ids.map(entries["supplier_id"]).astype("float64").values
            )
    return found


def _driver_columns(
    frame: pd.DataFrame, columns: Sequence[str], dialect: sa.Dialect
) -> list[list[Any]]:
    """``columns`` of anomaly rows as lists of driver values, one pass per column: NaN → None,
    ids as int, ``value`` as text, ``message`` never NULL, ``details`` as JSON text."""
    out = frame[list(columns)].copy()
    for column in ("id", "site_id", "supplier_id", "record_id"):
        if column in out:
            out[column] = out[column].astype("float64").astype("Int64")
    out = out.astype(object).where(out.notna(), None)
    values = {c: out[c].tolist() for c in columns}
    if "value" in values:
        values["value"] = [None if v is None else str(v) for v in values["value"]]
    if "message" in values:
        values["message"] = ["" if v is None else str(v) for v in values["message"]]
    to_db_json = ANOMALIES.c.details.type.bind_processor(dialect)
    if "details" in values and to_db_json is not None:
        values["details"] = [None if v is None else to_db_json(v) for v in values["details"]]
    return [values[c] for c in columns]


INSERTED = (
    "rule_code",
    "record_kind",
    "record_id",
    "field",
    "severity",
    "owner_role",
    "site_id",
    "direction_code",
    "supplier_id",
    "group_key",
    "value",
    "message",
    "fingerprint",
    "details",
)
#: Value columns refreshed on an anomaly still failing (when one of them changed).
REFRESHED = (*COMPARED, "fingerprint", "details")


# -- bulk writes ------------------------------------------------------------------------------
def _insert_new(session: Session, new: pd.DataFrame, now: dt.datetime) -> None:
    dialect = session.connection().dialect
    to_db_time = ANOMALIES.c.first_seen_at.type.bind_processor(dialect)
    now_db = to_db_time(now) if to_db_time else now
    if dialect.name == "sqlite" and isinstance(now_db, dt.datetime):
        # the text SQLAlchemy writes (six digits of microseconds, even zero: the adapter of
        # sqlite3 left them out), made once — adapted per row and column, it was 1.3 s of the
        # first run's 381,669 anomalies
        now_db = now_db.isoformat(" ", timespec="microseconds")
    names = (*INSERTED, "status", "first_seen_at", "last_seen_at", "version")
    constants = (AnomalyStatus.OPEN.value, now_db, now_db, 1)
    tuples = [
        (*row, *constants) for row in zip(*_driver_columns(new, INSERTED, dialect), strict=True)
    ]
    # staged (COPY on PostgreSQL), then one INSERT … SELECT; on PostgreSQL a concurrent run's
    # rows win (SQLite runs hold the single writer lock)
    insert_staged(
        session,
        "anomalies",
        names,
        tuples,
        "ON CONFLICT (rule_code, record_kind, record_id, field) DO NOTHING"
        if is_postgresql(session)
        else "",
    )


def _update_values(session: Session, changed: pd.DataFrame) -> None:
    """Refresh :data:`REFRESHED` on the anomalies of ``changed`` (``id`` = anomaly id)."""
    connection = session.connection()
    names = ("id", *REFRESHED)
    tuples = list(zip(*_driver_columns(changed, names, connection.dialect), strict=True))
    # staged, then one UPDATE … FROM (SQLite ≥ 3.33 and PostgreSQL): one statement, not one
    # per row (each paying the triggers' statement journal on SQLite)
    stage_rows(session, "anomalies_changed", "anomalies", names, tuples)
    sets = ", ".join(f"{c} = s.{c}" for c in REFRESHED)
    connection.exec_driver_sql(
        f"UPDATE anomalies AS a SET {sets} FROM anomalies_changed AS s WHERE a.id = s.id"
    )
    drop_stage(session, "anomalies_changed")


def _in_chunks(session: Session, ids: Sequence[int], values: dict[str, Any]) -> None:
    id_list = [int(i) for i in ids]
    for start in range(0, len(id_list), CHUNK):
        session.connection().execute(
            sa.update(ANOMALIES)
            .where(any_of(ANOMALIES.c.id, id_list[start : start + CHUNK]))
            .values(**values)
        )


# -- reading the anomalies already there --------------------------------------------------------
EXISTING_COLUMNS = (
    ANOMALIES.c.id,
    ANOMALIES.c.rule_code,
    ANOMALIES.c.record_kind,
    ANOMALIES.c.record_id,
    ANOMALIES.c.field,
    ANOMALIES.c.status,
    ANOMALIES.c.fingerprint,
)


def _existing_frame(rows: list[Any]) -> pd.DataFrame:
    names = [c.key for c in EXISTING_COLUMNS]
    if not rows:
        frame = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
        frame["fingerprint"] = frame["fingerprint"].astype("Int64")
        return frame.astype({"record_id": "int64", "id": "int64"})
    columns = list(zip(*rows, strict=True))
    frame = pd.DataFrame(
        {
            # 64-bit hashes straight to nullable integers: through float64 (a column with
            # NULLs) they would lose their last bits
            name: pd.array(values, dtype="Int64") if name == "fingerprint" else list(values)
            for name, values in zip(names, columns, strict=True)
        }
    )
    frame["record_id"] = frame["record_id"].astype("int64")
    frame["id"] = frame["id"].astype("int64")
    return frame


def _existing_where(
    session: Session, codes: Sequence[str], kind: str, where: sa.ColumnElement[bool] | None = None
) -> pd.DataFrame:
    """The anomalies of ``codes`` on records of ``kind`` (optionally filtered)."""
    stmt = sa.select(*EXISTING_COLUMNS).where(
        ANOMALIES.c.rule_code.in_(list(codes)), ANOMALIES.c.record_kind == kind
    )
    if where is not None:
        stmt = stmt.where(where)
    return _existing_frame(session.connection().execute(stmt).all())


def _existing_by_ids(
    session: Session, codes: Sequence[str], kind: str, ids: Iterable[int]
) -> pd.DataFrame:
    """The anomalies of ``codes`` on the records ``ids`` (index ``(record_kind, record_id)``)."""
    rows: list[Any] = []
    stmt = sa.select(*EXISTING_COLUMNS).where(
        ANOMALIES.c.rule_code.in_(list(codes)), ANOMALIES.c.record_kind == kind
    )
    for chunk in id_batches(ids):
        rows.extend(
            session.connection().execute(stmt.where(ids_clause(ANOMALIES.c.record_id, chunk))).all()
        )
    return _existing_frame(rows)


def _existing_for_lines(
    session: Session, codes: Sequence[str], sites: Sequence[int] | None, ids: np.ndarray
) -> pd.DataFrame:
    """The anomalies of the purchase lines ``ids``: by id when few or when they are not whole
    lycées (``sites`` None: a range of days, a re-check's context), else by lycée (index
    ``ix_anomalies_active_site`` …) then kept by id."""
    if sites is None or len(ids) <= BY_ID_MAX:
        return _existing_by_ids(session, codes, PURCHASE, ids.tolist())
    frame = _existing_where(session, codes, PURCHASE, ANOMALIES.c.site_id.in_(list(sites)))
    return frame[frame["record_id"].isin(ids)]


# -- evaluating ---------------------------------------------------------------------------------
def _evaluate(
    views: Sequence[RuleView],
    frames: dict[str, pd.DataFrame],
    today: dt.date,
    result: RunResult,
    scope: np.ndarray | set[int] | None = None,
) -> pd.DataFrame:
    """Every rule of ``views`` over ``frames``: the failures (within ``scope`` ids), with scope."""
    parts = []
    try:
        for view in views:
            rule_started = time.perf_counter()
            found = _check(view, frames, today)
            result.counts[view.code].seconds = round(
                result.counts[view.code].seconds + time.perf_counter() - rule_started, 4
            )
            if scope is not None:
                found = found[found["record_id"].isin(scope)]
            parts.append(found)
    finally:
        clear_cache()
    columns = [*FAILURE_COLUMNS, "severity", "group_key", "rule_code", "record_kind", "owner_role"]
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    found = found.drop_duplicates(["rule_code", "record_id", "field"], keep="first").reset_index(
        drop=True
    )
    if found.empty:
        return found.assign(site_id=[], direction_code=[], supplier_id=[], fingerprint=[])
    found = _add_scope(found, frames)
    # nullable integers: an outer merge must not turn the 64-bit hashes into floats
    found["fingerprint"] = pd.array(fingerprints(found), dtype="Int64")
    return found


def _site_sizes(session: Session, sites: Iterable[int] | None = None) -> dict[int, int]:
    """Purchase lines per lycée (index ``ix_purchase_lines_site_date``)."""
    stmt = sa.select(PurchaseLine.site_id, sa.func.count()).group_by(PurchaseLine.site_id)
    if sites is not None:
        stmt = stmt.where(PurchaseLine.site_id.in_(sorted(sites)))
    return {int(s): int(n) for s, n in session.connection().execute(stmt)}


def _site_chunks(sizes: dict[int, int]) -> list[list[int]]:
    """Lycées grouped so that each group holds at most :data:`LINE_CHUNK` lines (or one lycée)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for site_id in sorted(sizes):
        if current and total + sizes[site_id] > LINE_CHUNK:
            chunks.append(current)
            current, total = [], 0
        current.append(site_id)
        total += sizes[site_id]
    if current:
        chunks.append(current)
    return chunks


def _gathered(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The frames of ``frames`` joined into chunks of at least :data:`LINE_CHUNK` lines (the
    last may be smaller); ``frames`` is advanced only when a chunk is asked for."""
    buffer: list[pd.DataFrame] = []
    held = 0
    for frame in frames:
        buffer.append(frame)
        held += len(frame)
        if held >= LINE_CHUNK:
            yield _joined(buffer)
            buffer, held = [], 0
    if buffer:
        yield _joined(buffer)


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


class _Run:
    """One run: the counts, the journal entries, the timings (shared by every chunk)."""

    def __init__(self, session: Session, result: RunResult, today: dt.date) -> None:
        # the session itself, not a registry that would give another thread a session of its
        # own (:mod:`workbench.rules.behind` writes from a thread)
        self.session = session() if isinstance(session, scoped_session) else session
        self.result = result
        self.today = today
        self.now = utcnow()
        self.written = 0
        #: The marks a whole run of the purchase rules read (consumed at its end).
        self.marked: dict[int, int] = {}
        #: When a large run started on an (almost) empty table: the purchase lines that had an
        #: anomaly then (sorted ids), the only ones that can have one in a chunk of lines.
        self.prior: np.ndarray | None = None

    def note_prior(self) -> None:
        self.prior = np.array(
            sorted(
                set(
                    self.session.scalars(
                        sa.select(ANOMALIES.c.record_id).where(ANOMALIES.c.record_kind == PURCHASE)
                    )
                )
            ),
            dtype="int64",
        )

    def standing(self, codes: list[str], sites: set[int]) -> None:
        """Count the lycées left alone as a whole run would have found them: their anomalies
        stand as they are (maintained counts): active ones still fail, unchanged; dismissed
        ones count as failing."""
        if not sites:
            return
        rows = self.session.execute(
            sa.select(AnomalyCount.rule_code, AnomalyCount.status, sa.func.sum(AnomalyCount.n))
            .where(
                AnomalyCount.rule_code.in_(codes),
                AnomalyCount.status.in_([*ACTIVE_STATUSES, AnomalyStatus.DISMISSED.value]),
                any_of(AnomalyCount.site_id, sorted(sites)),
            )
            .group_by(AnomalyCount.rule_code, AnomalyCount.status)
        )
        for code, status, n in rows:
            count = self.result.counts[code]
            count.failing += int(n or 0)
            if status in ACTIVE_STATUSES:
                count.unchanged += int(n or 0)

    def timed(self, name: str, started: float) -> None:
        setattr(self.result, name, getattr(self.result, name) + time.perf_counter() - started)

    def apply(
        self, found: pd.DataFrame, existing: pd.DataFrame, views: dict[str, RuleView]
    ) -> None:
        started = time.perf_counter()
        self.written += _apply(self.session, self.result, found, existing, views, self.now)
        self.timed("write_seconds", started)

    # -- whole small tables (suppliers, contracts, matrix entries) --
    def whole(self, views: list[RuleView], kind: str, ids: list[int] | None) -> None:
        enabled = [v for v in views if v.enabled]
        started = time.perf_counter()
        frames = load_frames(self.session, _tables_for(enabled))
        self.timed("load_seconds", started)
        started = time.perf_counter()
        found = _evaluate(
            enabled, frames, self.today, self.result, None if ids is None else set(ids)
        )
        self.timed("check_seconds", started)
        codes = [v.code for v in views]
        existing = (
            _existing_where(self.session, codes, kind)
            if ids is None
            else _existing_by_ids(self.session, codes, kind, ids)
        )
        self.apply(found, existing, {v.code: v for v in views})

    # -- purchase lines, lycée by lycée --
    def purchase_lines(
        self,
        views: list[RuleView],
        ids: list[int] | None,
        *,
        whole: bool = False,
        full: bool = False,
    ) -> None:
        """``whole``: every purchase rule over every line — only the lycées marked since the
        last whole run with the same signature (:mod:`workbench.rules.marks`), every lycée when
        ``full`` or when the signature changed."""
        enabled = [v for v in views if v.enabled]
        codes = [v.code for v in views]
        by_code = {v.code: v for v in views}
        started = time.perf_counter()
        small = load_frames(
            self.session, [t for t in _tables_for(enabled) if t != "purchase_lines"]
        )
        self.timed("load_seconds", started)
        if ids is None:
            sizes = everywhere = _site_sizes(self.session)
            only_marked = False
            if whole:
                self.marked = site_marks.read(self.session)
                signature = site_marks.signature(views, small, self.today)
                only_marked = not full and signature == _last_signature(self.session)
                if only_marked:
                    sizes = {s: n for s, n in everywhere.items() if s in self.marked}
                    self.standing(codes, set(everywhere) - set(sizes))
                self.result.purchase_signature = signature
                self.result.sites_checked = len(sizes)
            chunks: list[tuple[list[int] | None, sa.ColumnElement[bool]]] = []
            for sites in _site_chunks(sizes):
                if len(sites) == 1 and sizes[sites[0]] > LINE_CHUNK:
                    # a lycée bigger than a chunk: by ranges of days (each day whole)
                    chunks += [
                        (None, in_days(sites[0], first, last))
                        for first, last in day_ranges(self.session, sites[0], LINE_CHUNK)
                    ]
                else:
                    chunks.append((sites, PurchaseLine.site_id.in_(sites)))
            # each chunk written by a thread of its own while the next is read and checked,
            # when a second connection reads the lines alike (:mod:`workbench.rules.behind`)
            with written_behind(self.session) if len(chunks) > 1 else nullcontext() as behind:
                for sites, where in chunks:
                    source = self.session if behind is None else behind.reader
                    started = time.perf_counter()
                    lines = read_table(source, "purchase_lines", where)
                    self.timed("load_seconds", started)
                    found, ids = self._checked(enabled, small, lines)
                    if behind is None:
                        self._written(codes, by_code, sites, found, ids)
                    else:
                        behind.submit(self._written, codes, by_code, sites, found, ids)
            # anomalies of lycées without any line left (or of no lycée): nothing fails there.
            # When only marked lycées are evaluated, a lycée whose lines all went is marked.
            orphans_of: sa.ColumnElement[bool] | None = sa.or_(
                ANOMALIES.c.site_id.is_(None),
                ANOMALIES.c.site_id.not_in(sorted(everywhere) or [-1]),
            )
            if only_marked:
                gone = sorted(set(self.marked) - set(everywhere))
                orphans_of = any_of(ANOMALIES.c.site_id, gone) if gone else None
            if orphans_of is not None:
                orphans = _existing_where(self.session, codes, PURCHASE, orphans_of)
                if not orphans.empty:
                    self.apply(_evaluate([], small, self.today, self.result), orphans, by_code)
            return
        if any(v.rule.site_day_fields for v in enabled):
            # the changed lines with every line of the same lycée and day, lycée by lycée
            started = time.perf_counter()
            days, deleted = site_days(self.session, ids)
            self.timed("load_seconds", started)
            frames = iter_site_day_lines(self.session, days, LINE_CHUNK)
            for _ in self._checked_beside(enabled, codes, by_code, small, _gathered(frames)):
                pass
        else:
            # every enabled rule looks at one line: the changed lines only, by chunk of ids
            chunks = [ids[start : start + LINE_CHUNK] for start in range(0, len(ids), LINE_CHUNK)]
            reads = (purchase_lines_by_ids(self.session, chunk) for chunk in chunks)
            loaded: set[int] = set()
            for checked in self._checked_beside(enabled, codes, by_code, small, reads):
                loaded.update(checked.tolist())
            deleted = set(ids) - loaded
        if deleted:  # lines gone: their active anomalies close
            existing = _existing_by_ids(self.session, codes, PURCHASE, deleted)
            self.apply(_evaluate([], small, self.today, self.result), existing, by_code)

    def _checked_beside(
        self,
        enabled: list[RuleView],
        codes: list[str],
        by_code: dict[str, RuleView],
        small: dict[str, pd.DataFrame],
        reads: Iterator[pd.DataFrame],
    ) -> Iterator[np.ndarray]:
        """Check each chunk of lines ``reads`` gives (it reads on the session) and write its
        anomalies; yields each chunk's line ids once checked. The write of chunk *n* goes to a
        thread while chunk *n + 1*, read first, is checked (:func:`checked_beside`): each read
        waits for the write before it, the checks overlap the writes."""
        with checked_beside(self.session) as beside:
            pending: tuple[pd.DataFrame, np.ndarray] | None = None
            while True:
                if beside is not None:
                    beside.wait()  # the session is free again: the next read may use it
                started = time.perf_counter()
                lines = next(reads, None)
                self.timed("load_seconds", started)
                if lines is None:
                    break
                if pending is not None:
                    if beside is None:
                        self._written(codes, by_code, None, *pending)
                    else:
                        beside.submit(self._written, codes, by_code, None, *pending)
                pending = self._checked(enabled, small, lines)
                yield pending[1]
            if pending is not None:
                self._written(codes, by_code, None, *pending)

    def _checked(
        self, enabled: list[RuleView], small: dict[str, pd.DataFrame], lines: pd.DataFrame
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """A chunk of lines checked: the failures, the ids of the lines."""
        self.result.peak_lines = max(self.result.peak_lines, len(lines))
        ids = lines["id"].astype("int64").to_numpy()
        started = time.perf_counter()
        found = _evaluate(enabled, {**small, "purchase_lines": lines}, self.today, self.result)
        self.timed("check_seconds", started)
        return found, ids

    def _written(
        self,
        codes: list[str],
        by_code: dict[str, RuleView],
        sites: list[int] | None,
        found: pd.DataFrame,
        ids: np.ndarray,
    ) -> None:
        """The anomalies of a checked chunk brought in step with ``found``."""
        if self.prior is not None:
            # a run started on an (almost) empty table: only lines that had an anomaly then
            # can have one now (each line is in one chunk), wherever their lycée
            known = ids[np.isin(ids, self.prior)]
            existing = _existing_by_ids(self.session, codes, PURCHASE, known.tolist())
        else:
            existing = _existing_for_lines(self.session, codes, sites, ids)
        if self.prior is None and sites is not None and len(ids) > BY_ID_MAX:
            # a failing line whose anomaly carries another lycée (the line moved) is found by id
            unknown = set(found["record_id"]) - set(existing["record_id"])
            if unknown:
                moved = _existing_by_ids(self.session, codes, PURCHASE, unknown)
                existing = pd.concat([existing, moved], ignore_index=True).drop_duplicates("id")
        self.apply(found, existing, by_code)


def run_rules(
    session: Session,
    *,
    rule_codes: Sequence[str] | None = None,
    record_kind: str | None = None,
    record_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
    fields: Iterable[str] | None = None,
    full: bool = False,
) -> RunResult:
    """Run the enabled rules (all, or ``rule_codes``, or those of ``record_kind``) and bring the
    anomalies in step: open, refresh, reopen, close — in bulk, audited, writing only what changed.

    Purchase lines are evaluated lycée by lycée, at most :data:`LINE_CHUNK` lines at a time.
    With ``record_ids`` (needs ``record_kind``), only those records' anomalies are opened or
    closed: purchase lines are loaded with every line of the same lycée and day when the
    duplicate rule runs (its verdict depends on them, so those lines are judged too), else
    alone. Suppliers are always checked whole (the table is small and the duplicate rule pairs
    records); contracts and matrix entries load their tables whole (they are small). The run
    is recorded once in ``rule_runs`` (no per-anomaly "last seen" write). ``fields``: the
    only columns of those records that changed (``None``: any): a rule whose
    ``site_day_fields`` miss them all keeps its verdicts.

    A run of every purchase rule over every line evaluates only the lycées whose lines changed
    since the last such run, unless what else the rules read changed (settings, code, small
    tables: :mod:`workbench.rules.marks`) or ``full`` is set.
    """
    started = time.perf_counter()
    started_at = utcnow()
    if record_ids is not None and record_kind is None:
        raise ValueError("record_ids needs record_kind")
    today = today or dt.date.today()
    session.flush()
    views = effective_rules(session)
    if rule_codes is not None:
        unknown = set(rule_codes) - set(views)
        if unknown:
            raise NotFound("Règle(s) inconnue(s) : " + ", ".join(sorted(unknown)) + ".")
    selected = [
        v
        for code, v in views.items()
        if (rule_codes is None or code in rule_codes)
        and (record_kind is None or v.rule.record_kind == record_kind)
        and not v.rule.is_manual
    ]
    if record_ids is not None and fields is not None:
        # only columns a (lycée, day) rule does not read changed: its verdicts stand
        selected = [
            v
            for v in selected
            if not v.rule.site_day_fields or v.rule.site_day_fields & set(fields)
        ]
    result = RunResult(counts={v.code: RuleCount(enabled=v.enabled) for v in selected})
    if not selected:
        return result
    ids = None if record_ids is None else sorted({int(i) for i in record_ids})
    run = _Run(session, result, today)
    # purchase lines evaluated (None: all of them); a large run on an (almost) empty anomalies
    # table builds their secondary indexes after its writes (:mod:`workbench.rules.deferred`)
    lines = 0
    if any(v.rule.record_kind == PURCHASE for v in selected):
        lines = len(ids) if ids is not None and record_kind == PURCHASE else None
    small_start = starts_small(session, lines)
    if small_start:  # a table of a few anomalies at most
        run.note_prior()
    with indexes_built_after(session, small_start) as rebuilt:
        for kind in dict.fromkeys(v.rule.record_kind for v in selected):
            of_kind = [v for v in selected if v.rule.record_kind == kind]
            kind_ids = ids if kind == record_kind else None
            if kind == PURCHASE:
                whole = rule_codes is None and kind_ids is None
                run.purchase_lines(of_kind, kind_ids, whole=whole, full=full)
            else:
                run.whole(of_kind, kind, None if kind == "supplier" else kind_ids)
    _journal_run(session, result)
    # last: a mark locked by a concurrent change is skipped, not waited for (it stays)
    site_marks.consume(session, run.marked)
    result.duration = time.perf_counter() - started
    run_row = RuleRun(
        started_at=started_at,
        finished_at=utcnow(),
        record_kind=record_kind,
        record_count=None if ids is None else len(ids),
        rule_count=len(selected),
        failing=result.total("failing"),
        opened=result.total("opened"),
        reopened=result.total("reopened"),
        closed=result.total("closed"),
        duration_seconds=round(result.duration, 3),
        purchase_signature=result.purchase_signature,
        sites_checked=result.sites_checked,
    )
    session.add(run_row)
    session.flush()
    result.run_id = run_row.id
    if run.written >= ANALYZE_AFTER or rebuilt:  # rebuilt indexes have no statistics yet
        analyze(session, "anomalies")
    # ORM objects loaded before the run are stale after the bulk statements
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Anomaly):
            session.expire(obj)
    logger.info(
        "Rules run (%s rules, kind=%s, %s ids): %s failing, %s opened, %s reopened, %s closed in %.2fs",
        len(selected),
        record_kind,
        "all" if record_ids is None else len(record_ids),
        result.total("failing"),
        result.total("opened"),
        result.total("reopened"),
        result.total("closed"),
        result.duration,
    )
    return result


def _last_signature(session: Session) -> str | None:
    """The signature of the last whole run of the purchase rules."""
    return session.scalar(
        sa.select(RuleRun.purchase_signature)
        .where(RuleRun.purchase_signature.is_not(None))
        .order_by(RuleRun.id.desc())
        .limit(1)
    )


def last_run(session: Session) -> RuleRun | None:
    """The latest rule run (the time the anomalies were last checked)."""
    return session.scalar(sa.select(RuleRun).order_by(RuleRun.id.desc()).limit(1))


def _journal_run(session: Session, result: RunResult) -> None:
    changed = {code: dataclasses.asdict(c) for code, c in result.counts.items() if c.changed}
    if changed:
        record_many(
            session,
            [
                {
                    "action": "rules.run",
                    "target_kind": "rules",
                    "target_id": None,
                    "target_label": None,
                    "before": None,
                    "after": {
                        code: {k: c[k] for k in ("failing", "opened", "reopened", "closed")}
                        for code, c in changed.items()
                    },
                }
            ],
        )


def _differs(candidates: pd.DataFrame) -> pd.Series:
    """Whether the compared values moved: the new hash is not the stored one (or none is)."""
    old = candidates["old_fingerprint"].astype("Int64")
    new = candidates["fingerprint"].astype("Int64")
    return (old != new).fillna(True).astype(bool)


def _apply(
    session: Session,
    result: RunResult,
    found: pd.DataFrame,
    existing: pd.DataFrame,
    views: dict[str, RuleView],
    now: dt.datetime,
) -> int:
    """Bring ``existing`` in step with ``found`` (one chunk); the counts add up in ``result``.

    Writes only what changed: new anomalies, reopened and closed ones, and the values of
    those whose message, value or scope moved. Returns the number of rows written.
    """
    keys = ["rule_code", "record_id", "field"]
    existing = existing.drop(columns=["record_kind"]).rename(
        columns={"fingerprint": "old_fingerprint", "status": "old_status"}
    )
    merged = found.merge(existing, on=keys, how="outer", indicator=True)
    for code, count in merged[merged["_merge"] != "right_only"].groupby("rule_code").size().items():
        result.counts[code].failing += int(count)

    new = merged[merged["_merge"] == "left_only"]
    both = merged[merged["_merge"] == "both"]
    gone = merged[merged["_merge"] == "right_only"]

    active_old = both["old_status"].isin(ACTIVE_STATUSES)
    reopen = both[both["old_status"] == AnomalyStatus.RESOLVED]
    still = both[active_old]
    close = gone[gone["old_status"].isin(ACTIVE_STATUSES)]

    # updates of values on active and reopened anomalies
    candidates = pd.concat([still, reopen])
    to_update = candidates[_differs(candidates)] if not candidates.empty else candidates

    for code, part in new.groupby("rule_code"):
        result.counts[code].opened += len(part)
    for code, part in reopen.groupby("rule_code"):
        result.counts[code].reopened += len(part)
    for code, part in close.groupby("rule_code"):
        result.counts[code].closed += len(part)
    for code, part in still.groupby("rule_code"):
        result.counts[code].unchanged += len(part)
    for code, part in to_update[to_update["old_status"].isin(ACTIVE_STATUSES)].groupby("rule_code"):
        result.counts[code].updated += len(part)

    touched = [int(i) for part in (to_update, reopen, close) for i in part["id"].tolist()]
    with counted_in_bulk(session, touched, len(new) + len(touched)):
        if not new.empty:
            _insert_new(session, new, now)
        if not to_update.empty:
            _update_values(session, to_update)
        if not reopen.empty:
            _in_chunks(
                session,
                reopen["id"].tolist(),
                {
                    "status": AnomalyStatus.OPEN.value,
                    "closed_at": None,
                    "closed_by_id": None,
                    "last_seen_at": now,
                    "version": ANOMALIES.c.version + 1,
                },
            )
        if not close.empty:
            _in_chunks(
                session,
                close["id"].tolist(),
                {
                    "status": AnomalyStatus.RESOLVED.value,
                    "closed_at": now,
                    "closed_by_id": None,
                    "version": ANOMALIES.c.version + 1,
                },
            )

    entries: list[dict[str, Any]] = []
    for row in reopen.itertuples(index=False):
        entries.append(
            {
                "action": "anomaly.reopened",
                "target_kind": "anomaly",
                "target_id": int(row.id),
                "target_label": row.rule_code,
                "before": {"status": row.old_status},
                "after": {
                    "status": "open",
                    "record_kind": row.record_kind,
                    "record_id": int(row.record_id),
                    "field": row.field,
                },
            }
        )
    for row in close.itertuples(index=False):
        reason = "fixed" if views[row.rule_code].enabled else "rule_disabled"
        entries.append(
            {
                "action": "anomaly.closed_auto",
                "target_kind": "anomaly",
                "target_id": int(row.id),
                "target_label": row.rule_code,
                "before": {"status": row.old_status},
                "after": {
                    "status": "resolved",
                    "reason": reason,
                    "record_id": int(row.record_id),
                    "field": row.field,
                },
            }
        )
    if entries:
        record_many(session, entries)
    return len(new) + len(to_update) + len(reopen) + len(close)
