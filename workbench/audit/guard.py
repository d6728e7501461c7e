"""A change without its journal entry cannot commit.

Session events note, per transaction, whether an audited table was written (ORM flush or an
ORM-enabled bulk statement) and whether a journal entry was written. ``before_commit`` refuses
to commit the first without the second. Anomalies are derived data: their transitions are
journaled explicitly by the rules engine and the review operations, not checked here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

AUDITED_TABLES = frozenset(
    {
        "users",
        "account_requests",
        "user_sites",
        "sites",
        "directions",
        "nomenclature_items",
        "suppliers",
        "matrix_entries",
        "purchase_lines",
        "contracts",
        "contract_holders",
        "contract_modifications",
        "contract_subcontracting_modifications",
        "corrections",
        "rule_settings",
        "import_batches",
        "match_aliases",
        "match_rejections",
    }
)

CHANGED = "workbench_audited_change"
AUDITED = "workbench_audit_written"


class UnauditedChange(RuntimeError):
    """Raised at commit when audited tables changed but no journal entry was written."""


def mark_audited(session: Session) -> None:
    session.info[AUDITED] = True


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return table.name if table is not None else None


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _table_of(obj) in AUDITED_TABLES and (
            obj in session.new or obj in session.deleted or session.is_modified(obj)
        ):
            session.info[CHANGED] = _table_of(obj)
            return


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in AUDITED_TABLES:
        state.session.info[CHANGED] = name


def _before_commit(session: Session) -> None:
    session.flush()
    changed = session.info.get(CHANGED)
    if changed and not session.info.get(AUDITED):
        raise UnauditedChange(
            f"table {changed} changed without a journal entry in the same transaction"
        )


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
        session.info.pop(AUDITED, None)


_installed = False


def install_audit_guard() -> None:
    """Listen on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_transaction_end", _after_transaction_end)
    _installed = True


__all__ = ["AUDITED_TABLES", "UnauditedChange", "install_audit_guard", "mark_audited"]
