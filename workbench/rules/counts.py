"""Maintained counts of anomalies per (rule, status, owner role, lycée, direction).

Home tiles, queue totals and the rule catalogue read ``anomaly_counts`` (a few thousand rows at
most) instead of counting millions of anomalies on every page view. The database keeps it in
step, whoever writes the anomalies (rule runs in bulk, transitions, cascades), with triggers:

- SQLite: row triggers (cheap in-process upserts). A rule run writing many anomalies pauses
  them inside its own transaction (:func:`counted_in_bulk`: one row in
  ``anomaly_counts_paused``, which no other connection sees before the commit) and adds the
  counts of the rows it wrote with two grouped statements instead of one upsert per row;
- PostgreSQL: statement-level triggers over transition tables (one grouped upsert per
  statement, so a bulk insert of two million anomalies costs one aggregate).

``site_id`` 0 and ``direction_code`` ``''`` stand for "none" (the key must be unique).
:func:`rebuild_counts` recomputes the table from scratch (after a restore, or to check it).

``anomaly_days`` (opened day, closed day → n) is kept the same way, by triggers of its own
(paused and added back with the counts): the quality page's trend of anomalies opened and
closed per week reads it (a few hundred rows) instead of grouping every anomaly (two million at
the Region's scale). Days are UTC dates as ``YYYY-MM-DD``; ``closed_day`` ``''`` = not closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from sqlalchemy.orm import Session

from workbench.rules import group_counts, search_texts

COUNTS = "anomaly_counts"
#: A row here (written and removed inside one transaction) pauses the SQLite row triggers.
PAUSED = "anomaly_counts_paused"
#: Anomalies written at once above which :func:`counted_in_bulk` pauses the SQLite triggers.
BULK_ROWS = 2_000
_RUNNING = f"NOT EXISTS (SELECT 1 FROM {PAUSED})"
KEY = ("rule_code", "status", "owner_role", "site_id", "direction_code")
_KEY_SQL = ", ".join(KEY)


def _key_of(alias: str) -> str:
    return (
        f"{alias}.rule_code, {alias}.status, {alias}.owner_role, "
        f"coalesce({alias}.site_id, 0), coalesce({alias}.direction_code, '')"
    )


def _sqlite_match(alias: str) -> str:
    return (
        f"rule_code = {alias}.rule_code AND status = {alias}.status AND owner_role = "
        f"{alias}.owner_role AND site_id = coalesce({alias}.site_id, 0) AND direction_code = "
        f"coalesce({alias}.direction_code, '')"
    )


def _sqlite_increment(table: str, key_sql: str, values: str) -> str:
    """One more at the key ``values`` of ``table`` (a SQLite row trigger's statement)."""
    return (
        f"INSERT INTO {table} ({key_sql}, n) VALUES ({values}, 1) "
        f"ON CONFLICT ({key_sql}) DO UPDATE SET n = n + 1;"
    )


def _sqlite_add(alias: str) -> str:
    return _sqlite_increment(COUNTS, _KEY_SQL, _key_of(alias))


def _sqlite_remove(alias: str) -> str:
    return f"UPDATE {COUNTS} SET n = n - 1 WHERE {_sqlite_match(alias)};"


def _sqlite_triggers(pausable: bool) -> tuple[str, ...]:
    when = f"WHEN {_RUNNING} " if pausable else ""
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEY)
    return (
        f"CREATE TRIGGER anomaly_counts_insert AFTER INSERT ON anomalies {when}BEGIN "
        f"{_sqlite_add('NEW')} END",
        f"CREATE TRIGGER anomaly_counts_delete AFTER DELETE ON anomalies {when}BEGIN "
        f"{_sqlite_remove('OLD')} END",
        f"CREATE TRIGGER anomaly_counts_update AFTER UPDATE OF {_KEY_SQL} ON anomalies WHEN "
        + (f"{_RUNNING} AND ({changed})" if pausable else changed)
        + f" BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    )


SQLITE_TRIGGERS = _sqlite_triggers(pausable=True)
SQLITE_DROP = tuple(
    f"DROP TRIGGER IF EXISTS anomaly_counts_{name}" for name in ("insert", "delete", "update")
)


def _pg_grouped(rows: str) -> str:
    return f"SELECT {_key_of('r')}, count(*) AS n FROM {rows} AS r GROUP BY 1, 2, 3, 4, 5"


def _pg_add_remove(
    table: str, key: Sequence[str], grouped: Callable[[str], str]
) -> tuple[str, str]:
    """The statements adding the ``grouped`` counts of ``new_rows`` to ``table`` (by ``key``)
    and taking those of ``old_rows`` away (PostgreSQL statement triggers)."""
    names = ", ".join(key)
    add = (
        f"INSERT INTO {table} AS c ({names}, n) {grouped('new_rows')} "
        f"ON CONFLICT ({names}) DO UPDATE SET n = c.n + excluded.n;"
    )
    remove = (
        f"UPDATE {table} AS c SET n = c.n - o.n FROM ({grouped('old_rows')}) AS o("
        f"{names}, n) WHERE " + " AND ".join(f"c.{k} = o.{k}" for k in key) + ";"
    )
    return add, remove


_PG_ADD, _PG_REMOVE = _pg_add_remove(COUNTS, KEY, _pg_grouped)
POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION anomaly_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_ADD} RETURN NULL; END $$",
    "CREATE FUNCTION anomaly_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_REMOVE} RETURN NULL; END $$",
    "CREATE FUNCTION anomaly_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_REMOVE} {_PG_ADD} RETURN NULL; END $$",
    "CREATE TRIGGER anomaly_counts_insert AFTER INSERT ON anomalies REFERENCING NEW TABLE AS "
    "new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_counts_insert()",
    "CREATE TRIGGER anomaly_counts_delete AFTER DELETE ON anomalies REFERENCING OLD TABLE AS "
    "old_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_counts_delete()",
    "CREATE TRIGGER anomaly_counts_update AFTER UPDATE ON anomalies REFERENCING OLD TABLE AS "
    "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_counts_update()",
)
POSTGRESQL_DROP = tuple(
    f"DROP TRIGGER IF EXISTS anomaly_counts_{name} ON anomalies"
    for name in ("insert", "delete", "update")
) + tuple(f"DROP FUNCTION IF EXISTS anomaly_counts_{n}()" for n in ("insert", "delete", "update"))


