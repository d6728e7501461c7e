"""Maintained groups of the active anomalies, region-wide: one row per (rule, group key,
severity).

The grouped view of a queue (:mod:`workbench.review.groups`) shows, per group of anomalies of
one rule on the same thing, how many there are, the oldest and newest, the worst severity and a
sample. Region-wide (the administrator's and the legal department's views of the matrix queue:
62,000 groups of 145,000 anomalies at the Region's scale) grouping them on every page view costs
a third of a second; ``anomaly_group_counts`` holds those groups, kept by database triggers like
``anomaly_counts`` (:mod:`workbench.rules.counts`), whoever writes the anomalies:

- an anomaly becoming active (inserted, reopened) is *added*: ``n`` + 1, and the bounds widened
  (oldest, newest, sample id, field) — exact, and safe under concurrent writers;
- an anomaly leaving its group (closed, dismissed, deleted, its key or values changed) is
  *taken away*: ``n`` − 1 and the group marked ``dirty`` — the bounds (a minimum, a maximum)
  cannot be taken back without reading the group's other anomalies.

:func:`settle` reads the dirty groups again from their anomalies (a few index ranges each) and
clears the mark; it runs before every commit of a session (:func:`install_settle`), so a dirty
group is only ever seen by the transaction that dirtied it. A writer that bypasses the session
leaves dirty groups behind: the readers compute those from the anomalies (:func:`members`), and
the next commit settles them. On PostgreSQL, :func:`settle` first locks the dirty rows it takes
(``FOR UPDATE SKIP LOCKED``: never a row another transaction is still changing), then reads the
anomalies in a later statement, whose snapshot holds every change committed to those groups.

- SQLite: row triggers, paused with the counts' during a rule run's bulk writes
  (:func:`~workbench.rules.counts.counted_in_bulk`, which adds and takes away groups with
  grouped statements instead);
- PostgreSQL: statement triggers over transition tables (one grouped upsert per statement).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db import any_of
from workbench.rules.models import (
    ACTIVE_STATUSES,
    ACTIVE_WHERE,
    Anomaly,
    AnomalyGroupCount,
    worst_severity,
)

TABLE = "anomaly_group_counts"
#: The rule columns an anomaly's group and its aggregates depend on (with its status).
TRACKED = ("rule_code", "group_key", "value", "supplier_id", "first_seen_at", "severity", "field")
_ACTIVE = "(" + ", ".join(f"'{status}'" for status in ACTIVE_STATUSES) + ")"
#: Dirty groups above which :func:`settle` and the readers group whole rules at once.
FEW_DIRTY = 200
_COLUMNS = "rule_code, key, severity, n, oldest, newest, sample_id, field"


def group_key_sql(alias: str = "") -> str:
    """An anomaly's group key in SQL: its ``group_key``, else its value at its supplier, else
    its supplier (``alias``: the row's name, e.g. ``NEW``; none in an index or a view)."""
    p = f"{alias}." if alias else ""
    return (
        f"coalesce(nullif({p}group_key, ''), nullif({p}value, '') || '@' || "
        f"coalesce(CAST({p}supplier_id AS VARCHAR), ''), CAST({p}supplier_id AS VARCHAR), '')"
    )


def _active(alias: str) -> str:
    return f"{alias}.status IN {_ACTIVE}"


def _merge() -> str:
    """The ON CONFLICT update adding a row's (or a group's) anomalies to a stored group: the
    counts add up, the bounds widen; a group emptied before takes the new bounds."""
    t = TABLE

    def bound(column: str, wider: str) -> str:
        return (
            f"{column} = CASE WHEN {t}.n <= 0 OR {t}.{column} IS NULL OR excluded.{column} "
            f"{wider} {t}.{column} THEN excluded.{column} ELSE {t}.{column} END"
        )

    return ", ".join(
        (
            f"n = {t}.n + excluded.n",
            bound("oldest", "<"),
            bound("newest", ">"),
            bound("sample_id", "<"),
            bound("field", ">"),
        )
    )


_UPSERT = f"ON CONFLICT (rule_code, key, severity) DO UPDATE SET {_merge()}"


# -- SQLite: row triggers ------------------------------------------------------------------------
#: The SQLite triggers run unless a bulk write paused them (see :mod:`workbench.rules.counts`).
RUNNING = "NOT EXISTS (SELECT 1 FROM anomaly_counts_paused)"


def _sqlite_add(alias: str) -> str:
    a = alias
    return (
        f"INSERT INTO {TABLE} ({_COLUMNS}) SELECT {a}.rule_code, {group_key_sql(a)}, "
        f"{a}.severity, 1, {a}.first_seen_at, {a}.first_seen_at, {a}.id, {a}.field "
        f"WHERE {_active(a)} {_UPSERT};"
    )


def _sqlite_remove(alias: str) -> str:
    a = alias
    return (
        f"UPDATE {TABLE} SET n = n - 1, dirty = TRUE WHERE {_active(a)} AND rule_code = "
        f"{a}.rule_code AND key = {group_key_sql(a)} AND severity = {a}.severity;"
    )


def _sqlite_triggers() -> tuple[str, ...]:
    was, now = _active("OLD"), _active("NEW")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in TRACKED)
    moved = f"({was}) IS NOT ({now}) OR ({now} AND ({changed}))"
    return (
        f"CREATE TRIGGER anomaly_groups_insert AFTER INSERT ON anomalies WHEN {RUNNING} "
        f"AND {now} BEGIN {_sqlite_add('NEW')} END",
        f"CREATE TRIGGER anomaly_groups_delete AFTER DELETE ON anomalies WHEN {RUNNING} "
        f"AND {was} BEGIN {_sqlite_remove('OLD')} END",
        f"CREATE TRIGGER anomaly_groups_update AFTER UPDATE OF status, {', '.join(TRACKED)} "
        f"ON anomalies WHEN {RUNNING} AND ({moved}) "
        f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    )


