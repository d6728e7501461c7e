"""The distinct texts a queue's search reads, per rule and group: ``anomaly_texts``.

A queue's search (``q``) keeps the anomalies whose ``group_key``, value or message holds the
text (:func:`workbench.review.queries.filter_clauses`). Nothing indexes a substring: over two
million anomalies, a region-wide search read every anomaly of every rule of the queue, and the
message of each from the table (the matrix queue searched « BIO »: a second). Yet those texts
repeat: 1.9 million anomalies have about 120,000 distinct combinations of (rule, group, group
key, value, message) — the 190,000 label-mismatch anomalies have 36.

``anomaly_texts`` holds each combination once (``group_key`` and value ``''`` for none: the
same to a search). It only grows — a superset of the combinations of every anomaly, whatever
its status: database triggers add the combination of an anomaly inserted or whose texts change,
whoever writes it; nothing is taken away when anomalies close or go (a combination no anomaly
has any more only makes a search read one group it did not need to). :func:`rebuild` trims it
with the counts (``workbench rules rebuild-counts``).

What a search learns from it, exactly:

- a rule with no matching combination has no matching anomaly: not read (:func:`matching_rules`);
- a group whose every combination matches has every anomaly matching: the group as searched is
  the group as kept in ``anomaly_group_counts`` (:func:`matched_groups`);
- a group with some matching combinations: its anomalies are read (a few index ranges).

The unique index that keeps one row per combination is the database's only (not the
metadata's): the columns themselves on SQLite; on PostgreSQL their ``md5`` (a b-tree entry holds
at most 2,704 bytes; a message or a value may be longer).

On PostgreSQL a search reads one column, ``haystack``, also the database's only: the three
texts joined by a unit separator (U+001F, which :func:`~workbench.review.queries.search_pattern`
takes out of every search, so that no search spans two texts) and folded by ``lower()`` once,
when the combination is stored (a generated column). A search is then one ``LIKE`` per
combination, not three ``lower()`` and three ``LIKE``: at 1M lines, over the 43,000 texts of
the articles queue, « yaourt » took 99 ms, 45 ms so. SQLite's ``LIKE`` folds case itself; it
reads the three columns.

- SQLite: row triggers, paused during a rule run's bulk writes like the counts' triggers
  (:func:`~workbench.rules.counts.counted_in_bulk`, which then adds the combinations of the
  rows it wrote in one statement, :func:`add_sqlite`);
- PostgreSQL: statement triggers over transition tables; a second writer of a combination not
  yet committed waits for the first, then adds nothing. One statement adds its combinations in
  one order; two transactions adding two new combinations in opposite orders, over several
  statements each, could still deadlock (one is rolled back), as with the maintained groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from workbench.db import DialectPredicate, any_of, like_ci, pattern_parameter
from workbench.rules.group_counts import RUNNING, drop_triggers, group_key_sql, refill
from workbench.rules.models import Anomaly, AnomalyText

TABLE = "anomaly_texts"
UNIQUE_INDEX = "ix_anomaly_texts_unique"
#: The anomaly columns a combination is made of (its group key reads the supplier too).
TRACKED = ("rule_code", "group_key", "value", "supplier_id", "message")
_COLUMNS = "rule_code, key, group_key, value, message"


def _combination(alias: str) -> str:
    """An anomaly's combination, as the table's columns, in SQL (``alias``: the row's name)."""
    a = alias
    return (
        f"{a}.rule_code, {group_key_sql(a)}, coalesce({a}.group_key, ''), "
        f"coalesce({a}.value, ''), coalesce({a}.message, '')"
    )


def _distinct(rows: str, where: str = "TRUE", alias: str = "r") -> str:
    """The combinations of the rows of ``rows`` matching ``where``, once each, in order."""
    return (
        f"SELECT DISTINCT {_combination(alias)} FROM {rows} AS {alias} WHERE {where} "
        "ORDER BY 1, 2, 3, 4, 5"
    )


def index_statements(dialect: str) -> tuple[str, ...]:
    """The unique index keeping one row per combination."""
    if dialect == "postgresql":
        columns = "rule_code, md5(key), md5(group_key), md5(value), md5(message)"
    else:
        columns = _COLUMNS
    return (f"CREATE UNIQUE INDEX {UNIQUE_INDEX} ON {TABLE} ({columns})",)


#: PostgreSQL: the texts a search reads, joined and folded once (see the module's docstring).
HAYSTACK = "haystack"
#: What joins them in ``haystack``: never part of a search.
SEPARATOR = "\x1f"


def column_statements(dialect: str) -> tuple[str, ...]:
    """The columns of the table that only the database has: ``haystack`` on PostgreSQL."""
    if dialect != "postgresql":
        return ()
    joined = " || chr(31) || ".join(("group_key", "value", "message"))
    return (
        f"ALTER TABLE {TABLE} ADD COLUMN {HAYSTACK} text "
        f"GENERATED ALWAYS AS (lower({joined})) STORED",
    )


def _sqlite_triggers() -> tuple[str, ...]:
    insert = f"INSERT OR IGNORE INTO {TABLE} ({_COLUMNS}) VALUES ({_combination('NEW')});"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in TRACKED)
    return (
        f"CREATE TRIGGER anomaly_texts_insert AFTER INSERT ON anomalies WHEN {RUNNING} "
        f"BEGIN {insert} END",
        f"CREATE TRIGGER anomaly_texts_update AFTER UPDATE OF {', '.join(TRACKED)} ON anomalies "
        f"WHEN {RUNNING} AND ({changed}) BEGIN {insert} END",
    )


