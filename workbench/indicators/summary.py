"""The EGalim summary table: purchase lines summed per (lycée, year, month, family, category...).

Kept up to date incrementally: every operation that changes purchase lines sends
``records_changed`` inside its transaction (imports, corrections, article mapping); the lycée-years
of those lines are summed again in the same transaction, so the summary commits (or rolls back)
with the change. A nomenclature or supplier change (family, supplier commune) rebuilds it all.

Two rollups of it are kept in the same transaction: per (lycée, year, month) with the sums
every figure needs (:class:`EgalimBySite`), and over the lycées per (year, month, family,
category, definition) (:class:`EgalimByKind`); a page reads the smallest table that can answer
(:func:`parts`).

The summary holds **every** line: the exclusion policy (open blocking anomalies) is applied at
read time from the blocked lines, which are few, so a rule run or a decision on an anomaly
never makes it stale. A read also checks (:func:`ensure`, without counting the lines) that the
summary is complete: otherwise the pages sum the lines live until it is rebuilt (a bulk load
that bypassed the signal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from workbench.auth.models import User
from workbench.db import Base, any_of, planner_setting
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


class EgalimBySite(Base):
    """The summary rolled up per (lycée, year, month), with the sums every figure needs.

    Kept with the summary (same transaction): the lycée table and the monthly trend of a page
    read a thousand rows or so of it instead of the summary's tens of thousands.
    """

    __tablename__ = "indicator_egalim_by_site"

    site_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    lines: Mapped[int] = mapped_column(sa.Integer)
    amount_ht: Mapped[float] = mapped_column(Sum)
    bio: Mapped[float] = mapped_column(Sum)
    egalim: Mapped[float] = mapped_column(Sum)
    mf_total: Mapped[float] = mapped_column(Sum)
    mf_egalim: Mapped[float] = mapped_column(Sum)
    france_amount: Mapped[float] = mapped_column(Sum)
    local_amount: Mapped[float] = mapped_column(Sum)
    short_circuit_amount: Mapped[float] = mapped_column(Sum)
    regional_amount: Mapped[float] = mapped_column(Sum)


class EgalimByKind(Base):
    """The summary rolled up over the lycées: per (year, month, family, category, definition).

    Serves the families, categories and local definitions of a region-wide view (no lycée or
    direction filter, a user who sees the region).
    """

    __tablename__ = "indicator_egalim_by_kind"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    family: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    local_definition: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    lines: Mapped[int] = mapped_column(sa.Integer)
    amount_ht: Mapped[float] = mapped_column(Sum)
    france_amount: Mapped[float] = mapped_column(Sum)
    local_amount: Mapped[float] = mapped_column(Sum)
    short_circuit_amount: Mapped[float] = mapped_column(Sum)
    regional_amount: Mapped[float] = mapped_column(Sum)


BY_SITE = EgalimBySite.__table__
BY_KIND = EgalimByKind.__table__
_SUMS = ("lines", "amount_ht", "france_amount", "local_amount", "short_circuit_amount",
         "regional_amount")  # fmt: skip


def _parts_columns(table: Any) -> list[Any]:
    """The :data:`engine.PARTS` sums over ``table`` (the summary, or a rollup that keeps them)."""
    if "bio" in table.c:
        return [sa.func.sum(table.c[name]).label(name) for name in engine.PARTS]
    amount = table.c.amount_ht
    has_category = table.c.category != ""
    meat_fish = table.c.family.in_(engine.MEAT_AND_FISH)

    def when(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, amount), else_=0))

    return [
        sa.func.sum(table.c.lines).label("lines"),
        sa.func.sum(amount).label("amount_ht"),
        when(table.c.category == "BIO").label("bio"),
        when(has_category).label("egalim"),
        when(meat_fish).label("mf_total"),
        when(sa.and_(meat_fish, has_category)).label("mf_egalim"),
        *[sa.func.sum(table.c[name]).label(name) for name in _SUMS[2:]],
    ]


def _roll_up(session: Session, site_years: Iterable[tuple[int, int]] | None = None) -> None:
    """Sum the rollups again from the summary: everything, or the given (lycée, year)s."""
    by_site = sa.select(TABLE.c.site_id, TABLE.c.year, TABLE.c.month, *_parts_columns(TABLE))
    by_kind_keys = [TABLE.c[k] for k in ("year", "month", "family", "category", "local_definition")]
    by_kind = sa.select(*by_kind_keys, *[sa.func.sum(TABLE.c[n]).label(n) for n in _SUMS])
    site_cols = ["site_id", "year", "month", *engine.PARTS]
    kind_cols = ["year", "month", "family", "category", "local_definition", *_SUMS]
    if site_years is None:
        session.execute(sa.delete(BY_SITE))
        session.execute(sa.delete(BY_KIND))
        session.execute(
            sa.insert(BY_SITE).from_select(
                site_cols, by_site.group_by(TABLE.c.site_id, TABLE.c.year, TABLE.c.month)
            )
        )
        session.execute(sa.insert(BY_KIND).from_select(kind_cols, by_kind.group_by(*by_kind_keys)))
        return
    pairs = sorted(set(site_years))
    for site_id, year in pairs:
        session.execute(
            sa.delete(BY_SITE).where(BY_SITE.c.site_id == site_id, BY_SITE.c.year == year)
        )
        stmt = by_site.where(TABLE.c.site_id == site_id, TABLE.c.year == year)
        session.execute(
            sa.insert(BY_SITE).from_select(
                site_cols, stmt.group_by(TABLE.c.site_id, TABLE.c.year, TABLE.c.month)
            )
        )
    for year in sorted({y for _, y in pairs}):
        # shared by every lycée: serialised per year (after the lock, the statement sees what
        # the other writers committed)
        _lock(session, -int(year))
        session.execute(sa.delete(BY_KIND).where(BY_KIND.c.year == year))
        stmt = by_kind.where(TABLE.c.year == year).group_by(*by_kind_keys)
        session.execute(sa.insert(BY_KIND).from_select(kind_cols, stmt))


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


def _hashed(session: Session) -> Any:
    """Around a rebuild's inserts (set once, not per lycée-year): a few thousand groups,
    estimated at one per line, hashed rather than sorted on disk (half the time of a full
    rebuild on PostgreSQL)."""
    return planner_setting(session, "enable_sort", "off")


def rebuild_all(session: Session, region_code: str | None = None) -> None:
    region_code = region_code or _region_code()
    _lock(session, 0)
    session.execute(sa.delete(TABLE))
    with _hashed(session):
        _insert(session, region_code)
    _roll_up(session)
    _complete(session)
    if session.get_bind().dialect.name == "postgresql":  # fresh statistics for the planner
        for table in (TABLE, BY_SITE, BY_KIND):
            session.execute(sa.text(f"ANALYZE {table.name}"))


def rebuild_site_years(
    session: Session, site_years: Iterable[tuple[int, int]], region_code: str | None = None
) -> None:
    """Sum again the lines of each (lycée, year)."""
    import datetime as dt

    region_code = region_code or _region_code()
    pairs = sorted(set(site_years))
    with _hashed(session):
        for site_id, year in pairs:
            _lock(session, int(site_id))
            session.execute(
                sa.delete(TABLE).where(TABLE.c.site_id == site_id, TABLE.c.year == year)
            )
            _insert(
                session,
                region_code,
                sa.and_(
                    PurchaseLine.site_id == site_id,
                    PurchaseLine.line_date >= dt.date(year, 1, 1),
                    PurchaseLine.line_date < dt.date(year + 1, 1, 1),
                ),
            )
    _roll_up(session, pairs)


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
            sa.select(PurchaseLine.site_id, year).where(any_of(PurchaseLine.id, batch)).distinct()
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

    Cheap reads: the summary's totals (a few tens of thousands of rows) and its rollups', its
    recorded state and the highest purchase line id (an index). When it cannot serve, the caller sums the
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
    rolled = session.execute(
        sa.select(
            sa.select(sa.func.coalesce(sa.func.sum(BY_SITE.c.lines), 0)).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(BY_KIND.c.lines), 0)).scalar_subquery(),
        )
    ).one()
    if any(int(n) != int(counted) for n in rolled):
        return False
    max_id = session.scalar(sa.select(sa.func.max(PurchaseLine.id)))
    return int(max_id or 0) == state.max_line_id


def _filtered(stmt: sa.Select, user: User | None, filters: Any, table: Any = TABLE) -> sa.Select:
    """``stmt`` over ``table`` (the summary or a rollup) within ``user``'s scope and ``filters``."""
    from workbench.indicators.queries import scope

    stmt = scope(stmt, user, "egalim_summary", table)
    if filters.year is not None:
        stmt = stmt.where(table.c.year == filters.year)
        if filters.until_month:
            stmt = stmt.where(table.c.month <= filters.until_month)
    if filters.site_id is not None:
        stmt = stmt.where(table.c.site_id == filters.site_id)
    if filters.direction_code:
        stmt = stmt.where(
            table.c.site_id.in_(
                sa.select(Site.id).where(Site.direction_code == filters.direction_code)
            )
        )
    if filters.family:
        stmt = stmt.where(table.c.family == filters.family)
    return stmt


def _source(user: User | None, filters: Any, keys: Sequence[str]) -> Any:
    """The smallest of the summary and its rollups that has ``keys`` and the filters' columns."""
    from workbench.auth.models import Role

    needed = set(keys)
    if filters.site_id is not None or filters.direction_code:
        needed.add("site_id")
    if user is not None and user.role == Role.CANTEEN:
        needed.add("site_id")  # its scope is a list of lycées
    if filters.family:
        needed.add("family")
    for table in (BY_SITE, BY_KIND):
        if needed <= set(table.c.keys()):
            return table
    return TABLE


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

    One ``GROUP BY`` over the smallest table that can answer (:func:`_source`: a rollup of a
    thousand rows or so for a region-wide view, the summary rows of the lycées otherwise),
    returning one row per value of ``keys`` (a lycée, a month, a family...).
    """
    table = _source(user, filters, keys)
    dims = [table.c[k] for k in keys]
    stmt = sa.select(*dims, *_parts_columns(table)).group_by(*dims)
    width = len(keys)
    return {
        (*row[:width], 0): [float(v or 0) for v in row[width:]]
        for row in session.execute(_filtered(stmt, user, filters, table))
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
