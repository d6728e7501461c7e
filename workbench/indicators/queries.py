"""Loading the figures behind the indicators, within the user's scope, aggregated in SQL.

EGalim: the page's groupings (lycée, month, family, category, local definition) are summed in
SQL over the summary table (:func:`egalim_margins`), less the lines under an open blocking
anomaly; without the summary (or with a supplier filter), one ``GROUP BY`` over the purchase
lines. The "before corrections" figures add the difference made by the corrected lines only
(:func:`egalim_before_margins`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.indicators import engine
from workbench.records.access import scope_clause
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import NomenclatureItem, Site, Supplier
from workbench.review.models import Correction
from workbench.rules.models import ACTIVE_BLOCKING_WHERE, Anomaly

LINE_FIELDS = ("labels", "origin", "family", "nomenclature_code", "amount_ht")

#: "The contract's amount" in every SPASER figure (marché: montant; concession: valeurGlobale),
#: after its modifications: the current amount kept by the import, else the initial one.
contract_amount = sa.func.coalesce(Contract.current_amount, Contract.amount)


@dataclasses.dataclass(frozen=True)
class Filters:
    """Filters of an indicator page or command (``None``: no restriction)."""

    year: int | None = None
    #: Year to date: only months 1..``until_month`` of ``year``.
    until_month: int | None = None
    site_id: int | None = None
    direction_code: str | None = None
    family: str | None = None
    supplier_id: int | None = None
    #: SPASER: two-digit CPV division (purchase domain).
    domain: str | None = None

    def key(self) -> tuple[Any, ...]:
        return dataclasses.astuple(self)


def _frame(session: Session, stmt: sa.Select) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


# -- scope: the one place where rows are restricted to what the user may see --------------------
def scope(stmt: sa.Select, user: User | None, kind: str, table: Any = None) -> sa.Select:
    """Restrict ``stmt`` (over purchase lines or contracts) to ``user``'s scope.

    ``user`` None is the public observatory: the whole region, published figures only.
    """
    if user is None:
        return stmt
    if kind == "egalim_summary":  # ``table``: the summary or one of its rollups
        from workbench.indicators.summary import TABLE

        # per-lycée sums of purchase lines: read as the lines themselves are
        clause = scope_clause("purchase_line", user, figures=True)
        if user.role == Role.CANTEEN:
            clause = (TABLE if table is None else table).c.site_id.in_(user.site_ids or {-1})
        return stmt.where(clause)
    return stmt.where(scope_clause(kind, user, figures=True))


def blocked_ids(kind: str) -> sa.Select:
    """Ids of the records of ``kind`` under an open (active) blocking anomaly.

    The condition is the literal text of the partial index ``ix_anomalies_active_blocking``
    (SQLite uses a partial index only when the query repeats its condition, not parameters).
    """
    return (
        sa.select(Anomaly.record_id)
        # ``record_kind || ''``: no index seeks on it. SQLite's sampled statistics
        # (``analysis_limit``) can rate ``ix_anomalies_record`` at a few hundred rows per kind;
        # it then walked every anomaly of the kind (380,000 at the Region's scale, 100 ms)
        # instead of the few thousand entries of the partial index
        .where((Anomaly.record_kind + "") == kind, sa.text(ACTIVE_BLOCKING_WHERE))
        .distinct()
    )


def data_stamp(session: Session) -> tuple[Any, ...]:
    """Changes whenever a figure may change, read from two primary keys (cheap at any size).

    Every change of data or of an anomaly's status by a person is journaled (the audit guard
    refuses unjournaled changes), and rule runs add anomalies; a rule run that only closes or
    reopens anomalies is caught by the cache's time limit (:data:`reports.CACHE_SECONDS`).
    """
    from workbench.audit.models import AuditEntry

    return (
        session.scalar(sa.select(sa.func.max(AuditEntry.id))),
        session.scalar(sa.select(sa.func.max(Anomaly.id))),
    )


# -- EGalim -------------------------------------------------------------------------------------
def _has_code(column: Any, code: str) -> Any:
    return (sa.literal(",") + sa.func.coalesce(column, "") + sa.literal(",")).like(f"%,{code},%")


def category_expression() -> Any:
    """SQL twin of :func:`engine.egalim_category` (labels are stored normalised: ``BIO,HVE``)."""
    whens = [
        (sa.or_(*[_has_code(PurchaseLine.labels, code) for code in codes]), category)
        for category, codes in engine.EGALIM_PRIORITY
    ]
    return sa.case(*whens, else_=sa.null())


def family_expression() -> Any:
    return sa.func.coalesce(NomenclatureItem.family, PurchaseLine.family, "AUTRES")


def region_departments(region_code: str) -> tuple[str, ...]:
    return engine.REGION_DEPARTMENTS.get(str(region_code), ())


def _line_filters(
    stmt: sa.Select, filters: Filters, by_key: bool = False, session: Session | None = None
) -> sa.Select:
    """``stmt`` over purchase lines restricted to ``filters``.

    ``by_key``: the lines are already chosen by primary key (a few thousand blocked or
    corrected lines); the filters are then written so that no index applies to them
    (``coalesce(c, c)``) and a direction is the list of its lycées (read first with
    ``session``), or the planner would walk every line of the lycées or dates (SQLite), or
    loop over the lycées around the key lookups (PostgreSQL), instead of reading those keys.
    """

    def plain(column: Any) -> Any:
        return sa.func.coalesce(column, column) if by_key else column

    line_date, site_id = plain(PurchaseLine.line_date), plain(PurchaseLine.site_id)
    if filters.year is not None:
        start = dt.date(filters.year, 1, 1)
        end = (
            dt.date(filters.year + (filters.until_month == 12), filters.until_month % 12 + 1, 1)
            if filters.until_month
            else dt.date(filters.year + 1, 1, 1)
        )
        stmt = stmt.where(line_date >= start, line_date < end)
    if filters.site_id is not None:
        stmt = stmt.where(site_id == filters.site_id)
    if filters.direction_code:
        if by_key:
            sites = sa.select(Site.id).where(Site.direction_code == filters.direction_code)
            listed = [int(i) for i in session.scalars(sites)] if session is not None else None
            stmt = stmt.where(site_id.in_(listed if listed is not None else sites))
        else:
            stmt = stmt.where(Site.direction_code == filters.direction_code)
    if filters.supplier_id is not None:
        stmt = stmt.where(plain(PurchaseLine.supplier_id) == filters.supplier_id)
    if filters.family:
        stmt = stmt.where(family_expression() == filters.family)
    return stmt


def line_select(region_code: str) -> sa.Select:
    """One row per purchase line with the dimensions and flags the EGalim figures need."""
    amount = sa.func.coalesce(PurchaseLine.amount_ht, 0)
    departments = region_departments(region_code)
    is_france = sa.or_(
        sa.func.upper(sa.func.coalesce(PurchaseLine.origin, "")).like("%FRANCE%"),
        _has_code(PurchaseLine.labels, "FRANCE"),
    )
    is_local = sa.or_(PurchaseLine.is_local.is_(True), _has_code(PurchaseLine.labels, "LOCAL"))
    is_short = sa.or_(
        PurchaseLine.is_short_circuit.is_(True), _has_code(PurchaseLine.labels, "CIRCUIT_COURT")
    )
    is_regional = (
        sa.func.substr(Supplier.commune_code, 1, 2).in_(departments) if departments else sa.false()
    )
    local_definition = sa.case(
        (is_local, sa.func.coalesce(PurchaseLine.local_definition, engine.UNDEFINED_LOCAL)),
        else_="",
    )
    flag = lambda condition: sa.case((condition, 1), else_=0)  # noqa: E731
    return (
        sa.select(
            sa.extract("year", PurchaseLine.line_date).label("year"),
            sa.extract("month", PurchaseLine.line_date).label("month"),
            PurchaseLine.site_id.label("site_id"),
            family_expression().label("family"),
            sa.func.coalesce(category_expression(), "").label("category"),
            local_definition.label("local_definition"),
            amount.label("amount"),
            flag(is_france).label("is_france"),
            flag(is_local).label("is_local"),
            flag(is_short).label("is_short"),
            flag(is_regional).label("is_regional"),
        )
        .select_from(PurchaseLine)
        .join(Site, Site.id == PurchaseLine.site_id)
        .outerjoin(NomenclatureItem, NomenclatureItem.code == PurchaseLine.nomenclature_code)
        .outerjoin(Supplier, Supplier.id == PurchaseLine.supplier_id)
    )


SUM_COLUMNS = ("lines", "amount_ht", "france_amount", "local_amount", "short_circuit_amount",
               "regional_amount")  # fmt: skip
GROUP_COLUMNS = ("year", "month", "site_id", "family", "category", "local_definition")


def grouped(inner: sa.Select, extra: tuple[str, ...] = ()) -> sa.Select:
    """``inner`` (a :func:`line_select`, maybe filtered) summed per :data:`GROUP_COLUMNS`."""
    sub = inner.subquery()
    dims = [sub.c[name] for name in (*GROUP_COLUMNS, *extra)]

    def when(name: str) -> Any:
        return sa.func.sum(sub.c.amount * sub.c[name])

    return sa.select(
        *dims,
        sa.func.count().label("lines"),
        sa.func.sum(sub.c.amount).label("amount_ht"),
        when("is_france").label("france_amount"),
        when("is_local").label("local_amount"),
        when("is_short").label("short_circuit_amount"),
        when("is_regional").label("regional_amount"),
    ).group_by(*dims)


def egalim_aggregate(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> pd.DataFrame:
    """The purchase lines summed per (year, month, site, family, category, excluded, local def.).

    Read from the summary table (:mod:`workbench.indicators.summary`), less the lines under an
    open blocking anomaly, which are summed live (they are few) and shown apart. A supplier
    filter is not in the summary: that view is summed live from the lines.
    """
    from workbench.indicators import summary

    if filters.supplier_id is not None or not summary.ensure(session, region_code):
        return _live_aggregate(session, user, filters, region_code)
    kept = summary.read(session, user, filters)
    left_out = _blocked_aggregate(session, user, filters, region_code)
    kept_rows = left_out.assign(excluded=0)
    return engine.combine_aggregates(kept, left_out, kept_rows)


def corrected_lines(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current, as imported) rows of the lines that carry an applied or reverted correction."""
    corrected = (
        sa.select(Correction.record_id)
        .where(
            Correction.record_kind == "purchase_line",
            Correction.kind != "dismissal",
            Correction.field.in_(LINE_FIELDS),
            Correction.status.in_(("applied", "reverted")),
        )
        .distinct()
    )
    if not session.scalar(sa.select(sa.exists(corrected))):
        return pd.DataFrame(), pd.DataFrame()
    stmt = (
        sa.select(
            PurchaseLine.id,
            PurchaseLine.line_date,
            PurchaseLine.site_id,
            PurchaseLine.labels,
            PurchaseLine.origin,
            PurchaseLine.family,
            PurchaseLine.nomenclature_code,
            PurchaseLine.amount_ht,
            PurchaseLine.is_local,
            PurchaseLine.is_short_circuit,
            PurchaseLine.local_definition,
            Supplier.commune_code,
            PurchaseLine.id.in_(blocked_ids("purchase_line")).label("blocked"),
        )
        .select_from(PurchaseLine)
        .join(Site, Site.id == PurchaseLine.site_id)
        .outerjoin(NomenclatureItem, NomenclatureItem.code == PurchaseLine.nomenclature_code)
        .outerjoin(Supplier, Supplier.id == PurchaseLine.supplier_id)
        .where(PurchaseLine.id.in_(corrected))  # by key: see by_key in _line_filters
    )
    stmt = _line_filters(scope(stmt, user, "purchase_line"), filters, by_key=True, session=session)
    current = _frame(session, stmt)
    if current.empty:
        return current, current
    corrections = _frame(
        session,
        sa.select(
            Correction.id,
            Correction.record_id,
            Correction.field,
            Correction.old_value,
            Correction.status,
        ).where(
            # the corrections source_values reads (its lines are filtered there)
            Correction.record_kind == "purchase_line",
            Correction.kind != "dismissal",
            Correction.field.in_(LINE_FIELDS),
            Correction.status.in_(("applied", "reverted")),
        ),
    )
    before = engine.source_values(current, corrections, LINE_FIELDS)
    families = dict(
        session.execute(sa.select(NomenclatureItem.code, NomenclatureItem.family)).all()
    )
    for frame in (current, before):
        mapped = frame["nomenclature_code"].map(families)
        frame["family"] = mapped.fillna(frame["family"]).fillna("AUTRES")
    if filters.family:  # the filter applies to the current family; keep the same lines before
        keep = current["family"].eq(filters.family).to_numpy()
        current, before = current[keep], before[keep]
    return current, before


