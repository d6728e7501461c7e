"""Declarative base with a constraint naming convention, shared column types and mixins."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    registry,
)
from sqlalchemy.sql.visitors import InternalTraversal

F = TypeVar("F", bound=Callable[..., Any])

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Money: exact on PostgreSQL, returned as float in Python (pandas works on floats anyway).
Money = sa.Numeric(14, 2, asdecimal=False)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DialectPredicate(sa.sql.expression.ColumnElement[bool]):
    """A WHERE predicate written differently per database (each subclass registers its
    ``@compiles`` functions, and sets ``inherit_cache = False``: its values are part of the
    element, no statement caching)."""

    inherit_cache = False
    type = sa.Boolean()

    def self_group(self, against: Any = None) -> DialectPredicate:
        return self  # a predicate already: no ``= 1`` around it in a WHERE on SQLite


class _AnyOf(DialectPredicate):
    """``column IN (values)``, written ``column = ANY(:values)`` on PostgreSQL (see
    :func:`any_of`)."""

    inherit_cache = False  # SQLAlchemy reads it on each class

    def __init__(self, column: sa.ColumnElement[Any], values: list[Any]) -> None:
        self.column = column
        self.values = values


@compiles(_AnyOf)
def _any_of_in(element: _AnyOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.values), **kw)


@compiles(_AnyOf, "postgresql")
def _any_of_array(element: _AnyOf, compiler: Any, **kw: Any) -> str:
    array = sa.bindparam(None, element.values, type_=postgresql.ARRAY(element.column.type))
    return compiler.process(element.column == sa.any_(array), **kw)


def any_of(column: sa.ColumnElement[Any], values: Any) -> sa.ColumnElement[bool]:
    """``column IN (values)`` for long lists of ids or keys (thousands).

    SQLite: an ``IN`` list. PostgreSQL: ``column = ANY(%s)`` with **one** array parameter — an
    ``IN`` of 5,000 placeholders made SQLAlchemy render and psycopg parse 5,000 bind casts per
    statement, a quarter of a large import's time. Integer and text columns.
    """
    return _AnyOf(column, list(values))


def pattern_parameter(pattern: str | sa.BindParameter[str]) -> sa.BindParameter[str]:
    """A LIKE pattern as a bound parameter (kept as is if it is one already)."""
    if isinstance(pattern, sa.BindParameter):
        return pattern
    return sa.bindparam(None, pattern, type_=sa.Text)


class _LikeCi(DialectPredicate):
    """A case-insensitive LIKE (see :func:`like_ci`). Its column and pattern make its part of
    the statement's cache key (the pattern a bound value): a searched page's statements are
    compiled once, not per request."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: sa.ColumnElement[Any], pattern: str | sa.BindParameter[str]) -> None:
        self.column = column
        self.pattern = pattern_parameter(pattern)


@compiles(_LikeCi)
def _like_ci_plain(element: _LikeCi, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.like(element.pattern, escape="\\"), **kw)


@compiles(_LikeCi, "postgresql")
def _like_ci_lower(element: _LikeCi, compiler: Any, **kw: Any) -> str:
    # lower() on both sides, the pattern's folded once: half the time of ILIKE (over the
    # 118,000 texts of anomaly_texts: 325 → 159 ms)
    folded = sa.func.lower(element.pattern)
    return compiler.process(sa.func.lower(element.column).like(folded, escape="\\"), **kw)


def like_escape(text: str) -> str:
    """``text`` to match literally inside a LIKE pattern whose escape is ``\\``: a ``%`` or ``_``
    typed in a search is that character, not a wildcard."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_ci(
    column: sa.ColumnElement[Any], pattern: str | sa.BindParameter[str]
) -> sa.ColumnElement[bool]:
    """``column`` matches ``pattern`` whatever the case: ``lower(column) LIKE lower(pattern)``
    on PostgreSQL (twice as quick as ``ILIKE`` there), a plain ``LIKE`` on SQLite — already
    case-insensitive there, for the very characters ``lower()`` folds (ASCII), while
    SQLAlchemy's ``ilike`` calls ``lower()`` on both sides of every row (a third of a search
    over 200,000 anomalies). The pattern's escape is ``\\`` (:func:`like_escape`)."""
    return _LikeCi(column, pattern)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class ProvenanceMixin:
    """Import batch and source row of an operational record."""

    @declared_attr
    def import_batch_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(sa.ForeignKey("import_batches.id", ondelete="RESTRICT"), index=True)

    source_row: Mapped[int | None] = mapped_column(sa.Integer)


