"""Maintained counts of anomalies per (rule, status, owner role, lycée, direction).

Home tiles, queue totals and the rule catalogue read ``anomaly_counts`` (a few thousand rows at
most) instead of counting millions of anomalies on every page view. The database keeps it in
step, whoever writes the anomalies (rule runs in bulk, transitions, cascades), with triggers:

- SQLite: row triggers (cheap in-process upserts);
- PostgreSQL: statement-level triggers over transition tables (one grouped upsert per
  statement, so a bulk insert of two million anomalies costs one aggregate).

``site_id`` 0 and ``direction_code`` ``''`` stand for "none" (the key must be unique).
:func:`rebuild_counts` recomputes the table from scratch (after a restore, or to check it).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

COUNTS = "anomaly_counts"
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


SQLITE_TRIGGERS = (
    f"CREATE TRIGGER anomaly_counts_insert AFTER INSERT ON anomalies BEGIN "
    f"{_sqlite_add('NEW')} END",
    f"CREATE TRIGGER anomaly_counts_delete AFTER DELETE ON anomalies BEGIN "
    f"{_sqlite_remove('OLD')} END",
    "CREATE TRIGGER anomaly_counts_update AFTER UPDATE OF "
    f"{_KEY_SQL} ON anomalies WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEY)
    + f" BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
)
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


def trigger_statements(dialect: str) -> tuple[str, ...]:
    """The DDL creating the triggers that keep ``anomaly_counts`` in step."""
    return POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


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
