"""The EGalim summary table: purchase lines summed per (lycée, year, month, family, category...).

Kept up to date incrementally: every operation that changes purchase lines sends
``records_changed`` inside its transaction (imports, corrections, article mapping); the lycée-years
of those lines are summed again in the same transaction, so the summary commits (or rolls back)
with the change. A nomenclature or supplier change (family, supplier commune) rebuilds it all.

The summary holds **every** line: the exclusion policy (open blocking anomalies) is applied at
read time from the blocked lines, which are few, so a rule run or a decision on an anomaly
never makes it stale. A read also checks that the summary counts as many lines as the table
(a bulk load that bypassed the signal triggers a rebuild).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from workbench.auth.models import User
from workbench.db import Base
from workbench.indicators import engine
from workbench.records.models import PurchaseLine
from workbench.reference.models import Site

#: Above this many changed lines, the whole summary is rebuilt (one pass) rather than per lycée-year.
FULL_REBUILD_LINES = 50_000
ID_BATCH = 5_000
Sum = sa.Numeric(16, 2, asdecimal=False)


class EgalimSummary(Base):
    """Sums of the purchase lines of one (lycée, year, month, family, category, local definition)."""

    __tablename__ = "indicator_egalim_summary"

    site_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    family: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    local_definition: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    #: REGION_CODE the regional amount was computed with (a change of setting rebuilds).
    region_code: Mapped[str] = mapped_column(sa.String(3))
    lines: Mapped[int] = mapped_column(sa.Integer)
    amount_ht: Mapped[float] = mapped_column(Sum)
    france_amount: Mapped[float] = mapped_column(Sum)
    local_amount: Mapped[float] = mapped_column(Sum)
    short_circuit_amount: Mapped[float] = mapped_column(Sum)
    regional_amount: Mapped[float] = mapped_column(Sum)


TABLE = EgalimSummary.__table__


def _region_code() -> str:
    from flask import current_app

    return str(current_app.config.get("REGION_CODE", "53"))


def _lock(session: Session, key: int) -> None:
    """On PostgreSQL, serialise rebuilds of the same lycée (transaction-scoped advisory lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(12012, :k)"), {"k": key})


def _insert(session: Session, region_code: str, where: Any = None) -> None:
    from workbench.indicators.queries import GROUP_COLUMNS, SUM_COLUMNS, grouped, line_select

    inner = line_select(region_code)
    if where is not None:
        inner = inner.where(where)
    stmt = grouped(inner).add_columns(sa.literal(region_code).label("region_code"))
    session.execute(
        sa.insert(TABLE).from_select([*GROUP_COLUMNS, *SUM_COLUMNS, "region_code"], stmt)
    )


def rebuild_all(session: Session, region_code: str | None = None) -> None:
    region_code = region_code or _region_code()
    _lock(session, 0)
    session.execute(sa.delete(TABLE))
    _insert(session, region_code)


def rebuild_site_years(
    session: Session, site_years: Iterable[tuple[int, int]], region_code: str | None = None
) -> None:
    """Sum again the lines of each (lycée, year)."""
    import datetime as dt

    region_code = region_code or _region_code()
    for site_id, year in sorted(set(site_years)):
        _lock(session, int(site_id))
        session.execute(sa.delete(TABLE).where(TABLE.c.site_id == site_id, TABLE.c.year == year))
        _insert(
            session,
            region_code,
            sa.and_(
                PurchaseLine.site_id == site_id,
                PurchaseLine.line_date >= dt.date(year, 1, 1),
                PurchaseLine.line_date < dt.date(year + 1, 1, 1),
            ),
        )


def on_records_changed(
    session: Session, record_kind: str = "", record_ids: list[int] | None = None, **_: Any
) -> None:
    """Receiver of ``records_changed``: keep the summary in step, in the same transaction.

    The first change of purchase lines builds it (e.g. the first import); later ones sum again
    only the lycée-years they touch, unless the summary no longer counts every line.
    """
    if record_kind in ("nomenclature_item", "supplier"):
        if _built(session):
            rebuild_all(session)
        return
    if record_kind != "purchase_line":
        return
    if record_ids is None or len(record_ids) > FULL_REBUILD_LINES or not _built(session):
        rebuild_all(session)
        return
    year = sa.extract("year", PurchaseLine.line_date)
    found: set[tuple[int, int]] = set()
    ids = list(record_ids)
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start : start + ID_BATCH]
        rows = session.execute(
            sa.select(PurchaseLine.site_id, year).where(PurchaseLine.id.in_(batch)).distinct()
        )
        found.update((int(s), int(y)) for s, y in rows if y is not None)
    # a corrected date or lycée moves a line: the lycée's other years are summed again too
    sites = {s for s, _ in found}
    if sites:
        stored = session.execute(
            sa.select(TABLE.c.site_id, TABLE.c.year).where(TABLE.c.site_id.in_(sites)).distinct()
        )
        found.update((int(s), int(y)) for s, y in stored)
    rebuild_site_years(session, found)
    if not _complete(session):  # lines loaded without the signal: start again from the table
        rebuild_all(session)


def _built(session: Session) -> bool:
    return session.scalar(sa.select(sa.exists().where(TABLE.c.lines > 0))) or False


def _complete(session: Session) -> bool:
    counted = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(TABLE.c.lines), 0))) or 0
    total = session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) or 0
    return int(counted) == int(total)


def ensure(session: Session, region_code: str) -> bool:
    """Whether the summary can serve the figures: built, counting every line, same region.

    When it cannot, the caller sums the lines live (correct, slower); ``workbench indicators
    refresh`` or the next change of purchase lines rebuilds it.
    """
    if not _built(session) or not _complete(session):
        return False
    return not session.scalar(sa.select(sa.exists().where(TABLE.c.region_code != region_code)))


def read(session: Session, user: User | None, filters: Any) -> pd.DataFrame:
    """The summary rows within the user's scope and the filters (every line: excluded=0)."""
    from workbench.indicators.queries import GROUP_COLUMNS, SUM_COLUMNS, scope

    stmt = sa.select(*[TABLE.c[c] for c in (*GROUP_COLUMNS, *SUM_COLUMNS)])
    stmt = scope(stmt, user, "egalim_summary")
    if filters.year is not None:
        stmt = stmt.where(TABLE.c.year == filters.year)
        if filters.until_month:
            stmt = stmt.where(TABLE.c.month <= filters.until_month)
    if filters.site_id is not None:
        stmt = stmt.where(TABLE.c.site_id == filters.site_id)
    if filters.direction_code:
        stmt = stmt.where(
            TABLE.c.site_id.in_(
                sa.select(Site.id).where(Site.direction_code == filters.direction_code)
            )
        )
    if filters.family:
        stmt = stmt.where(TABLE.c.family == filters.family)
    result = session.execute(stmt)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["excluded"] = 0
    return engine.normalise_aggregate(frame)