# -- anomalies per (opened day, closed day) ---------------------------------------------------------
DAYS = "anomaly_days"
DAY_KEY = ("opened_day", "closed_day")
_DAY_KEY_SQL = ", ".join(DAY_KEY)


_DAY_SQL = {"postgresql": "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"}


def _day_of(alias: str, dialect: str) -> str:
    """The (opened day, closed day) key of the row ``alias`` (UTC dates, ``''``: not closed)."""
    day = _DAY_SQL.get(dialect, "date({})")
    opened = day.format(f"{alias}.first_seen_at")
    closed = day.format(f"{alias}.closed_at")
    return f"{opened}, coalesce({closed}, '')"


def _sqlite_day_triggers() -> tuple[str, ...]:
    def add(alias: str) -> str:
        return _sqlite_increment(DAYS, _DAY_KEY_SQL, _day_of(alias, "sqlite"))

    def remove(alias: str) -> str:
        return f"UPDATE {DAYS} SET n = n - 1 WHERE ({_DAY_KEY_SQL}) = ({_day_of(alias, 'sqlite')});"

    changed = "OLD.first_seen_at IS NOT NEW.first_seen_at OR OLD.closed_at IS NOT NEW.closed_at"
    return (
        f"CREATE TRIGGER anomaly_days_insert AFTER INSERT ON anomalies WHEN {_RUNNING} "
        f"BEGIN {add('NEW')} END",
        f"CREATE TRIGGER anomaly_days_delete AFTER DELETE ON anomalies WHEN {_RUNNING} "
        f"BEGIN {remove('OLD')} END",
        "CREATE TRIGGER anomaly_days_update AFTER UPDATE OF first_seen_at, closed_at ON "
        f"anomalies WHEN {_RUNNING} AND ({changed}) BEGIN {remove('OLD')} {add('NEW')} END",
    )