class VersionedMixin:
    """Optimistic locking: operations compare and increment ``version``."""

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


#: How long a SQLite statement waits for a lock before « database is locked » (milliseconds).
BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
    """WAL mode, foreign keys and a busy timeout for every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    with contextlib.suppress(Exception):  # in-memory databases keep their journal mode
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


#: How SQLite transactions begin: ``IMMEDIATE`` takes the write lock at BEGIN (waiting up to the
#: busy timeout), ``DEFERRED`` only reads until its first write. ``None``: decided per request.
_begin_mode: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sqlite_begin_mode", default=None
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_busy_ms: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "sqlite_busy_ms", default=None
)


@contextlib.contextmanager
def sqlite_begin(mode: str) -> Iterator[None]:
    """Begin the SQLite transactions opened inside the block ``IMMEDIATE`` or ``DEFERRED``."""
    if mode not in ("IMMEDIATE", "DEFERRED"):
        raise ValueError(mode)
    token = _begin_mode.set(mode)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def reads_first(view: F) -> F:
    """Mark a view whose POST reads before it writes in a transaction of its own (login):
    its request's transactions begin ``DEFERRED``; it opens its write with :func:`sqlite_begin`."""
    view._workbench_begin = "DEFERRED"  # type: ignore[attr-defined]
    return view


def begin_mode() -> str:
    """``IMMEDIATE`` for writes, ``DEFERRED`` for reads.

    An explicit :func:`sqlite_begin` wins; in a web request, GET/HEAD/OPTIONS read (deferred) and
    every other method writes (immediate), unless the view is marked :func:`reads_first`; outside a
    request (CLI commands, jobs, tests) transactions write.
    """
    mode = _begin_mode.get()
    if mode is not None:
        return mode
    from flask import current_app, has_request_context, request

    if not has_request_context():
        return "IMMEDIATE"
    if request.method in SAFE_METHODS:
        return "DEFERRED"
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "_workbench_begin", "IMMEDIATE")


def configure_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the pysqlite driver, emit BEGIN: SAVEPOINTs then work as documented.

    A transaction that will write begins ``IMMEDIATE``: it waits (busy timeout) for the single
    writer lock *before* reading, instead of reading a snapshot and failing at once with
    « database is locked » when it upgrades to a write after another writer committed.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql(f"PRAGMA busy_timeout={_busy_ms.get() or BUSY_TIMEOUT_MS}")
        mode = begin_mode()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")
        # how it began, and the rows changed so far (see :func:`read_alike`)
        conn.info[_BEGAN] = (mode, conn.connection.dbapi_connection.total_changes)


_BEGAN = "workbench_sqlite_began"


def read_alike(connection: sa.Connection) -> bool:
    """Whether a new connection of the same engine reads the rows this connection's transaction
    reads: the transaction has written nothing yet, and no other writer can slip a commit
    between their reads — on SQLite, it began ``IMMEDIATE`` (the single writer lock, held to its
    end: a reader's snapshot is then the transaction's rows); on PostgreSQL (READ COMMITTED),
    each statement sees the latest commits either way. An in-memory SQLite database is one
    connection's own: never."""
    name = connection.dialect.name
    if name == "postgresql":
        return bool(
            connection.exec_driver_sql(
                "SELECT pg_current_xact_id_if_assigned() IS NULL"
                " AND current_setting('transaction_isolation') = 'read committed'"
            ).scalar()
        )
    if name != "sqlite" or not threads_share(connection):
        return False
    began = connection.info.get(_BEGAN)
    dbapi = connection.connection.dbapi_connection
    return (
        began is not None
        and began[0] == "IMMEDIATE"
        and dbapi is not None
        and began[1] == dbapi.total_changes
        and connection.in_transaction()
    )


def threads_share(connection: sa.Connection) -> bool:
    """Whether ``connection`` may be used from another thread (one thread at a time):
    PostgreSQL, or a SQLite file (its pool opens connections usable from any thread); not an
    in-memory SQLite database (one connection per thread)."""
    name = connection.dialect.name
    if name == "postgresql":
        return True
    database = connection.engine.url.database or ""
    return name == "sqlite" and database not in ("", ":memory:") and "mode=memory" not in database


