"""Bulk upsert of prepared frames by natural key, keeping the corrections already made.

One SELECT of the existing rows (key, id and compared values), a pandas merge to split
inserts / updates / unchanged rows, then ``executemany`` through the driver in chunks: no ORM
object per row. Applied corrections (``corrections`` rows, kind ``edit``) are re-applied over
the incoming values; when the source changed a corrected field, the corrected value is kept
and the correction is marked ``conflict`` (journaled as ``correction.conflict``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import itertools
import json
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record_many
from workbench.db import utcnow
from workbench.imports.parsing import ROW, Report
from workbench.review.fields import HOLDER_FIELD
from workbench.review.models import Correction, CorrectionKind, CorrectionStatus

logger = logging.getLogger(__name__)

WRITE_CHUNK = 50_000


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    #: Contracts: older publications of stored contracts, kept as their history.
    history: int = 0
    #: Natural keys (tuples) of the inserted and updated rows.
    changed_keys: list[tuple] = field(default_factory=list)


# -- values -------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """The JSON-friendly form used by corrections (dates as ISO text, no numpy, no NaN)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_date(column: sa.Column) -> bool:
    return isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime)


def _is_number(column: sa.Column) -> bool:
    return isinstance(column.type, sa.Float | sa.Numeric) and not isinstance(
        column.type, sa.Integer
    )


def _is_json(column: sa.Column) -> bool:
    return isinstance(column.type, sa.JSON)


def _driver_values(series: pd.Series, column: sa.Column | None) -> list[Any]:
    """Python values the DBAPI accepts (ISO text for dates, JSON text for JSON, None for NA)."""
    if column is not None and _is_date(column):
        stamps = pd.to_datetime(series, errors="coerce")
        codes, uniques = pd.factorize(stamps, use_na_sentinel=True)  # format each date once
        text = pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").to_numpy(dtype=object)
        return np.append(text, None)[codes].tolist()
    if column is not None and _is_json(column):
        return [None if v is None else json.dumps(v, ensure_ascii=False) for v in series.tolist()]
    if column is not None and isinstance(column.type, sa.Integer):
        numbers = pd.to_numeric(series, errors="coerce")
        if not numbers.isna().any():
            return numbers.astype("int64").tolist()
        return [None if math.isnan(v) else int(v) for v in numbers.astype(float).tolist()]
    if series.dtype == object:
        return [jsonable(v) if isinstance(v, float | np.generic) else v for v in series.tolist()]
    return series.astype(object).where(series.notna(), None).tolist()


def _placeholder(session: Session) -> str:
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def executemany(
    session: Session,
    sql: str,
    table: sa.Table,
    columns: list[str],
    frame: pd.DataFrame,
    positions: np.ndarray | None = None,
    constants: dict[str, Any] | None = None,
) -> None:
    """Run ``sql`` (``{}`` placeholders, one per column) once per row, in chunks.

    ``positions`` selects and orders the rows of ``frame`` (all, in order, by default);
    ``constants`` gives columns with one value for every row; ``source_row`` comes from
    :data:`ROW`. Only one chunk of rows is converted to Python values at a time.
    """
    if (len(frame) if positions is None else len(positions)) == 0:
        return
    sql = sql.replace("{}", _placeholder(session))
    execute_chunks(session, sql, frame_rows(table, columns, frame, positions, constants or {}))


