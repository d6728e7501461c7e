"""The secondary indexes of ``anomalies`` built once, after a bulk first fill (SQLite).

Writing hundreds of thousands of anomalies into a table with a dozen secondary indexes costs
one random B-tree insertion per row and index; building each index afterwards from one sort
costs a fraction of that. Measured on the 1M-line regional demo (381,669 anomalies, raw
``sqlite3``): 13.2 s to insert them with every index, against 1.3 s with the unique key only
plus 5.2 s to build the thirteen others (as many as there were before the index audit
of migration ``a20c0ffee020``; nine now).

A rule run over many purchase lines that starts on an (almost) empty ``anomalies`` table — the
first run after ``demo --no-rules``, the re-check of a first import on a new instance — drops
them inside its transaction and creates them again before it ends, from the very statements
``sqlite_master`` held (whatever migration made them), and the run analyses them. SQLite's DDL is transactional: a run
that fails and rolls back finds its indexes as they were; readers in WAL mode keep reading
their snapshot, indexes included. The unique key stays (the run's look-ups and ``ON
CONFLICT`` use it).

Not on PostgreSQL: ``DROP INDEX`` there locks the table against every reader until the commit,
so queue pages would wait for the whole import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

#: Lines a run must evaluate for the indexes to be rebuilt, not maintained.
DEFER_LINES = 50_000
#: Anomalies already in the table below which the rebuild is cheaper than maintenance.
DEFER_BELOW = 10_000
TABLE = "anomalies"
#: Partial indexes a run's bulk writes never (or barely) reach — it opens anomalies, closes a
#: few —: kept, not built again from a scan of the table.
KEPT = frozenset({"ix_anomalies_in_hand", "ix_anomalies_closed"})


def _bounded_count(session: Session, table: str, limit: int) -> int:
    return int(
        session.connection()
        .exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {int(limit)}) AS bounded"
        )
        .scalar()
        or 0
    )


def starts_small(session: Session, lines: int | None) -> bool:
    """Whether a run evaluating ``lines`` purchase lines (``None``: every line) is large and
    starts on an (almost) empty ``anomalies`` table (both databases)."""
    if lines is not None and lines < DEFER_LINES:
        return False
    if _bounded_count(session, TABLE, DEFER_BELOW) >= DEFER_BELOW:
        return False
    if lines is None:
        return _bounded_count(session, "purchase_lines", DEFER_LINES) >= DEFER_LINES
    return True


def secondary_indexes(session: Session, table: str = TABLE) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the non-unique indexes of ``table`` (SQLite)."""
    rows = session.connection().exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    )
    return [(name, sql) for name, sql in rows if sql.upper().startswith("CREATE INDEX ")]


@contextlib.contextmanager
def indexes_built_after(session: Session, small_start: bool) -> Iterator[bool]:
    """Around the writes of a run that :func:`starts_small`: on SQLite, the secondary indexes
    of ``anomalies`` are dropped, then created again on the way out, in the same transaction
    (the caller analyses the table). Yields whether they were."""
    if not small_start or session.connection().dialect.name != "sqlite":
        yield False
        return
    connection = session.connection()
    indexes = [(n, sql) for n, sql in secondary_indexes(session) if n not in KEPT]
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    try:
        yield True
    except BaseException:
        # the caller rolls back (which restores them); should it commit instead, they are back
        with contextlib.suppress(Exception):
            _create(session, indexes)
        raise
    _create(session, indexes)


def _create(session: Session, indexes: list[tuple[str, str]]) -> None:
    connection = session.connection()
    # the sorts of CREATE INDEX may use a helper thread (about a quarter quicker on two cores)
    connection.exec_driver_sql("PRAGMA threads = 2")
    try:
        for _name, sql in indexes:
            connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS " + sql[len("CREATE INDEX ") :])
    finally:
        connection.exec_driver_sql("PRAGMA threads = 0")
