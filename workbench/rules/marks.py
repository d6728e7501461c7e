"""What a full run of the purchase rules can leave alone: the lycées whose lines did not change.

A purchase rule's verdict on a line depends on that line, on the other lines of the same lycée
(and day), on the small tables (suppliers, matrix, nomenclature…), on the rules' settings and
code, and — for a rule that says so (``reads_today``) — on the date. A full run therefore
re-evaluates only:

- every lycée, when the **signature** of the small tables, the settings, the code (the
  application's source) and the date (:func:`signature`) differs from the last full run's
  (``rule_runs.purchase_signature``);
- else the lycées **marked** in ``rule_site_marks`` since: the database marks them itself, with
  triggers, whoever writes (imports, mappings, corrections, ORM flushes, raw SQL): a purchase
  line inserted, updated or deleted marks its lycée (both lycées when it moves); an anomaly of a
  purchase line deleted marks the line's lycée (its verdict has to be written again).

The run consumes the marks it read, by version: on PostgreSQL a trigger bumps the version of a
mark it finds, so a lycée changed during the run (a concurrent import) keeps its mark for the
next run. SQLite has one writer, which the run is: its triggers only add missing marks
(``INSERT OR IGNORE``, the cheapest per-row trigger).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.rules.models import RuleSiteMark
from workbench.rules.registry import RuleView

MARKS = RuleSiteMark.__table__

_SQLITE_MARK = "INSERT OR IGNORE INTO rule_site_marks (site_id, version) VALUES ({}.site_id, 1);"
SQLITE_TRIGGERS = (
    "CREATE TRIGGER rule_site_marks_line_insert AFTER INSERT ON purchase_lines BEGIN "
    + _SQLITE_MARK.format("NEW")
    + " END",
    "CREATE TRIGGER rule_site_marks_line_delete AFTER DELETE ON purchase_lines BEGIN "
    + _SQLITE_MARK.format("OLD")
    + " END",
    "CREATE TRIGGER rule_site_marks_line_update AFTER UPDATE ON purchase_lines BEGIN "
    + _SQLITE_MARK.format("OLD")
    + " "
    + _SQLITE_MARK.format("NEW")
    + " END",
    "CREATE TRIGGER rule_site_marks_anomaly_delete AFTER DELETE ON anomalies WHEN "
    "OLD.record_kind = 'purchase_line' AND OLD.site_id IS NOT NULL BEGIN "
    + _SQLITE_MARK.format("OLD")
    + " END",
)
SQLITE_DROP = tuple(
    f"DROP TRIGGER IF EXISTS rule_site_marks_{name}"
    for name in ("line_insert", "line_delete", "line_update", "anomaly_delete")
)


def _pg_mark(select: str) -> str:
    # sorted: concurrent statements lock the marks in one order
    return (
        f"INSERT INTO rule_site_marks AS m (site_id, version) SELECT s.site_id, 1 FROM ({select}) "
        "AS s ORDER BY s.site_id ON CONFLICT (site_id) DO UPDATE SET version = m.version + 1;"
    )


_PG_FUNCTIONS = {
    "line_new": _pg_mark("SELECT DISTINCT site_id FROM new_rows"),
    "line_old": _pg_mark("SELECT DISTINCT site_id FROM old_rows"),
    "line_moved": _pg_mark("SELECT site_id FROM old_rows UNION SELECT site_id FROM new_rows"),
    "anomaly_old": _pg_mark(
        "SELECT DISTINCT site_id FROM old_rows WHERE record_kind = 'purchase_line' "
        "AND site_id IS NOT NULL"
    ),
}
POSTGRESQL_TRIGGERS = (
    *(
        f"CREATE FUNCTION rule_site_marks_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
        for name, body in _PG_FUNCTIONS.items()
    ),
    "CREATE TRIGGER rule_site_marks_line_insert AFTER INSERT ON purchase_lines REFERENCING NEW "
    "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rule_site_marks_line_new()",
    "CREATE TRIGGER rule_site_marks_line_delete AFTER DELETE ON purchase_lines REFERENCING OLD "
    "TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rule_site_marks_line_old()",
    "CREATE TRIGGER rule_site_marks_line_update AFTER UPDATE ON purchase_lines REFERENCING OLD "
    "TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
    "rule_site_marks_line_moved()",
    "CREATE TRIGGER rule_site_marks_anomaly_delete AFTER DELETE ON anomalies REFERENCING OLD "
    "TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rule_site_marks_anomaly_old()",
)
POSTGRESQL_DROP = (
    *(
        f"DROP TRIGGER IF EXISTS rule_site_marks_{name} ON {table}"
        for name, table in (
            ("line_insert", "purchase_lines"),
            ("line_delete", "purchase_lines"),
            ("line_update", "purchase_lines"),
            ("anomaly_delete", "anomalies"),
        )
    ),
    *(f"DROP FUNCTION IF EXISTS rule_site_marks_{name}()" for name in _PG_FUNCTIONS),
)


def trigger_statements(dialect: str) -> tuple[str, ...]:
    """The DDL of the triggers that mark changed lycées."""
    return POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


def drop_statements(dialect: str) -> tuple[str, ...]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


# -- reading and consuming -----------------------------------------------------------------------
def read(session: Session) -> dict[int, int]:
    """``{site_id: version}`` of the marked lycées."""
    rows = session.connection().execute(sa.select(MARKS.c.site_id, MARKS.c.version))
    return {int(site): int(version) for site, version in rows}


def consume(session: Session, marks: dict[int, int]) -> None:
    """Remove the marks read (``{site_id: version}``) that no change bumped since. A mark locked
    by a concurrent transaction (its lycée changing now) is skipped, not waited for: it stays
    for the next run (``SKIP LOCKED`` on PostgreSQL; SQLite has one writer)."""
    if not marks:
        return
    locked = (
        sa.select(MARKS.c.site_id)
        .where(MARKS.c.site_id == sa.bindparam("site"), MARKS.c.version == sa.bindparam("version"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    session.connection().execute(
        sa.delete(MARKS).where(MARKS.c.site_id == locked),
        [{"site": site, "version": version} for site, version in marks.items()],
    )


# -- the signature of everything else ----------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _file_digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _package_digest() -> str:
    """The application's source (the rules, the helpers and constants they import, the
    engine): after a deployment, the first whole run evaluates every lycée."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(_file_digest(str(path), path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def _code_identity(rule: type) -> str:
    """The rule's check function (a replaced one counts as other code) and its module."""
    check = rule.check
    return f"{check.__module__}.{check.__qualname__}:{check.__code__.co_code.hex()}"


def _frame_digest(frame: pd.DataFrame) -> str:
    text = frame.astype(str)
    hashed = pd.util.hash_pandas_object(text, index=False).to_numpy()
    return hashlib.sha256(json.dumps(list(frame.columns)).encode() + hashed.tobytes()).hexdigest()


def signature(views: Sequence[RuleView], small: dict[str, pd.DataFrame], today: dt.date) -> str:
    """A digest of what a purchase rule reads besides the purchase lines: the rules (code,
    enabled, parameters, code), the small tables as loaded, and the date for a rule that reads
    it."""
    parts: list[Any] = [_package_digest()]
    for view in sorted(views, key=lambda v: v.code):
        parts.append(
            [
                view.code,
                view.enabled,
                json.dumps(view.params, sort_keys=True, default=str),
                _code_identity(view.rule),
            ]
        )
    for name in sorted(small):
        parts.append([name, _frame_digest(small[name])])
    if any(v.rule.reads_today for v in views):
        parts.append(["today", today.isoformat()])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