#: The groupings an EGalim page shows (each a small parts frame, see :func:`engine.parts_of`).
MARGINS: dict[str, tuple[str, ...]] = {
    "site": ("site_id",),
    "family": ("family",),
    "month": ("year", "month"),
    "category": ("category",),
    "local": ("local_definition",),
}


def _live_select(user: User | None, filters: Filters, region_code: str) -> sa.Select:
    blocked = PurchaseLine.id.in_(blocked_ids("purchase_line"))
    inner = line_select(region_code).add_columns(sa.case((blocked, 1), else_=0).label("excluded"))
    inner = _line_filters(scope(inner, user, "purchase_line"), filters)
    return grouped(inner, ("excluded",))


def _live_aggregate(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> pd.DataFrame:
    return engine.normalise_aggregate(_frame(session, _live_select(user, filters, region_code)))


def _blocked_select(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> sa.Select:
    """The aggregate of the lines under an open blocking anomaly only (excluded=1).

    Their ids come from the partial index on active blocking anomalies; the lines are fetched
    by primary key whatever the filters (see ``by_key`` in :func:`_line_filters`).
    """
    blocked = PurchaseLine.id.in_(blocked_ids("purchase_line"))
    inner = _line_filters(
        scope(line_select(region_code).where(blocked), user, "purchase_line"),
        filters,
        by_key=True,
        session=session,
    )
    return grouped(inner.add_columns(sa.literal(1).label("excluded")), ("excluded",))


def _blocked_aggregate(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> pd.DataFrame:
    return engine.normalise_aggregate(
        _frame(session, _blocked_select(session, user, filters, region_code))
    )


def egalim_margins(
    session: Session,
    user: User | None,
    filters: Filters,
    region_code: str,
    margins: dict[str, tuple[str, ...]] = MARGINS,
) -> dict[str, engine.Parts]:
    """Per grouping of ``margins``, the parts of the published EGalim figures.

    From the summary table (two ``GROUP BY`` over it, see :data:`summary.BASES`), less the lines
    under an open blocking anomaly (summed live through the partial index on active blocking
    anomalies: they are few) moved to ``excluded=1``. A supplier filter is not in the summary:
    that view (and a summary that cannot serve, see :func:`summary.ensure`) is summed live from
    the lines, in one ``GROUP BY``.
    """
    from workbench.indicators import summary

    if filters.supplier_id is not None or not summary.ensure(session, region_code):
        result = session.execute(_live_select(user, filters, region_code))
        return engine.parts_of_rows(result.all(), list(result.keys()), margins)
    result = session.execute(_blocked_select(session, user, filters, region_code))
    moved = engine.parts_of_rows(result.all(), list(result.keys()), margins)
    stored = summary.parts_by_margin(session, user, filters, margins)
    return {
        name: engine.combine_parts(stored[name], moved[name], engine.not_excluded(moved[name]))
        for name in margins
    }


def egalim_before_margins(
    session: Session,
    user: User | None,
    filters: Filters,
    region_code: str,
    after: dict[str, engine.Parts],
    margins: dict[str, tuple[str, ...]] = MARGINS,
) -> dict[str, engine.Parts]:
    """``after`` as imported: minus the corrected lines' now, plus their source values.

    Returns ``after`` itself when no line of the view carries a correction.
    """
    current, before = corrected_lines(session, user, filters, region_code)
    if current.empty:
        return after
    departments = region_departments(region_code)
    now = engine.parts_of_lines(current, departments, margins)
    then = engine.parts_of_lines(before, departments, margins)
    return {name: engine.combine_parts(after[name], then[name], now[name]) for name in margins}


def years_with_lines(session: Session, user: User | None) -> list[int]:
    """The calendar years from the first to the last line (two index reads)."""
    base = scope(sa.select(PurchaseLine.line_date).select_from(PurchaseLine), user, "purchase_line")
    first = session.scalar(base.order_by(PurchaseLine.line_date.asc()).limit(1))
    last = session.scalar(base.order_by(PurchaseLine.line_date.desc()).limit(1))
    if first is None or last is None:
        return []
    return list(range(first.year, last.year + 1))


# -- SPASER -------------------------------------------------------------------------------------
def contract_frames(
    session: Session, user: User | None, filters: Filters | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Contracts (with ``excluded``), holders and suppliers. Contracts are thousands, not millions."""
    filters = filters or Filters()
    stmt = sa.select(
        Contract.id,
        Contract.kind,
        Contract.contract_id,
        Contract.buyer_id,
        contract_amount.label("amount"),
        Contract.notification_date,
        Contract.signature_date,
        Contract.social_considerations,
        Contract.environmental_considerations,
        Contract.has_advance,
        Contract.advance_rate,
        Contract.direction_code,
        Contract.cpv_code,
        Contract.source_format,
        Contract.id.in_(blocked_ids("contract")).label("excluded"),
    )
    stmt = scope(stmt, user, "contract")
    if filters.direction_code:
        stmt = stmt.where(Contract.direction_code == filters.direction_code)
    if filters.domain:
        stmt = stmt.where(Contract.cpv_code.like(f"{filters.domain}%"))
    if filters.supplier_id is not None:
        siret = sa.select(Supplier.siret).where(Supplier.id == filters.supplier_id)
        held = sa.select(ContractHolder.contract_id).where(
            ContractHolder.role == "holder", ContractHolder.identifier.in_(siret)
        )
        stmt = stmt.where(Contract.id.in_(held))
    contracts = _frame(session, stmt)
    holders = _frame(
        session,
        sa.select(
            ContractHolder.contract_id,
            ContractHolder.position,
            ContractHolder.role,
            ContractHolder.identifier,
        ).where(
            ContractHolder.contract_id.in_(
                sa.select(Contract.id).where(scope_clause("contract", user, figures=True))
            )
        ),
    )
    suppliers = _frame(
        session,
        sa.select(Supplier.siret, Supplier.company_category, Supplier.commune_code).where(
            scope_clause("supplier", user, figures=True)
        ),
    )
    return contracts, holders, suppliers


def contract_years(session: Session, user: User | None) -> list[int]:
    date = sa.func.coalesce(Contract.notification_date, Contract.signature_date)
    stmt = scope(sa.select(sa.extract("year", date)).distinct(), user, "contract")
    return sorted(int(y) for (y,) in session.execute(stmt) if y is not None)


# -- reference lists for the filters -------------------------------------------------------------
def filter_choices(session: Session, user: User | None) -> dict[str, list[tuple[Any, str]]]:
    from workbench.reference.models import Direction

    sites = sa.select(Site.id, Site.name).order_by(Site.name)
    if user is not None and user.role == Role.CANTEEN:
        sites = sites.where(Site.id.in_(user.site_ids or {-1}))
    return {
        "sites": [tuple(r) for r in session.execute(sites)],
        "directions": [
            tuple(r) for r in session.execute(sa.select(Direction.code, Direction.name))
        ],
        "suppliers": [
            tuple(r)
            for r in session.execute(
                sa.select(Supplier.id, Supplier.name).order_by(Supplier.name).limit(500)
            )
        ],
    }


# -- data quality -------------------------------------------------------------------------------
@dataclasses.dataclass
class QualityFrames:
    """What the quality page reads, grouped in the database (rows for :mod:`.quality`)."""

    #: Active anomalies per (rule, status, lycée) from ``anomaly_counts``; ``n`` = how many.
    active: pd.DataFrame
    #: Closed anomalies (their opening and closing times), for the median resolution time.
    closed: pd.DataFrame
    #: Anomalies per (day opened, day closed); ``n`` = how many (the weekly trend).
    days: pd.DataFrame
    counts: dict[str, int]


def closed_anomalies() -> sa.Select:
    """The closed anomalies' status and times (resolution durations): read whole from the
    partial index ``ix_anomalies_closed``, not by scanning every anomaly."""
    return sa.select(Anomaly.status, Anomaly.first_seen_at, Anomaly.closed_at).where(
        Anomaly.closed_at.is_not(None)
    )


def quality_frames(session: Session) -> QualityFrames:
    """The quality page's figures: counts from the maintained ``anomaly_counts``, the trend
    from the maintained ``anomaly_days``, durations of the closed anomalies only — never a row per
    anomaly (two million at the Region's scale)."""
    from workbench.rules.models import ACTIVE_STATUSES, AnomalyCount, AnomalyDay

    site = sa.case((AnomalyCount.site_id == 0, None), else_=AnomalyCount.site_id)
    active = _frame(
        session,
        sa.select(
            AnomalyCount.rule_code,
            AnomalyCount.status,
            site.label("site_id"),
            sa.func.sum(AnomalyCount.n).label("n"),
        )
        .where(AnomalyCount.status.in_([str(s) for s in ACTIVE_STATUSES]), AnomalyCount.n != 0)
        .group_by(AnomalyCount.rule_code, AnomalyCount.status, site),
    )
    closed = _frame(session, closed_anomalies())
    days = _frame(  # the maintained (opened day, closed day) counts: a few hundred rows
        session,
        sa.select(
            AnomalyDay.opened_day.label("first_seen_at"),
            sa.func.nullif(AnomalyDay.closed_day, "").label("closed_at"),
            AnomalyDay.n.label("n"),
        ).where(AnomalyDay.n != 0),
    )
    counts = {
        "purchase_line": session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) or 0,
        "contract": session.scalar(sa.select(sa.func.count()).select_from(Contract)) or 0,
        "supplier": session.scalar(sa.select(sa.func.count()).select_from(Supplier)) or 0,
    }
    return QualityFrames(active, closed, days, counts)


def site_line_counts(session: Session) -> pd.DataFrame:
    """Purchase lines per lycée (every lycée, 0 without lines): from the EGalim summary's
    per-lycée rollup when it counts every line (a few thousand rows), else counted live."""
    from workbench.indicators import summary

    if summary.ensure(session, summary._region_code()):
        per_site = (
            sa.select(
                summary.BY_SITE.c.site_id, sa.func.sum(summary.BY_SITE.c.lines).label("lines")
            )
            .group_by(summary.BY_SITE.c.site_id)
            .subquery()
        )
        records = sa.func.coalesce(per_site.c.lines, 0)
        join = per_site.c.site_id == Site.id
    else:
        per_site = PurchaseLine.__table__
        records = sa.func.count(PurchaseLine.id)
        join = PurchaseLine.site_id == Site.id
    stmt = sa.select(Site.id.label("site_id"), Site.name, records.label("records")).join(
        per_site, join, isouter=True
    )
    if per_site is PurchaseLine.__table__:
        stmt = stmt.group_by(Site.id, Site.name)
    return _frame(session, stmt)


def site_names(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(Site.id, Site.name)).all())