def _pg_days(rows: str) -> str:
    return f"SELECT {_day_of('r', 'postgresql')}, count(*) AS n FROM {rows} AS r GROUP BY 1, 2"


def _pg_days_moved(rows: str) -> str:
    """:func:`_pg_days` of the rows of ``rows`` whose days changed (a claim or a value refresh
    of a hundred thousand anomalies leaves their days as they were: nothing to count)."""
    other = "old_rows" if rows == "new_rows" else "new_rows"
    moved = (
        f"(SELECT x.* FROM {rows} AS x JOIN {other} AS y ON y.id = x.id "
        "WHERE x.first_seen_at IS DISTINCT FROM y.first_seen_at "
        "OR x.closed_at IS DISTINCT FROM y.closed_at)"
    )
    return _pg_days(moved)


_PG_DAYS_ADD, _PG_DAYS_REMOVE = _pg_add_remove(DAYS, DAY_KEY, _pg_days)
_PG_MOVED_ADD, _PG_MOVED_REMOVE = _pg_add_remove(DAYS, DAY_KEY, _pg_days_moved)
POSTGRESQL_DAY_TRIGGERS = (
    "CREATE FUNCTION anomaly_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_DAYS_ADD} RETURN NULL; END $$",
    "CREATE FUNCTION anomaly_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_DAYS_REMOVE} RETURN NULL; END $$",
    "CREATE FUNCTION anomaly_days_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_MOVED_REMOVE} {_PG_MOVED_ADD} RETURN NULL; END $$",
    "CREATE TRIGGER anomaly_days_insert AFTER INSERT ON anomalies REFERENCING NEW TABLE AS "
    "new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_days_insert()",
    "CREATE TRIGGER anomaly_days_delete AFTER DELETE ON anomalies REFERENCING OLD TABLE AS "
    "old_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_days_delete()",
    "CREATE TRIGGER anomaly_days_update AFTER UPDATE ON anomalies REFERENCING OLD TABLE AS "
    "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_days_update()",
)


def day_trigger_statements(dialect: str) -> tuple[str, ...]:
    """The DDL creating the triggers that keep ``anomaly_days`` in step."""
    return POSTGRESQL_DAY_TRIGGERS if dialect == "postgresql" else _sqlite_day_triggers()


def day_drop_statements(dialect: str) -> tuple[str, ...]:
    names = ("insert", "delete", "update")
    if dialect != "postgresql":
        return tuple(f"DROP TRIGGER IF EXISTS anomaly_days_{n}" for n in names)
    return tuple(f"DROP TRIGGER IF EXISTS anomaly_days_{n} ON anomalies" for n in names) + tuple(
        f"DROP FUNCTION IF EXISTS anomaly_days_{n}()" for n in names
    )


def rebuild_days_sql(dialect: str) -> str:
    return (
        f"INSERT INTO {DAYS} ({_DAY_KEY_SQL}, n) SELECT {_day_of('a', dialect)}, count(*) "
        "FROM anomalies AS a GROUP BY 1, 2"
    )