def _pg_added(rows: str) -> str:
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_distinct(rows)} ON CONFLICT DO NOTHING;"


_PG_CHANGED = (
    "(SELECT x.* FROM new_rows AS x JOIN old_rows AS y ON y.id = x.id WHERE ("
    + ", ".join(f"x.{c}" for c in TRACKED)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"y.{c}" for c in TRACKED)
    + "))"
)

POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION anomaly_texts_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_pg_added('new_rows')} RETURN NULL; END $$",
    "CREATE FUNCTION anomaly_texts_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_pg_added(_PG_CHANGED)} RETURN NULL; END $$",
    "CREATE TRIGGER anomaly_texts_insert AFTER INSERT ON anomalies REFERENCING NEW TABLE AS "
    "new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_texts_insert()",
    "CREATE TRIGGER anomaly_texts_update AFTER UPDATE ON anomalies REFERENCING OLD TABLE AS "
    "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION anomaly_texts_update()",
)
_NAMES = ("insert", "update")


def trigger_statements(dialect: str) -> tuple[str, ...]:
    """The DDL creating the triggers that add the anomalies' combinations."""
    return POSTGRESQL_TRIGGERS if dialect == "postgresql" else _sqlite_triggers()


def drop_statements(dialect: str) -> tuple[str, ...]:
    return drop_triggers("anomaly_texts", _NAMES, dialect)


def rebuild_sql() -> str:
    """Every combination of the anomalies (the table emptied first)."""
    return f"INSERT INTO {TABLE} ({_COLUMNS}) {_distinct('anomalies')}"


def rebuild(session: Session) -> None:
    refill(session, TABLE, rebuild_sql())


def add_sqlite(session: Session, where: str) -> None:
    """Add the combinations of the anomalies ``a`` matching ``where`` (a bulk write's rows,
    written with the triggers paused). Every row offered, the unique index ignoring those
    already there: a third cheaper than sorting them distinct first (SQLite has one writer,
    no order to keep)."""
    session.connection().exec_driver_sql(
        f"INSERT OR IGNORE INTO {TABLE} ({_COLUMNS}) SELECT {_combination('a')} "
        f"FROM anomalies AS a WHERE {where}"
    )


# -- what a search learns --------------------------------------------------------------------------
class _Matches(DialectPredicate):
    """A combination matches a search pattern (see :func:`_matches`). Its pattern is a bound
    parameter of the statement's cache key: a searched page's statements are compiled once,
    not per request (three of them took 40 ms a request to compile)."""

    inherit_cache = True
    _traverse_internals = [("pattern", InternalTraversal.dp_clauseelement)]

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern_parameter(pattern)


@compiles(_Matches)
def _matches_columns(element: _Matches, compiler: Any, **kw: Any) -> str:
    t = AnomalyText
    either = sa.or_(*(like_ci(c, element.pattern) for c in (t.group_key, t.value, t.message)))
    return compiler.process(either.self_group(), **kw)


@compiles(_Matches, "postgresql")
def _matches_haystack(element: _Matches, compiler: Any, **kw: Any) -> str:
    haystack = sa.literal_column(f"{TABLE}.{HAYSTACK}", sa.Text)
    folded = sa.func.lower(element.pattern)
    return compiler.process(haystack.like(folded, escape="\\"), **kw)


def _matches(pattern: str) -> sa.ColumnElement[bool]:
    """A combination matches the search ``pattern`` (as an anomaly of it would): one of its
    three texts holds it (PostgreSQL: its ``haystack`` does; ``pattern`` holds no
    :data:`SEPARATOR`)."""
    return _Matches(pattern)


def matching_rules(session: Session, codes: Sequence[str], pattern: str) -> list[str]:
    """The rules of ``codes`` that may have anomalies matching ``pattern`` (a combination of
    theirs matches; one statement, stopping at each rule's first match)."""
    if not codes:
        return []
    t = AnomalyText
    found = [
        sa.select(t.id).where(t.rule_code == code, _matches(pattern)).exists() for code in codes
    ]
    row = session.execute(sa.select(*found)).one()
    return [code for code, hit in zip(codes, row, strict=True) if hit]


