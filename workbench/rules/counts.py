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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session

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


def _sqlite_add(alias: str) -> str:
    return (
        f"INSERT INTO {COUNTS} ({_KEY_SQL}, n) VALUES ({_key_of(alias)}, 1) "
        f"ON CONFLICT ({_KEY_SQL}) DO UPDATE SET n = n + 1;"
    )


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


_PG_ADD = (
    f"INSERT INTO {COUNTS} AS c ({_KEY_SQL}, n) {_pg_grouped('new_rows')} "
    f"ON CONFLICT ({_KEY_SQL}) DO UPDATE SET n = c.n + excluded.n;"
)
_PG_REMOVE = (
    f"UPDATE {COUNTS} AS c SET n = c.n - o.n FROM ({_pg_grouped('old_rows')}) AS o("
    f"{_KEY_SQL}, n) WHERE " + " AND ".join(f"c.{k} = o.{k}" for k in KEY) + ";"
)
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
    """Recompute ``anomaly_counts`` from the anomalies (one grouped INSERT … SELECT)."""
    connection = session.connection()
    connection.exec_driver_sql(f"DELETE FROM {COUNTS}")
    connection.exec_driver_sql(rebuild_counts_sql())


def stored_counts(session: Session) -> dict[tuple, int]:
    """``{key: n}`` of the non-zero rows of ``anomaly_counts`` (to compare with a recount)."""
    rows = session.connection().exec_driver_sql(f"SELECT {_KEY_SQL}, n FROM {COUNTS} WHERE n <> 0")
    return {tuple(r[:5]): int(r[5]) for r in rows}


# -- bulk writes on SQLite ------------------------------------------------------------------------
_BULK_IDS = "anomaly_bulk_ids"


def _sqlite_add_grouped(session: Session, where: str, sign: int) -> None:
    session.connection().exec_driver_sql(
        f"INSERT INTO {COUNTS} ({_KEY_SQL}, n) SELECT {_key_of('a')}, {sign} * count(*) "
        f"FROM anomalies AS a WHERE {where} GROUP BY 1, 2, 3, 4, 5 "
        f"ON CONFLICT ({_KEY_SQL}) DO UPDATE SET n = n + excluded.n"
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
    connection.exec_driver_sql(f"INSERT INTO {PAUSED} (id) VALUES (1)")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"DELETE FROM {PAUSED}")
    _sqlite_add_grouped(session, f"({in_touched} OR a.id > {int(last_id)})", 1)
    connection.exec_driver_sql(f"DELETE FROM {_BULK_IDS}")