# -- PostgreSQL: statement triggers ------------------------------------------------------------------
def _grouped(rows: str, where: str = "TRUE", alias: str = "r") -> str:
    """The active rows of ``rows`` matching ``where`` grouped as stored (in key order:
    concurrent writers lock the groups in one order)."""
    r = alias
    return (
        f"SELECT {r}.rule_code, {group_key_sql(r)} AS key, {r}.severity, count(*), "
        f"min({r}.first_seen_at), max({r}.first_seen_at), min({r}.id), max({r}.field) "
        f"FROM {rows} AS {r} WHERE ({where}) AND {_active(r)} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )


def _add(rows: str, where: str = "TRUE", alias: str = "r") -> str:
    """Add the active rows of ``rows`` matching ``where`` to their groups."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_grouped(rows, where, alias)} {_UPSERT}"


def _remove(rows: str, where: str = "TRUE", alias: str = "r") -> str:
    """Take the active rows of ``rows`` matching ``where`` out of their groups (marked)."""
    r = alias
    return (
        f"UPDATE {TABLE} AS g SET n = g.n - o.n, dirty = TRUE FROM (SELECT {r}.rule_code, "
        f"{group_key_sql(r)} AS key, {r}.severity, count(*) AS n FROM {rows} AS {r} WHERE "
        f"({where}) AND {_active(r)} GROUP BY 1, 2, 3) AS o WHERE g.rule_code = o.rule_code "
        "AND g.key = o.key AND g.severity = o.severity"
    )


def _pg_moved(rows: str) -> str:
    """The rows of ``rows`` (``old_rows`` or ``new_rows``) whose group or aggregates an UPDATE
    changed (a claim of a hundred thousand anomalies moves none)."""
    other = "old_rows" if rows == "new_rows" else "new_rows"
    tracked = ", ".join(f"x.{c}" for c in TRACKED), ", ".join(f"y.{c}" for c in TRACKED)
    return (
        f"(SELECT x.* FROM {rows} AS x JOIN {other} AS y ON y.id = x.id WHERE "
        f"({_active('x')}) IS DISTINCT FROM ({_active('y')}) OR ({tracked[0]}) "
        f"IS DISTINCT FROM ({tracked[1]}))"
    )


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION anomaly_groups_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _pg_trigger(name: str, event: str, tables: str) -> str:
    return (
        f"CREATE TRIGGER anomaly_groups_{name} AFTER {event} ON anomalies REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION anomaly_groups_{name}()"
    )


POSTGRESQL_TRIGGERS = (
    _pg_function("insert", _add("new_rows") + ";"),
    _pg_function("delete", _remove("old_rows") + ";"),
    _pg_function("update", f"{_remove(_pg_moved('old_rows'))}; {_add(_pg_moved('new_rows'))};"),
    _pg_trigger("insert", "INSERT", "NEW TABLE AS new_rows"),
    _pg_trigger("delete", "DELETE", "OLD TABLE AS old_rows"),
    _pg_trigger("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
)
_NAMES = ("insert", "delete", "update")


def trigger_statements(dialect: str) -> tuple[str, ...]:
    """The DDL creating the triggers that keep ``anomaly_group_counts`` in step."""
    return POSTGRESQL_TRIGGERS if dialect == "postgresql" else _sqlite_triggers()


def drop_triggers(prefix: str, names: Iterable[str], dialect: str) -> tuple[str, ...]:
    """The DDL dropping the triggers ``<prefix>_<name>`` on ``anomalies`` (and, on PostgreSQL,
    their functions of the same names)."""
    names = tuple(names)
    if dialect != "postgresql":
        return tuple(f"DROP TRIGGER IF EXISTS {prefix}_{n}" for n in names)
    return tuple(f"DROP TRIGGER IF EXISTS {prefix}_{n} ON anomalies" for n in names) + tuple(
        f"DROP FUNCTION IF EXISTS {prefix}_{n}()" for n in names
    )


def drop_statements(dialect: str) -> tuple[str, ...]:
    return drop_triggers("anomaly_groups", _NAMES, dialect)


def rebuild_sql() -> str:
    """Every group, from the anomalies (the table emptied first)."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_grouped('anomalies')}"


def refill(session: Session, table: str, insert_sql: str) -> None:
    """Empty a maintained ``table`` and fill it again with ``insert_sql`` (one statement)."""
    connection = session.connection()
    connection.exec_driver_sql(f"DELETE FROM {table}")
    connection.exec_driver_sql(insert_sql)


def rebuild(session: Session) -> None:
    refill(session, TABLE, rebuild_sql())


# -- bulk writes on SQLite (with the counts' pause) ---------------------------------------------------
def take_away_sqlite(session: Session, where: str) -> None:
    """Take the active anomalies ``a`` matching ``where`` out of their groups (grouped)."""
    session.connection().exec_driver_sql(_remove("anomalies", where, "a"))


def add_sqlite(session: Session, where: str) -> None:
    """Add the active anomalies ``a`` matching ``where`` to their groups (grouped; a group
    taken away from stays dirty)."""
    session.connection().exec_driver_sql(_add("anomalies", where, "a"))


# -- reading the groups of dirty rows, settling them --------------------------------------------------
def _active_clause() -> sa.TextClause:
    return sa.text(ACTIVE_WHERE)  # the literal predicate of the partial indexes


def key_column() -> sa.ColumnElement[str]:
    """An anomaly's group key as a column (:func:`group_key_sql`)."""
    return sa.literal_column(group_key_sql(), sa.Text)


def members(rule_code: str, key: str, *, active: bool = True) -> sa.ColumnElement[bool]:
    """The anomalies of the group (``rule_code``, ``key``) — the active ones unless ``active``
    is false — as index ranges of ``ix_anomalies_cover_*`` (rule, ``group_key``, value,
    supplier): the ``group_key`` itself, the value at the supplier the key spells (split at its
    last ``@``), the supplier the key is, or nothing at all — then the key itself checked (the
    ranges only narrow). Each range is a whole conjunction, the rule repeated in each (a flat
    OR: SQLite reads each range from the index; with the rule outside the OR, or a nested OR
    for « no ``group_key`` », it read the whole rule)."""
    a = Anomaly
    rule = a.rule_code == rule_code
    no_group_key = (a.group_key.is_(None), a.group_key == "")
    no_value = (a.value.is_(None), a.value == "")
    ranges: list[sa.ColumnElement[bool]] = []
    if key:
        ranges.append(sa.and_(rule, a.group_key == key))
    value, at, supplier = key.rpartition("@")
    if at and value and (not supplier or _is_id(supplier)):
        at_supplier = a.supplier_id.is_(None) if not supplier else a.supplier_id == int(supplier)
        ranges += [sa.and_(rule, g, a.value == value, at_supplier) for g in no_group_key]
    if _is_id(key) or not key:
        is_supplier = a.supplier_id == int(key) if key else a.supplier_id.is_(None)
        ranges += [sa.and_(rule, g, v, is_supplier) for g in no_group_key for v in no_value]
    if not ranges:
        return sa.false()
    clauses = [sa.or_(*ranges), key_column() == key]
    return sa.and_(*clauses, _active_clause()) if active else sa.and_(*clauses)


def active_in(session: Session, groups: Sequence[tuple[str, str]]) -> int:
    """The active anomalies of ``groups`` (rule, key), every severity, as kept (region-wide)."""
    if not groups:
        return 0
    t = AnomalyGroupCount
    keys: dict[str, list[str]] = {}
    for rule, key in groups:
        keys.setdefault(rule, []).append(key)
    # one range of the primary key per rule (a list of pairs made PostgreSQL read the table)
    ranges = [sa.and_(t.rule_code == rule, any_of(t.key, ks)) for rule, ks in keys.items()]
    stmt = sa.select(sa.func.coalesce(sa.func.sum(t.n), 0)).where(sa.or_(*ranges))
    return int(session.scalar(stmt) or 0)


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) < 19


