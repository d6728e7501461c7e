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

from collections.abc import Iterable, Sequence
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


class EgalimSummaryState(Base):
    """What the summary counted when it was last known complete (one row, ``id`` 1).

    A read compares it with the highest purchase line id (one index read) instead of counting
    a million lines: lines inserted without ``records_changed`` (a bulk load) raise that id,
    and the pages then sum the lines live until the summary is rebuilt. Purchase lines are
    never deleted. Concurrent writers may leave it behind: the pages then fall back to the
    live sums (correct, slower) until the next change or ``workbench indicators refresh``.
    """

    __tablename__ = "indicator_egalim_summary_state"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    max_line_id: Mapped[int] = mapped_column(sa.Integer)
    line_count: Mapped[int] = mapped_column(sa.Integer)


STATE = EgalimSummaryState.__table__


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
    _complete(session)
    if session.get_bind().dialect.name == "postgresql":  # fresh statistics for the planner
        session.execute(sa.text(f"ANALYZE {TABLE.name}"))


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
    """Whether the summary counts every line; records it in :class:`EgalimSummaryState`."""
    counted = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(TABLE.c.lines), 0))) or 0
    total, max_id = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(PurchaseLine.id), 0))
    ).one()
    complete = int(counted) == int(total)
    values = {"max_line_id": int(max_id) if complete else -1, "line_count": int(total)}
    if not session.execute(sa.update(STATE).where(STATE.c.id == 1).values(**values)).rowcount:
        session.execute(sa.insert(STATE).values(id=1, **values))
    return complete


def ensure(session: Session, region_code: str) -> bool:
    """Whether the summary can serve the figures: built, counting every line, same region.

    Cheap reads: the summary's totals (a few tens of thousands of rows), its recorded state
    and the highest purchase line id (an index). When it cannot serve, the caller sums the
    lines live (correct, slower); ``workbench indicators refresh`` or the next change of lines
    rebuilds it.
    """
    state = session.execute(sa.select(STATE.c.max_line_id, STATE.c.line_count)).first()
    if state is None or state.max_line_id < 0:
        return False
    counted, other_region = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(TABLE.c.lines), 0),
            sa.func.coalesce(sa.func.max(sa.case((TABLE.c.region_code != region_code, 1))), 0),
        )
    ).one()
    if not counted or other_region or int(counted) != state.line_count:
        return False
    max_id = session.scalar(sa.select(sa.func.max(PurchaseLine.id)))
    return int(max_id or 0) == state.max_line_id


def _filtered(stmt: sa.Select, user: User | None, filters: Any) -> sa.Select:
    """``stmt`` over the summary restricted to ``user``'s scope and ``filters`` (no supplier)."""
    from workbench.indicators.queries import scope

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
    return stmt


def read(session: Session, user: User | None, filters: Any) -> pd.DataFrame:
    """The summary rows within the user's scope and the filters (every line: excluded=0)."""
    from workbench.indicators.queries import GROUP_COLUMNS, SUM_COLUMNS

    stmt = sa.select(*[TABLE.c[c] for c in (*GROUP_COLUMNS, *SUM_COLUMNS)])
    result = session.execute(_filtered(stmt, user, filters))
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["excluded"] = 0
    return engine.normalise_aggregate(frame)


def parts(session: Session, user: User | None, filters: Any, keys: Sequence[str]) -> engine.Parts:
    """:func:`engine.parts_of` of every line (excluded=0), summed in SQL over the summary.

    One ``GROUP BY`` over at most a few tens of thousands of summary rows, returning one row
    per value of ``keys`` (a lycée, a month, a family...): what a page needs, nothing more.
    """
    amount = TABLE.c.amount_ht
    has_category = TABLE.c.category != ""
    meat_fish = TABLE.c.family.in_(engine.MEAT_AND_FISH)

    def when(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, amount), else_=0))

    dims = [TABLE.c[k] for k in keys]
    stmt = sa.select(
        *dims,
        sa.func.sum(TABLE.c.lines).label("lines"),
        sa.func.sum(amount).label("amount_ht"),
        when(TABLE.c.category == "BIO").label("bio"),
        when(has_category).label("egalim"),
        when(meat_fish).label("mf_total"),
        when(sa.and_(meat_fish, has_category)).label("mf_egalim"),
        *[
            sa.func.sum(TABLE.c[name]).label(name)
            for name in ("france_amount", "local_amount", "short_circuit_amount", "regional_amount")
        ],
    ).group_by(*dims)
    width = len(keys)
    return {
        (*row[:width], 0): [float(v or 0) for v in row[width:]]
        for row in session.execute(_filtered(stmt, user, filters))
    }


#: Groupings read from the summary in one query each; every page grouping is summed from one.
BASES: tuple[tuple[str, ...], ...] = (
    ("site_id", "year", "month"),
    ("family", "category", "local_definition"),
)


def parts_by_margin(
    session: Session, user: User | None, filters: Any, margins: dict[str, Sequence[str]]
) -> dict[str, engine.Parts]:
    """:func:`parts` of each grouping of ``margins``, in as few queries as :data:`BASES` allows.

    A grouping within a base (the lycée, the month: within lycée × month) is summed in Python
    from that base's rows (a thousand or so), exactly: sums add up.
    """
    read: dict[tuple[str, ...], engine.Parts] = {}
    result: dict[str, engine.Parts] = {}
    for name, keys in margins.items():
        base = next((b for b in BASES if set(keys) <= set(b)), tuple(keys))
        if base not in read:
            read[base] = parts(session, user, filters, base)
        result[name] = engine.regroup(read[base], base, keys)
    return result