def execute_chunks(session: Session, sql: str, rows: Iterable[tuple]) -> None:
    """One driver-level ``executemany`` of ``sql`` per :data:`WRITE_CHUNK` rows of ``rows``."""
    connection = session.connection()
    rows = iter(rows)
    while batch := list(itertools.islice(rows, WRITE_CHUNK)):
        connection.exec_driver_sql(sql, batch)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def copy_rows(
    session: Session | sa.Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` of Python rows (psycopg 3), in the
    session's (or connection's) transaction; sent by a worker thread inside
    :func:`copies_in_background`."""
    connection = session if isinstance(session, sa.Connection) else session.connection()
    driver = connection.connection.driver_connection
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    background = _BACKGROUND.get()
    if background is not None and background.driver is driver:
        background.submit(sql, list(rows))
        return
    _copy(driver, sql, rows)


def _copy(
    driver: Any, sql: str, rows: Iterable[tuple], started: threading.Event | None = None
) -> None:
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        if started is not None:
            started.set()
        for row in rows:
            copy.write_row(row)


class _BackgroundCopy:
    """One ``COPY`` at a time, sent by a worker thread (see :func:`copies_in_background`)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def submit(self, sql: str, rows: list[tuple]) -> None:
        self.wait()
        started = threading.Event()

        def work() -> None:
            try:
                _copy(self.driver, sql, rows, started)
            except BaseException as error:  # re-raised in the caller's thread by wait()
                self.error = error
            finally:
                started.set()

        self.thread = threading.Thread(target=work, name="workbench-copy", daemon=True)
        self.thread.start()
        # the COPY holds the connection's lock from here: any later statement of the caller
        # waits for it to end, so statements keep their order
        started.wait()

    def wait(self) -> None:
        """Wait for the COPY under way; raise its error, if any."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_BACKGROUND: contextvars.ContextVar[_BackgroundCopy | None] = contextvars.ContextVar(
    "workbench_background_copy", default=None
)


@contextlib.contextmanager
def copies_in_background(session: Session) -> Iterator[None]:
    """PostgreSQL: inside the block, each :func:`copy_rows` of the session's connection is sent
    by a worker thread, and the caller goes on preparing the next rows meanwhile (the server
    checks the foreign keys of a COPY's rows at its end, while the caller would wait).

    One COPY at a time, in the caller's transaction: a later statement waits for it (psycopg
    serialises a connection's operations); the block ends when the last one has ended. A
    COPY's error is raised by the next :func:`copy_rows` or at the end of the block, rather
    than the error of a statement that ran after it in the failed transaction. SQLite: nothing
    changes."""
    if not is_postgresql(session):
        yield
        return
    background = _BackgroundCopy(session.connection().connection.driver_connection)
    token = _BACKGROUND.set(background)
    try:
        yield
    except BaseException:
        background.wait()  # its error first: the block's came after it
        raise
    finally:
        _BACKGROUND.reset(token)
    background.wait()


def insert_dicts(
    connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: PostgreSQL ``COPY`` (an
    ``executemany`` is one round of the pipeline per row), SQLite ``executemany``."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    names = list(rows[0])
    copy_rows(connection, table.name, names, (tuple(row[n] for n in names) for row in rows))


def insert_frame(
    session: Session,
    table: sa.Table,
    names: list[str],
    frame: pd.DataFrame,
    positions: np.ndarray | None = None,
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert new rows of ``frame`` (``positions``, ``constants`` as in :func:`executemany`):
    PostgreSQL ``COPY`` straight into the table (their keys are not in it); SQLite through a
    staging table and one ``INSERT … SELECT`` (the table's row triggers then fire inside one
    statement: row by row, each ``INSERT`` would open a statement journal)."""
    rows = frame_rows(table, names, frame, positions, constants or {})
    if is_postgresql(session):
        copy_rows(session, table.name, names, rows)
    else:
        insert_staged(session, table.name, names, rows)


def stage_table(session: Session, name: str, table: str, columns: Sequence[str]) -> None:
    """A fresh temporary table ``name`` with ``columns`` of ``table`` (no constraints, no
    index): dropped at commit on PostgreSQL, at the next staging (or with the connection)
    on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {name} AS SELECT {', '.join(columns)} FROM main.{table} "
            "WHERE 0"
        )
        return
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "
        f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
    )


def stage_rows(
    session: Session, name: str, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """``rows`` into a fresh staging table ``name`` (:func:`stage_table`): PostgreSQL ``COPY``,
    SQLite one ``executemany`` into the bare temporary table, chunk by chunk."""
    stage_table(session, name, table, columns)
    if is_postgresql(session):
        copy_rows(session, name, columns, rows)
        return
    execute_chunks(
        session, f"INSERT INTO temp.{name} VALUES ({', '.join('?' for _ in columns)})", rows
    )


def drop_stage(session: Session, name: str) -> None:
    """SQLite: drop the staging table ``name`` now (PostgreSQL drops it at commit)."""
    if not is_postgresql(session):
        session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")


def insert_staged(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple], suffix: str = ""
) -> None:
    """Insert ``rows`` into ``table`` through a staging table and one ``INSERT … SELECT``.

    On SQLite a row-at-a-time ``INSERT`` into a table with triggers or foreign keys opens a
    statement journal per row (4× the cost of the same rows in one statement); on PostgreSQL
    the staging is a ``COPY``. ``suffix``: SQL after the ``SELECT`` (``ON CONFLICT …``).
    """
    stage = f"{table}_staged"
    names = ", ".join(columns)
    stage_rows(session, stage, table, columns, rows)
    session.connection().exec_driver_sql(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {suffix}".rstrip()
    )
    drop_stage(session, stage)


def analyze(session: Session, *tables: str) -> None:
    """Refresh the planner statistics of ``tables`` after a bulk load (both databases; SQLite
    samples at most a few hundred rows per index, so this stays quick at any size)."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA analysis_limit = 400")
    for table in tables:
        connection.exec_driver_sql(f"ANALYZE {table}")


def frame_rows(
    table: sa.Table,
    columns: list[str],
    frame: pd.DataFrame,
    positions: np.ndarray | None,
    constants: dict[str, Any],
) -> Iterator[tuple]:
    """Driver values of ``frame``'s rows, one chunk of :data:`WRITE_CHUNK` converted at a time."""
    total = len(frame) if positions is None else len(positions)
    for start in range(0, total, WRITE_CHUNK):
        if positions is None:
            part = frame.iloc[start : start + WRITE_CHUNK]
        else:
            part = frame.iloc[positions[start : start + WRITE_CHUNK]]
        values = []
        for name in columns:
            if name in constants:
                values.append([constants[name]] * len(part))
            elif name == "source_row":
                values.append(part[ROW].astype("int64").tolist())
            else:
                values.append(_driver_values(part[name], table.c.get(name)))
        yield from zip(*values, strict=True)


def _timestamp_text(session: Session) -> str:
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        return now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return now.isoformat()


# -- equality -----------------------------------------------------------------------------------
def _same(new: pd.Series, old: pd.Series, column: sa.Column | None) -> pd.Series:
    both_null = new.isna().to_numpy() & old.isna().to_numpy()
    if column is not None and _is_date(column):
        a, b = pd.to_datetime(new, errors="coerce"), pd.to_datetime(old, errors="coerce")
        equal = (a == b).to_numpy()
    elif column is not None and _is_number(column):
        a = pd.to_numeric(new, errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(old, errors="coerce").to_numpy(dtype=float)
        equal = np.isclose(a, b, rtol=0, atol=0.005)
    elif column is None or _is_json(column):
        equal = np.fromiter(
            (jsonable(x) == jsonable(y) for x, y in zip(new.tolist(), old.tolist(), strict=True)),
            dtype=bool,
            count=len(new),
        )
    else:
        a = new.astype(object).where(new.notna(), None).to_numpy()
        b = old.astype(object).where(old.notna(), None).to_numpy()
        equal = (a == b).astype(bool)
    return pd.Series(equal | both_null, index=new.index)


# -- corrections --------------------------------------------------------------------------------
def _applied_corrections(session: Session, record_kind: str, ids: pd.Series) -> pd.DataFrame:
    rows = session.execute(
        sa.select(
            Correction.id,
            Correction.record_id,
            Correction.field,
            Correction.old_value,
            Correction.new_value,
        )
        .where(
            Correction.record_kind == record_kind,
            Correction.status == CorrectionStatus.APPLIED,
            Correction.kind == CorrectionKind.EDIT,
        )
        .order_by(Correction.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "record_id", "field", "old_value", "new_value"])
    return frame[frame["record_id"].isin(set(ids.dropna().astype(int)))]


def _typed(value: Any, column: sa.Column | None) -> Any:
    if value is None:
        return None
    if column is not None and _is_date(column):
        return pd.Timestamp(value)
    return value


def overlay_corrections(
    session: Session,
    record_kind: str,
    merged: pd.DataFrame,
    table: sa.Table,
    fields: Iterable[str],
    report: Report,
    label: str,
    holder_getter: Any = None,
) -> list[dict[str, Any]]:
    """Re-apply applied corrections over incoming values; return the conflicts found.

    ``merged`` has the existing record ``id`` (NaN for new rows) and the incoming values.
    ``holder_getter(index, field)`` returns (get, set) accessors for contract holder fields.
    """
    fields = set(fields)
    corrections = _applied_corrections(session, record_kind, merged["id"])
    if corrections.empty:
        return []
    index_by_id = {int(i): idx for idx, i in merged["id"].dropna().items()}
    conflicts = []
    for (record_id, name), group in corrections.groupby(["record_id", "field"], sort=False):
        idx = index_by_id.get(int(record_id))
        if idx is None:
            continue
        source_before = group["old_value"].iloc[0]
        kept = group["new_value"].iloc[-1]
        if HOLDER_FIELD.match(name) and holder_getter is not None:
            accessors = holder_getter(idx, name)
            if accessors is None:
                continue
            get, put = accessors
            incoming = get()
            put(kept)
        elif name in fields:
            column = table.c.get(name)
            incoming = jsonable(merged.at[idx, name])
            merged.at[idx, name] = _typed(kept, column)
        else:
            continue
        if incoming != source_before and not _close(incoming, source_before):
            conflicts.append(
                {
                    "correction_ids": [int(i) for i in group["id"]],
                    "record_id": int(record_id),
                    "field": name,
                    "kept": kept,
                    "source_before": source_before,
                    "source_now": incoming,
                    "row": int(merged.at[idx, ROW]),
                }
            )
    if conflicts:
        ids = [i for c in conflicts for i in c["correction_ids"]]
        session.execute(
            sa.update(Correction)
            .where(Correction.id.in_(ids))
            .values(status=CorrectionStatus.CONFLICT)
        )
        record_many(
            session,
            [
                {
                    "action": "correction.conflict",
                    "target_kind": record_kind,
                    "target_id": c["record_id"],
                    "target_label": label,
                    "before": {"field": c["field"], "value": c["source_before"]},
                    "after": {
                        "correction_ids": c["correction_ids"],
                        "status": CorrectionStatus.CONFLICT,
                        "field": c["field"],
                        "kept_value": c["kept"],
                        "source_value": c["source_now"],
                        "origin": "import",
                    },
                }
                for c in conflicts
            ],
        )
        for c in conflicts:
            report.warning(
                c["row"],
                c["field"],
                c["source_now"],
                f"Champ corrigé ({c['kept']!r}) modifié par la source "
                f"(avant {c['source_before']!r}) : la correction est conservée et signalée en conflit.",
            )
    return conflicts


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 0.005
    return False


# -- upsert -------------------------------------------------------------------------------------
def load_existing(
    session: Session,
    table: sa.Table,
    key_cols: list[str],
    value_cols: list[str],
    where: Any = None,
) -> pd.DataFrame:
    columns = ["id", *key_cols, *value_cols]
    statement = sa.select(*(table.c[c] for c in columns))
    if where is not None:
        statement = statement.where(where)
    rows = session.execute(statement).all()
    return pd.DataFrame(rows, columns=columns)


def _existing_ids(frame: pd.DataFrame, existing: pd.DataFrame, key_cols: list[str]) -> pd.Series:
    """The id of the existing record with the same natural key, per row of ``frame`` (or NaN).

    A key with a missing part matches nothing, as in SQL: stored suppliers without a SIRET are
    neither matched by a file row nor by each other (several of them made the look-up index
    non-unique).
    """
    existing = existing.dropna(subset=key_cols)
    if existing.empty:
        return pd.Series(np.nan, index=frame.index)
    if len(key_cols) == 1:
        key = key_cols[0]
        lookup = pd.Series(existing["id"].to_numpy(), index=existing[key].astype(object))
        return pd.Series(
            frame[key].astype(object).map(lookup).to_numpy(dtype=float), index=frame.index
        )
    left = frame[key_cols].astype(object)
    right = existing[[*key_cols, "id"]].astype({k: object for k in key_cols})
    keyed = left.merge(right, on=key_cols, how="left", validate="many_to_one")
    return pd.Series(keyed["id"].to_numpy(dtype=float), index=frame.index)


def upsert(
    session: Session,
    table: sa.Table,
    record_kind: str | None,
    frame: pd.DataFrame,
    key_cols: list[str],
    value_cols: list[str],
    report: Report,
    batch_id: int,
    *,
    where: Any = None,
    existing: pd.DataFrame | None = None,
    pseudo_cols: Iterable[str] = (),
    holder_getter: Any = None,
    label: str = "",
) -> tuple[UpsertResult, pd.Index]:
    """Insert new rows, update changed ones (re-applying corrections).

    Returns the counts and the index labels of the inserted and updated rows of ``frame``.
    ``pseudo_cols`` are compared but not written (contract holders, modifications). The frame
    is not copied as a whole: rows are converted chunk by chunk when written.
    """
    pseudo_cols = list(pseudo_cols)
    db_cols = [c for c in value_cols if c not in pseudo_cols]
    if existing is None:
        existing = load_existing(session, table, key_cols, db_cols, where)
    result = UpsertResult()
    ids = _existing_ids(frame, existing, key_cols)
    is_new = ids.isna().to_numpy()

    # matched rows: re-apply corrections, then compare with the stored values
    matched = frame.loc[~is_new, [*key_cols, ROW, *value_cols]].copy()
    matched["id"] = ids[~is_new].astype("int64")
    conflicts = []
    if record_kind is not None and not matched.empty:
        conflicts = overlay_corrections(
            session,
            record_kind,
            matched,
            table,
            db_cols,
            report,
            label,
            holder_getter=holder_getter,
        )
    result.conflicts = len(conflicts)
    old = existing.set_index("id").reindex(matched["id"].to_numpy())
    same = np.ones(len(matched), dtype=bool)
    for name in value_cols:
        if name in old.columns:
            previous = pd.Series(old[name].to_numpy(), index=matched.index)
            same &= _same(matched[name], previous, table.c.get(name)).to_numpy()
    changed = matched[~same]
    has_provenance = "import_batch_id" in table.c
    has_version = "version" in table.c

    # inserts, in natural-key order (fewer page misses in the unique index)
    new_positions = np.flatnonzero(is_new)
    if len(key_cols) == 1 and len(new_positions) > 1:
        order = frame[key_cols[0]].iloc[new_positions].argsort(kind="stable").to_numpy()
        new_positions = new_positions[order]
    names = list(dict.fromkeys([*key_cols, *db_cols]))
    constants: dict[str, Any] = {}
    if has_provenance:
        names += ["import_batch_id", "source_row"]
        constants["import_batch_id"] = batch_id
    if len(new_positions):
        insert_frame(session, table, names, frame, new_positions, constants)
    # updates
    if not changed.empty:
        names = list(db_cols)
        constants = {}
        if has_provenance:
            names += ["import_batch_id", "source_row"]
            constants["import_batch_id"] = batch_id
        sets = [f"{c} = {{}}" for c in names]
        if has_version:
            sets.insert(0, "version = version + 1")
            names.append("updated_at")
            constants["updated_at"] = _timestamp_text(session)
            sets.append("updated_at = {}")
        names.append("id")
        if is_postgresql(session):  # COPY into a staging table, then one UPDATE … FROM
            stage = f"{table.name}_changed"
            stage_table(session, stage, table.name, names)
            copy_rows(session, stage, names, frame_rows(table, names, changed, None, constants))
            staged_sets = (["version = t.version + 1"] if has_version else []) + [
                f"{c} = s.{c}" for c in names if c != "id"
            ]
            session.connection().exec_driver_sql(
                f"UPDATE {table.name} AS t SET {', '.join(staged_sets)} "
                f"FROM {stage} AS s WHERE t.id = s.id"
            )
        else:
            executemany(
                session,
                f"UPDATE {table.name} SET {', '.join(sets)} WHERE id = {{}}",
                table,
                names,
                changed,
                constants=constants,
            )
    result.inserted = len(new_positions)
    result.updated = len(changed)
    result.unchanged = len(matched) - len(changed)
    session.expire_all()
    return result, frame.index[is_new].append(changed.index)


def holder_field(name: str) -> tuple[str, int] | None:
    match = HOLDER_FIELD.match(name)
    if not match:
        return None
    role = "holder" if match["list"] in ("titulaires", "concessionnaires") else "subcontractor"
    return role, int(match["pos"])