def aggregates() -> tuple[sa.ColumnElement[Any], ...]:
    """What a group shows of its anomalies: field, n, oldest, newest, severity, sample id."""
    return (
        sa.func.max(Anomaly.field).label("field"),
        sa.func.count().label("n"),
        sa.func.min(Anomaly.first_seen_at).label("oldest"),
        sa.func.max(Anomaly.first_seen_at).label("newest"),
        worst_severity(Anomaly.severity).label("severity"),
        sa.func.min(Anomaly.id).label("sample_id"),
    )


#: A stored group: (rule code, key, severity).
GroupKey = tuple[str, str, str]


def grouped_select(where: sa.ColumnElement[bool]) -> sa.Select:
    """The active anomalies matching ``where`` grouped as stored — per (rule, key, severity) —
    in the columns (and order) of the grouped view: rule_code, key, field, n, oldest, newest,
    severity, sample_id."""
    key = key_column()
    return (
        sa.select(Anomaly.rule_code, key.label("key"), *aggregates())
        .where(where)
        .group_by(Anomaly.rule_code, key, Anomaly.severity)
    )


def _stored_tuple(row: Any) -> tuple:
    """A grouped row as :func:`stored` returns it: (n, oldest, newest, sample id, field)."""
    return (int(row.n), row.oldest, row.newest, int(row.sample_id), row.field)


