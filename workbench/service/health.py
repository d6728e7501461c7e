"""Health of a running instance: the database answers and its schema is at the migrations' head."""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from workbench import PROJECT_DIR

logger = logging.getLogger(__name__)

_heads: tuple[str, ...] | None = None


def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with the code (read once)."""
    global _heads
    if _heads is None:
        config = Config()
        config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
        _heads = tuple(sorted(ScriptDirectory.from_config(config).get_heads()))
    return _heads


def migration_state(session: Session) -> dict[str, Any]:
    """The database's revision(s) against the code's head(s)."""
    context = MigrationContext.configure(session.connection())
    current = tuple(sorted(context.get_current_heads()))
    heads = migration_heads()
    return {
        "current": ",".join(current) or None,
        "head": ",".join(heads),
        "at_head": current == heads,
    }


def health(session: Session, *, detail: bool = True) -> dict[str, Any]:
    """``{"status": "ok"|"error", "database": ..., "migrations": ...}`` — never raises.

    ``detail=False`` (the public endpoint) leaves the error texts out: they go to the log.
    """
    started = time.perf_counter()
    report: dict[str, Any] = {"status": "ok"}
    try:
        session.execute(sa.text("SELECT 1"))
        report["database"] = {"reachable": True}
    except Exception as error:  # noqa: BLE001 - health reports any failure as data
        session.rollback()
        logger.error("Health check: database unreachable: %s", error)
        database: dict[str, Any] = {"reachable": False}
        if detail:
            database["error"] = str(error)[:200]
        report.update(status="error", database=database)
        return report
    try:
        state = migration_state(session)
    except Exception as error:  # noqa: BLE001
        session.rollback()
        logger.error("Health check: migrations unreadable: %s", error)
        report.update(status="error", migrations={"error": str(error)[:200] if detail else "?"})
        return report
    report["migrations"] = state
    if not state["at_head"]:
        report["status"] = "error"
    report["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report
