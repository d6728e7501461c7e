"""Read side of the journal: filtered listings, record history, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.models import AuditEntry
from workbench.audit.operations import HASHED_FIELDS
from workbench.core.csvsafe import safe_cell
from workbench.core.formatting import PARIS
from workbench.core.pagination import Page, paginate

#: The hashed content framed by the entry id and its chain hashes: enough to re-verify the chain.
EXPORT_COLUMNS = ("id", *HASHED_FIELDS, "prev_hash", "hash")


@dataclass
class JournalFilter:
    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def apply(self, stmt: sa.Select) -> sa.Select:
        if self.actor:
            stmt = stmt.where(AuditEntry.actor_email.ilike(f"%{self.actor}%"))
        if self.action:
            stmt = stmt.where(AuditEntry.action.startswith(self.action))
        if self.target_kind:
            stmt = stmt.where(AuditEntry.target_kind == self.target_kind)
        if self.target_id:
            stmt = stmt.where(AuditEntry.target_id == str(self.target_id))
        if self.since:
            start = dt.datetime.combine(self.since, dt.time(), tzinfo=PARIS)  # days in Paris
            stmt = stmt.where(AuditEntry.occurred_at >= start)
        if self.until:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)
            stmt = stmt.where(AuditEntry.occurred_at < end)
        return stmt


def journal_page(
    session: Session, filt: JournalFilter, page: int, per_page: int | None = None
) -> Page:
    """One page of the filtered journal, the latest first (``PAGE_SIZE`` entries by default)."""
    stmt = filt.apply(sa.select(AuditEntry)).order_by(AuditEntry.id.desc())
    return paginate(session, stmt, page, per_page)


def history_statement(target_kind: str, target_id: int) -> sa.Select:
    """A record's journal entries, oldest first."""
    return (
        sa.select(AuditEntry)
        .where(AuditEntry.target_kind == target_kind, AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.id)
    )


def record_history(session: Session, target_kind: str, target_id: int) -> list[AuditEntry]:
    return list(session.scalars(history_statement(target_kind, target_id)))


def write_journal_csv(session: Session, handle: IO[str], filt: JournalFilter) -> int:
    """Stream the filtered journal (oldest first) as CSV with its chain hashes."""
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    stmt = (
        filt.apply(sa.select(AuditEntry)).order_by(AuditEntry.id).execution_options(yield_per=2000)
    )
    count = 0
    for entry in session.scalars(stmt):
        row = []
        for column in EXPORT_COLUMNS:
            value = getattr(entry, column)
            if column in ("before", "after"):
                value = (
                    "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
                )
            elif isinstance(value, dt.datetime):
                value = value.astimezone(dt.UTC).isoformat()
            row.append(safe_cell("" if value is None else value))
        writer.writerow(row)
        count += 1
    return count