def computed(keys: Sequence[GroupKey]) -> sa.Select:
    """The groups ``keys`` (at most :data:`FEW_DIRTY`) computed from their anomalies, in the
    columns of the grouped view: to read beside the stored groups."""
    if len(keys) > FEW_DIRTY:
        raise ValueError(f"{len(keys)} groups: group their rules whole instead")
    chosen = [sa.and_(members(r, k), Anomaly.severity == v) for r, k, v in keys]
    return grouped_select(sa.or_(*chosen) if chosen else sa.false())


def _fresh(session: Session, keys: Sequence[GroupKey]) -> dict[GroupKey, tuple]:
    """``{(rule, key, severity): (n, oldest, …)}`` of the groups ``keys`` with active
    anomalies. Above :data:`FEW_DIRTY` keys, their rules are grouped whole (one index range
    each) and the keys picked out."""
    if len(keys) <= FEW_DIRTY:
        stmt = computed(keys)
    else:
        rules = sorted({k[0] for k in keys})
        stmt = grouped_select(sa.and_(Anomaly.rule_code.in_(rules), _active_clause()))
    wanted = set(keys)
    found = {(r.rule_code, r.key, r.severity): _stored_tuple(r) for r in session.execute(stmt)}
    return {k: v for k, v in found.items() if k in wanted}


def dirty_keys(
    session: Session, codes: Iterable[str] | None = None, *, lock: bool = False
) -> list[GroupKey]:
    """The dirty groups visible to this transaction (of the rules ``codes``); ``lock``: on
    PostgreSQL, locked ``FOR UPDATE SKIP LOCKED`` (SQLite has one writer: no clause)."""
    t = _table()
    # the literal predicate of the partial index ``ix_anomaly_group_counts_dirty``
    stmt = (
        sa.select(t.c.rule_code, t.c.key, t.c.severity)
        .where(sa.text("dirty"))
        .order_by(t.c.rule_code, t.c.key, t.c.severity)
    )
    if codes is not None:
        stmt = stmt.where(t.c.rule_code.in_(list(codes)))
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return [(r[0], r[1], r[2]) for r in session.execute(stmt)]