def stored_days(session: Session) -> dict[tuple, int]:
    """``{(opened day, closed day): n}`` of the non-zero rows of ``anomaly_days``."""
    rows = session.connection().exec_driver_sql(
        f"SELECT {_DAY_KEY_SQL}, n FROM {DAYS} WHERE n <> 0"
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


def trigger_statements(dialect: str, *, pausable: bool = True) -> tuple[str, ...]:
    """The DDL creating the triggers that keep ``anomaly_counts`` in step (``pausable=False``:
    the SQLite triggers as first created, before ``anomaly_counts_paused`` existed)."""
    if dialect == "postgresql":
        return POSTGRESQL_TRIGGERS
    return SQLITE_TRIGGERS if pausable else _sqlite_triggers(pausable=False)


def drop_statements(dialect: str) -> tuple[str, ...]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


def rebuild_counts_sql() -> str:
    return f"INSERT INTO {COUNTS} ({_KEY_SQL}, n) {_pg_grouped('anomalies')}"


def rebuild_counts(session: Session) -> None:
    """Recompute ``anomaly_counts``, ``anomaly_days`` and ``anomaly_group_counts`` from the
    anomalies (one grouped INSERT … SELECT each), and trim ``anomaly_texts`` to their texts."""
    group_counts.refill(session, COUNTS, rebuild_counts_sql())
    group_counts.refill(session, DAYS, rebuild_days_sql(session.connection().dialect.name))
    group_counts.rebuild(session)
    search_texts.rebuild(session)


def stored_counts(session: Session) -> dict[tuple, int]:
    """``{key: n}`` of the non-zero rows of ``anomaly_counts`` (to compare with a recount)."""
    rows = session.connection().exec_driver_sql(f"SELECT {_KEY_SQL}, n FROM {COUNTS} WHERE n <> 0")
    return {tuple(r[:5]): int(r[5]) for r in rows}


# -- bulk writes on SQLite ------------------------------------------------------------------------
_BULK_IDS = "anomaly_bulk_ids"


def _sqlite_add_grouped(session: Session, where: str, sign: int) -> None:
    connection = session.connection()
    for table, key_sql, values, groups in (
        (COUNTS, _KEY_SQL, _key_of("a"), "1, 2, 3, 4, 5"),
        (DAYS, _DAY_KEY_SQL, _day_of("a", "sqlite"), "1, 2"),
    ):
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({key_sql}, n) SELECT {values}, {sign} * count(*) "
            f"FROM anomalies AS a WHERE {where} GROUP BY {groups} "
            f"ON CONFLICT ({key_sql}) DO UPDATE SET n = n + excluded.n"
        )


@contextlib.contextmanager
def counted_in_bulk(session: Session, touched: Iterable[int], rows: int) -> Iterator[None]:
    """Around writes of ``rows`` anomalies (inserts, and updates of the ids ``touched``).

    On SQLite, above :data:`BULK_ROWS` rows, the row triggers are paused for the writes and the
    counts move by two grouped statements: the touched anomalies are taken out before, and they
    and every anomaly inserted meanwhile are added back after. Elsewhere (PostgreSQL's triggers
    are per statement already) or for a few rows, the triggers count as usual.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite" or rows < BULK_ROWS:
        yield
        return
    ids = sorted({int(i) for i in touched})
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {_BULK_IDS} (id INTEGER PRIMARY KEY)"
    )
    connection.exec_driver_sql(f"DELETE FROM {_BULK_IDS}")
    if ids:
        connection.exec_driver_sql(f"INSERT INTO {_BULK_IDS} (id) VALUES (?)", [(i,) for i in ids])
    last_id = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM anomalies").scalar()
    in_touched = f"a.id IN (SELECT id FROM {_BULK_IDS})"
    if ids:
        _sqlite_add_grouped(session, in_touched, -1)
        group_counts.take_away_sqlite(session, in_touched)
    connection.exec_driver_sql(f"INSERT INTO {PAUSED} (id) VALUES (1)")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"DELETE FROM {PAUSED}")
    # the rows written — those touched, and those inserted meanwhile (a range of rowids) — by
    # id: « touched OR inserted » made SQLite scan the whole table, once per statement below
    connection.exec_driver_sql(
        f"INSERT OR IGNORE INTO {_BULK_IDS} (id) SELECT id FROM anomalies WHERE id > {int(last_id)}"
    )
    _sqlite_add_grouped(session, in_touched, 1)
    group_counts.add_sqlite(session, in_touched)
    search_texts.add_sqlite(session, in_touched)
    connection.exec_driver_sql(f"DELETE FROM {_BULK_IDS}")