def matched_groups(codes: Sequence[str], pattern: str) -> sa.Select:
    """The groups of ``codes`` with a combination matching ``pattern``: (rule_code, key,
    whole) — ``whole`` when every combination of the group matches (every anomaly of it does)."""
    t = AnomalyText
    hit = sa.case((_matches(pattern), 1), else_=0)
    return (
        sa.select(t.rule_code, t.key, sa.func.min(hit).label("whole"))
        .where(t.rule_code.in_(list(codes)))
        .group_by(t.rule_code, t.key)
        .having(sa.func.max(hit) == 1)
    )


def hit_groups(codes: Sequence[str], pattern: str) -> sa.Select:
    """The groups of ``codes`` with a combination matching ``pattern``: (rule_code, key) — the
    groups of :func:`matched_groups`, found from the matching combinations alone (a selective
    search groups a few hundred, not every combination of the rules)."""
    t = AnomalyText
    return (
        sa.select(t.rule_code, t.key).where(t.rule_code.in_(list(codes)), _matches(pattern))
    ).distinct()


@dataclasses.dataclass(frozen=True)
class Hits:
    """What a precise search matches of the texts: the groups (rule, key), and the texts that
    single out their anomalies — the ``group_key`` of the matching combinations, and the
    values of those without one (``''``: a combination with neither)."""

    groups: tuple[tuple[str, str], ...]
    group_keys: tuple[str, ...]
    values: tuple[str, ...]
    #: The messages of the matching combinations.
    messages: tuple[str, ...] = ()
    #: Whether a view reads the anomalies by :meth:`anomalies` (few of them), or walks the
    #: rule, only testing :meth:`messages_clause` first.
    ranged: bool = True

    def messages_clause(self) -> sa.ColumnElement[bool]:
        """A matching anomaly's message is one of the matching combinations' (PostgreSQL: one
        hashed ``= ANY`` per anomaly read, tested before the search's three ``lower() LIKE``:
        the purchases searched « poulet » at two million anomalies, 172 → 54 ms a statement;
        SQLite: nothing, its search reads the message last, by id)."""
        return _MessageAmong(self.messages)

    def anomalies(self) -> sa.ColumnElement[bool]:
        """A superset of the anomalies matching the search, as a few index ranges: a matching
        anomaly has one of the matching combinations — its ``group_key`` among theirs, or
        none and its value among theirs (the search itself still decides)."""
        a = Anomaly
        parts: list[sa.ColumnElement[bool]] = []
        if self.group_keys:
            parts.append(any_of(a.group_key, self.group_keys))
        values = [v for v in self.values if v]  # sorted, as every field
        no_group_key = sa.or_(a.group_key.is_(None), a.group_key == "")
        if values:
            parts.append(sa.and_(no_group_key, any_of(a.value, values)))
        if "" in self.values:
            parts.append(sa.and_(no_group_key, sa.or_(a.value.is_(None), a.value == "")))
        return sa.or_(*parts) if parts else sa.false()


class _MessageAmong(DialectPredicate):
    """An anomaly's message (``''`` for none) is one of ``messages`` (see
    :meth:`Hits.messages_clause`)."""

    inherit_cache = False

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)


@compiles(_MessageAmong)
def _message_among_anywhere(element: _MessageAmong, compiler: Any, **kw: Any) -> str:
    return compiler.process(sa.true(), **kw)


@compiles(_MessageAmong, "postgresql")
def _message_among_array(element: _MessageAmong, compiler: Any, **kw: Any) -> str:
    message = sa.func.coalesce(Anomaly.message, "")
    return compiler.process(any_of(message, element.messages), **kw)


def precise_hits(session: Session, codes: Sequence[str], pattern: str, most: int) -> Hits | None:
    """The combinations of ``codes`` matching ``pattern``, when at most ``most`` do; None when
    more do (the read stops there: a broad search's matches come first)."""
    t = AnomalyText
    rows = session.execute(
        sa.select(t.rule_code, t.key, t.group_key, t.value, t.message)
        .where(t.rule_code.in_(list(codes)), _matches(pattern))
        .limit(most + 1)
    ).all()
    if len(rows) > most:
        return None
    return Hits(
        groups=tuple(sorted({(r.rule_code, r.key) for r in rows})),
        group_keys=tuple(sorted({r.group_key for r in rows if r.group_key})),
        values=tuple(sorted({r.value for r in rows if not r.group_key})),
        messages=tuple(sorted({r.message for r in rows})),
    )


def stored(session: Session) -> set[tuple[str, str, str, str, str]]:
    """Every combination stored (to compare with the anomalies' in tests and checks)."""
    t = AnomalyText
    rows = session.execute(sa.select(t.rule_code, t.key, t.group_key, t.value, t.message))
    return {tuple(r) for r in rows}  # type: ignore[misc]


def actual(session: Session) -> set[tuple[str, str, str, str, str]]:
    """Every combination of the anomalies, read from them."""
    rows = session.connection().exec_driver_sql(_distinct("anomalies"))
    return {tuple(r) for r in rows}  # type: ignore[misc]