def settle(session: Session) -> int:
    """Read the dirty groups again from their anomalies and clear their mark; the emptied ones
    go. On PostgreSQL the rows are locked first (those another transaction holds are skipped:
    it settles them before its commit), then read in a later statement. Returns how many."""
    keys = dirty_keys(session, lock=True)
    if not keys:
        return 0
    fresh = _fresh(session, keys)
    table = _table()
    c = table.c
    same = sa.and_(
        c.rule_code == sa.bindparam("b_rule"),
        c.key == sa.bindparam("b_key"),
        c.severity == sa.bindparam("b_severity"),
    )
    if fresh:
        session.execute(
            sa.update(table)
            .where(same)
            .values(
                n=sa.bindparam("n"),
                oldest=sa.bindparam("oldest"),
                newest=sa.bindparam("newest"),
                sample_id=sa.bindparam("sample_id"),
                field=sa.bindparam("field"),
                dirty=False,
            ),
            [
                dict(zip(("b_rule", "b_key", "b_severity"), k, strict=True))
                | dict(zip(("n", "oldest", "newest", "sample_id", "field"), v, strict=True))
                for k, v in fresh.items()
            ],
        )
    gone = [k for k in keys if k not in fresh]
    if gone:
        session.execute(
            sa.delete(table).where(same),
            [dict(zip(("b_rule", "b_key", "b_severity"), k, strict=True)) for k in gone],
        )
    return len(keys)


def _table() -> sa.Table:
    return AnomalyGroupCount.__table__  # type: ignore[return-value]


def stored(session: Session) -> dict[GroupKey, tuple]:
    """``{(rule, key, severity): (n, oldest, newest, sample_id, field)}`` of the groups with
    anomalies (to compare with :func:`recount`)."""
    c = _table().c
    rows = session.execute(
        sa.select(
            c.rule_code, c.key, c.severity, c.n, c.oldest, c.newest, c.sample_id, c.field
        ).where(c.n != 0)
    )
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def recount(session: Session) -> dict[GroupKey, tuple]:
    """The groups of every active anomaly, grouped live."""
    return {
        (r.rule_code, r.key, r.severity): _stored_tuple(r)
        for r in session.execute(grouped_select(_active_clause()))
    }


# -- settled before every commit ----------------------------------------------------------------------
#: Engines whose database has the table (a database migrated before it has none yet).
_HAS_TABLE: weakref.WeakKeyDictionary[sa.Engine, bool] = weakref.WeakKeyDictionary()
#: ``session.info`` key: the session's transaction has a connection (it may have written); on
#: SQLite, the connection's ``total_changes()`` when it began.
_CONNECTED = "group_counts_connected"


def _changes(connection: sa.Connection) -> int:
    """SQLite: rows this connection has written since it opened (triggers' writes included)."""
    return int(connection.exec_driver_sql("SELECT total_changes()").scalar() or 0)


def _after_begin(session: Session, transaction: Any, connection: sa.Connection) -> None:
    if _CONNECTED in session.info:  # a savepoint: the outer transaction's count stands
        return
    sqlite = connection.dialect.name == "sqlite"
    session.info[_CONNECTED] = _changes(connection) if sqlite else True


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTED, None)


def _before_commit(session: Session) -> None:
    session.flush()
    began = session.info.get(_CONNECTED)
    if began is None:  # nothing read or written: no connection to open
        return
    connection = session.connection()
    if began is not True and _changes(connection) == began:
        # SQLite: a transaction that wrote nothing leaves dirty groups (a writer that bypassed
        # the session) to the next writer: settling would take the write lock in a read
        return
    engine = connection.engine
    if not _HAS_TABLE.get(engine):  # asked again until the migration has made it
        _HAS_TABLE[engine] = sa.inspect(connection).has_table(TABLE)
        if not _HAS_TABLE[engine]:
            return
    settle(session)


_installed = False


def install_settle() -> None:
    """Settle the dirty groups before every commit of a session (idempotent)."""
    global _installed
    if not _installed:
        sa.event.listen(Session, "after_begin", _after_begin)
        sa.event.listen(Session, "after_transaction_end", _after_transaction_end)
        sa.event.listen(Session, "before_commit", _before_commit)
        _installed = True


def severity_bounds(session: Session, codes: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Rule → the lowest and highest severity of its stored groups (two seeks each in
    ``ix_anomaly_group_counts_severity``; ``(None, None)``: no group). Region-wide and kept
    for emptied groups: a superset of the severities of its active anomalies in any scope."""
    if not codes:
        return {}
    t = AnomalyGroupCount

    def bound(code: str, func: Any) -> sa.ScalarSelect:
        return sa.select(func(t.severity)).where(t.rule_code == code).scalar_subquery()

    row = session.execute(
        sa.select(*(bound(c, f) for c in codes for f in (sa.func.min, sa.func.max)))
    ).one()
    return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(codes)}