#: SQLSTATEs of PostgreSQL lock waits given up (lock_timeout), deadlocks and serialisation failures.
_PG_LOCK_STATES = frozenset({"55P03", "40P01", "40001"})


def is_lock_error(error: BaseException) -> bool:
    """Did ``error`` come from a lock that could not be taken in time (SQLite busy, PostgreSQL
    lock timeout or deadlock)? Such a transaction can be retried; it changed nothing."""
    if not isinstance(error, sa.exc.OperationalError | sa.exc.DBAPIError):
        return False
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in _PG_LOCK_STATES:
        return True
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


@contextlib.contextmanager
def lock_wait(session: Session, seconds: float) -> Iterator[None]:
    """Wait at most ``seconds`` for locks in the block, which opens a transaction of its own.

    SQLite: the busy timeout set before its BEGIN; PostgreSQL: ``SET LOCAL lock_timeout``.
    """
    millis = max(int(seconds * 1000), 1)
    token = _busy_ms.set(millis)
    try:
        connection = session.connection()  # BEGIN here, with this busy timeout
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {millis}")
        yield
    finally:
        _busy_ms.reset(token)


@contextlib.contextmanager
def planner_setting(session: Session, name: str, value: str) -> Iterator[None]:
    """PostgreSQL: the planner setting ``name`` at ``value`` for the statements of the block
    only (``set_config`` local to the transaction, the previous value put back after). SQLite:
    nothing.

    For a statement whose plan the planner cannot cost: a ``GROUP BY`` of computed expressions
    over a million lines is estimated at a million groups (there are a few thousand), so it
    sorts them on disk rather than hash them.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    setting = sa.text("SELECT set_config(:name, :value, true)")
    previous = connection.execute(sa.text("SELECT current_setting(:name)"), {"name": name})
    before = previous.scalar_one()
    connection.execute(setting, {"name": name, "value": value})
    try:
        yield
    except BaseException:
        # a failed statement aborted the transaction, whose rollback ends the setting anyway
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            connection.execute(setting, {"name": name, "value": before})
        raise
    connection.execute(setting, {"name": name, "value": before})


# -- PostgreSQL bulk reads -----------------------------------------------------------------------
def _arrow_type(column_type: sa.types.TypeEngine) -> Any:
    import pyarrow as pa

    if isinstance(column_type, sa.Boolean):
        return pa.bool_()
    if isinstance(column_type, sa.Integer):
        return pa.int64()
    if isinstance(column_type, sa.Float | sa.Numeric):
        return pa.float64()
    if isinstance(column_type, sa.String | sa.Date) and not isinstance(column_type, sa.Enum):
        return pa.string()  # dates as ISO text, parsed by the caller
    return None


def copied_frame(
    connection: sa.Connection, stmt: sa.Select, columns: list[tuple[str, sa.types.TypeEngine]]
) -> Any:
    """PostgreSQL: the rows of ``stmt`` as a DataFrame through ``COPY (…) TO STDOUT`` (CSV)
    parsed by pyarrow, about a third of the time of fetching row tuples; ``None`` when a column
    type has no plain CSV form (JSON, timestamps: read them as rows).

    ``columns`` are the (name, type) of the selected columns, in order. The frame has what rows
    give: object columns of ``str``/``None`` (an empty string stays ``''``), ``int64`` integers
    (``float64`` with a NULL), ``float64`` numbers, booleans (``object`` with a NULL), dates as
    ISO text.
    """
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {name: _arrow_type(column_type) for name, column_type in columns}
    if connection.dialect.name != "postgresql" or any(t is None for t in types.values()):
        return None
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    driver = connection.connection.driver_connection
    sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)"
    buffer = io.BytesIO()
    with driver.cursor() as cursor, cursor.copy(sql, compiled.params) as copy:  # type: ignore[union-attr]
        for block in copy:
            buffer.write(block)
    names = [name for name, _ in columns]
    if not buffer.getbuffer().nbytes:  # no row: pyarrow refuses an empty file
        return pa.table({n: pa.array([], type=t) for n, t in types.items()}).to_pandas()
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,  # an unquoted empty field is NULL,
            quoted_strings_can_be_null=False,  # a quoted one the empty string
            true_values=["t"],
            false_values=["f"],
        ),
    )
    return table.to_pandas()
