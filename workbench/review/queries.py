"""Read side of the review feature: a record with its anomalies, corrections and pending proposals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from workbench.auth.models import Role, User, user_sites
from workbench.core.pagination import window
from workbench.db import DialectPredicate, like_ci, like_escape, pattern_parameter, utcnow
from workbench.records.access import scope_clause
from workbench.review.labels import (
    LABELLED_FIELDS,
    field_sort_key,
    field_sort_keys,
    rule_sort_key,
)
from workbench.review.models import Correction, CorrectionStatus
from workbench.rules import group_counts, search_texts
from workbench.rules.models import (
    ACTIVE_STATUSES,
    ACTIVE_WHERE,
    IN_HAND_STATUSES,
    IN_HAND_WHERE,
    SEVERITY_RANK,
    Anomaly,
    AnomalyCount,
    AnomalyStatus,
)
from workbench.rules.queries import scope_anomalies, scope_counts
from workbench.rules.registry import all_rules


def matrix_entry_for(session: Session, line: Any) -> Any:
    """The supplier matrix entry of a purchase line (same supplier and article reference)."""
    from workbench.reference.models import MatrixEntry

    if line.supplier_id is None or not line.reference:
        return None
    return session.scalar(
        sa.select(MatrixEntry).where(
            MatrixEntry.supplier_id == line.supplier_id, MatrixEntry.reference == line.reference
        )
    )


def record_anomalies(session: Session, record_kind: str, record_id: int) -> list[Anomaly]:
    return list(
        session.scalars(
            sa.select(Anomaly)
            .where(Anomaly.record_kind == record_kind, Anomaly.record_id == record_id)
            .order_by(Anomaly.status, Anomaly.severity, Anomaly.rule_code)
        )
    )


def record_corrections(session: Session, record_kind: str, record_id: int) -> list[Correction]:
    return list(
        session.scalars(
            sa.select(Correction)
            .where(Correction.record_kind == record_kind, Correction.record_id == record_id)
            .order_by(Correction.id.desc())
        )
    )


def pending_corrections(
    session: Session, user: User, *, rule_code: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Correction], int]:
    """Proposals awaiting a decision, oldest first. Only legal and admin read this queue."""
    if user.role not in (Role.LEGAL, Role.ADMIN):
        return [], 0
    stmt = sa.select(Correction).where(Correction.status == CorrectionStatus.PENDING)
    if rule_code:
        stmt = stmt.where(Correction.rule_code == rule_code)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        window(stmt.order_by(Correction.proposed_at, Correction.id), page, per_page)
    ).all()
    return list(rows), total


#: A filtered queue total stops counting here (no exact COUNT(*) over huge sets per page view).
COUNT_CAP = 10_000
#: The literal predicate of the partial indexes on active anomalies (SQLite proves the index
#: usable only from this exact text, not from bound parameters).
ACTIVE = sa.text(ACTIVE_WHERE)


class QueueTotal(int):
    """A queue's total; ``capped`` when it reached :data:`COUNT_CAP` (show « 10 000+ »)."""

    capped: bool = False

    @classmethod
    def of(cls, value: int, capped: bool = False) -> QueueTotal:
        total = cls(value)
        total.capped = capped
        return total


@dataclass
class QueueFilter:
    """Filters of a queue page, parsed from the query string."""

    site_id: int | None = None
    rule_code: str | None = None
    severity: str | None = None
    status: str | None = None
    supplier_id: int | None = None
    older_than_days: int | None = None
    search: str | None = None
    newest_first: bool = False
    #: Keyset cursor (``apres``): the page starts after this (first_seen_at, id).
    after: tuple[dt.datetime, int] | None = None
    #: Not from the query string: what a precise region-wide search matches of the texts,
    #: which singles out the only anomalies that may match (:func:`searched_view`).
    hits: search_texts.Hits | None = None

    @classmethod
    def from_args(cls, args: Any) -> QueueFilter:
        def as_int(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if str(value).isdigit() else None

        return cls(
            site_id=as_int("site"),
            rule_code=args.get("regle") or None,
            severity=args.get("gravite") or None,
            status=args.get("etat") or None,
            supplier_id=as_int("fournisseur"),
            older_than_days=as_int("age"),
            search=(args.get("q") or "").strip() or None,
            newest_first=args.get("tri") == "recent",
            after=parse_cursor(args.get("apres")),
        )

    @property
    def counted(self) -> bool:
        """True when the maintained counts answer the total (no filter beyond scope, rule,
        status and lycée)."""
        return not (self.severity or self.supplier_id or self.older_than_days or self.search)


def parse_cursor(raw: Any) -> tuple[dt.datetime, int] | None:
    """``<ISO time>~<id>`` → (time, id); anything else → None (first page)."""
    text = str(raw or "")
    if "~" not in text:
        return None
    when, _, ident = text.rpartition("~")
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError:
        return None
    if not ident.isdigit():
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment, int(ident)


def queue_cursor(anomaly: Anomaly) -> str:
    """The keyset cursor of the page that follows ``anomaly`` (the last row shown)."""
    moment = anomaly.first_seen_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.isoformat()}~{anomaly.id}"


def queue_rule_codes(queue: str) -> list[str]:
    return [code for code, rule in all_rules().items() if rule.queue == queue]


def search_pattern(search: str) -> str:
    """The LIKE pattern of a queue's search (the text anywhere, taken literally). A unit
    separator typed in it is dropped: it joins the texts a search reads on PostgreSQL
    (:data:`workbench.rules.search_texts.SEPARATOR`), where a search holding it could span two."""
    return f"%{like_escape(search.replace(search_texts.SEPARATOR, ''))}%"


def region_wide(user: User) -> bool:
    """Whether ``user`` reads the anomalies of the whole region (no lycée or direction scope)."""
    return isinstance(scope_clause("anomaly", user), sa.sql.elements.True_)


def view_rule_codes(session: Session, user: User, queue: str, filt: QueueFilter) -> list[str]:
    """The rule codes a view of ``queue`` reads: the queue's, or the filter's rule; with a
    search over the whole region, only those whose anomalies' texts may match (the others are
    not read at all, see :func:`workbench.rules.search_texts.matching_rules`). A lycée's or a
    direction's view reads a few index ranges: reading the texts would cost it more (on
    PostgreSQL, matching the texts of a queue: ~140 ms, against ~30 ms for the ranges)."""
    codes = _filtered_codes(session, queue, filt)
    if filt.search and codes and region_wide(user):
        codes = search_texts.matching_rules(session, codes, search_pattern(filt.search))
    return codes


def _filtered_codes(session: Session, queue: str, filt: QueueFilter) -> list[str]:
    """The queue's rule codes, or the filter's rule among them; filtered on a gravité (active
    anomalies), only the rules that may have it: their maintained groups' gravités (a
    superset of their active anomalies', :func:`~workbench.rules.group_counts.severity_bounds`)
    bound it. A gravité no rule has was looked for row by row: the articles filtered on
    « Information » at two million anomalies, 263 ms to find none."""
    codes = queue_rule_codes(queue)
    if filt.rule_code:
        codes = [c for c in codes if c == filt.rule_code]
    if filt.severity and codes and (not filt.status or filt.status in ACTIVE_STATUSES):
        bounds = group_counts.severity_bounds(session, codes)
        codes = [
            code
            for code in codes
            if (low := bounds[code][0]) is not None and low <= filt.severity <= bounds[code][1]
        ]
    return codes


#: A region-wide line view whose search matches at most this many combinations of texts,
#: themselves holding at most :data:`SEARCH_ANOMALIES_MAX` active anomalies, reads those
#: anomalies by index ranges (:func:`searched_view`).
SEARCH_TEXTS_MAX = 500
SEARCH_ANOMALIES_MAX = 20_000


def searched_view(
    session: Session, user: User, queue: str, filt: QueueFilter
) -> tuple[list[str], QueueFilter]:
    """The rule codes a line view of ``queue`` reads and its filter, narrowed when a region-wide
    search is precise. The combinations of texts it matches (:mod:`workbench.rules.
    search_texts`, a superset of every anomaly's, whatever its status) single out the only
    anomalies that can match (:meth:`~workbench.rules.search_texts.Hits.anomalies`: their
    ``group_key``, or their value): when they are at most :data:`SEARCH_TEXTS_MAX`, in groups
    of at most :data:`SEARCH_ANOMALIES_MAX` active anomalies, the view reads those by index
    ranges, and still tests the search on each. The walk of every anomaly of a rule stopped
    only at its end for a search matching a few hundred of 400,000 (the articles searched
    « yaourt » at 1M lines: two statements of 190 ms). A broad search keeps the walk: its
    matches come first. So does one matching big groups (the matrix searched « BIO »: 36
    combinations, 190,000 anomalies), but on PostgreSQL each anomaly's message is first
    compared with the matching combinations' (one hashed ``= ANY``, before three
    ``lower() LIKE``)."""
    if not (filt.search and region_wide(user)):
        return view_rule_codes(session, user, queue, filt), filt
    codes = _filtered_codes(session, queue, filt)
    hits = filt.hits  # already read (a sort falling back to another reading)
    if hits is None and codes:
        pattern = search_pattern(filt.search)
        hits = search_texts.precise_hits(session, codes, pattern, SEARCH_TEXTS_MAX)
        if hits is None:
            return search_texts.matching_rules(session, codes, pattern), filt
        if group_counts.active_in(session, hits.groups) > SEARCH_ANOMALIES_MAX:
            hits = dataclasses.replace(hits, ranged=False)  # the walk, messages tested first
        filt = dataclasses.replace(filt, hits=hits)
    hit_rules = {rule for rule, _ in hits.groups} if hits is not None else set()
    return [c for c in codes if c in hit_rules], filt


#: Sortable columns of a queue (``tri=<key>``, ``tri=-<key>`` descending).
SORT_COLUMNS = {
    "depuis": Anomaly.first_seen_at,
    "regle": Anomaly.rule_code,
    "gravite": Anomaly.severity,
    "etat": Anomaly.status,
    "champ": Anomaly.field,
    "valeur": Anomaly.value,
}


#: The sorts on a column of a few known values, in their ascending order: the gravest first,
#: the least advanced first. Ties in the queue's order (rule, age, id), whatever the direction:
#: a page is read segment by segment — one value of one rule, a walk of the partial indexes
#: (see :func:`_segmented_page`).
SEGMENT_VALUES: dict[str, tuple[str, ...]] = {
    "gravite": SEVERITY_RANK,
    "etat": ACTIVE_STATUSES,
}
#: A view sorted by state with more anomalies in hand than this is sorted as a whole.
IN_HAND_MAX = 2_000
_QUEUE_ORDER = (Anomaly.rule_code, Anomaly.first_seen_at, Anomaly.id)
#: The sorts by field and by value, every term in one direction: region-wide, merged walks of
#: ``ix_anomalies_active_field`` (rule, field, value, age, id), one per rule and field
#: (:func:`_field_walks`).
FIELD_SORTS: dict[str, tuple[str, ...]] = {
    "champ": ("field_key", "field", "rule_code", "value", "first_seen_at", "id"),
    "valeur": ("value", "rule_code", "first_seen_at", "id"),
}
#: The term of « Champ » that is no column: the field's label as the page shows it, folded
#: (:func:`field_order`).
FIELD_KEY = "field_key"
#: The columns a walk by field or value carries: every term of either sort.
_WALK_COLUMNS = tuple(
    dict.fromkeys(name for terms in FIELD_SORTS.values() for name in terms if name != FIELD_KEY)
)


def field_order(codes: Iterable[str], fields: Iterable[str] | None = None) -> sa.ColumnElement[str]:
    """The anomaly's field as a sort by « Champ » orders it: the French label the page shows,
    folded (:func:`~workbench.review.labels.field_sort_key`), for the anomalies of the rules
    ``codes`` — a ``CASE`` on the field per record kind of those rules; ordering on the field's
    name put « Montant HT » before « Code nomenclature ». ``fields``: every field the sorted
    anomalies can have, when known (the ``CASE`` names only those: it is evaluated per row)."""
    rules = all_rules()
    kinds: dict[str, list[str]] = {}
    for code in sorted(set(codes)):
        rule = rules.get(code)
        if rule is not None:
            kinds.setdefault(rule.record_kind, []).append(code)
    wanted = None if fields is None else set(fields)
    unlabelled = sa.func.lower(Anomaly.field)
    cases: dict[str, sa.ColumnElement[str]] = {}
    for kind in kinds:
        keys = {
            name: key
            for name, key in field_sort_keys(kind).items()
            if (wanted is None or name in wanted) and key != name.lower()
        }
        cases[kind] = sa.case(keys, value=Anomaly.field, else_=unlabelled) if keys else unlabelled
    if len(cases) <= 1:
        return next(iter(cases.values()), unlabelled)
    return sa.case(
        *((Anomaly.rule_code.in_(kinds[kind]), case) for kind, case in cases.items()),
        else_=unlabelled,
    )


#: Walks a view sorted by field or value merges at most (else it is sorted as a whole).
FIELD_WALKS_MAX = 200
#: Below this many anomalies, a view sorted by field or value is sorted as a whole (a few
#: milliseconds; the contracts' many rules and fields would make many walks).
FIELD_WALKS_FROM = 20_000


def sort_order(
    sort: str, codes: Iterable[str] = (), fields: Iterable[str] | None = None
) -> tuple[Any, ...]:
    """The ORDER BY of a line view sorted on ``sort`` (a key of :data:`SORT_COLUMNS`, ``-`` in
    front for descending). By rule, ties by age then id, every term in the one direction: the
    order of the partial indexes ``ix_anomalies_active_{rule,site}``, walked for one page (ties
    by id alone sorted every anomaly of the queue: 370 ms for the articles at two million
    anomalies). By gravité or état: the rank of the value (:data:`SEGMENT_VALUES`), ties by
    rule, age and id ascending. By field or value: the terms of :data:`FIELD_SORTS`, every one
    in the one direction (the field's label: :func:`field_order` of the view's rules
    ``codes`` and ``fields``)."""
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    if key == "regle":
        ranks = {code: i for i, code in enumerate(rule_order(codes))}
        rank = sa.case(ranks, value=Anomaly.rule_code, else_=len(ranks)) if ranks else None
        columns: tuple[Any, ...] = (rank, Anomaly.first_seen_at, Anomaly.id)
        return tuple(c.desc() if desc else c.asc() for c in columns if c is not None)
    column = SORT_COLUMNS[key]
    if key in SEGMENT_VALUES:
        values = SEGMENT_VALUES[key]
        rank = sa.case({v: i for i, v in enumerate(values)}, value=column, else_=len(values))
        return (rank.desc() if desc else rank.asc(), *_QUEUE_ORDER)
    if key in FIELD_SORTS:
        columns = tuple(
            field_order(codes, fields) if name == FIELD_KEY else Anomaly.__table__.c[name]
            for name in FIELD_SORTS[key]
        )
        return tuple(c.desc() if desc else c.asc() for c in columns)
    return (column.desc() if desc else column.asc(), Anomaly.id)


def rule_order(codes: Iterable[str], desc: bool = False) -> list[str]:
    """``codes`` in the order of the titles the page shows (:func:`~workbench.review.labels.
    rule_sort_key`): a sort by « Règle » on the codes put « Ligne d'achat en double »
    (``PURCHASE_DUPLICATE``) before « Fournisseur inconnu » (``SUPPLIER_UNKNOWN``)… and after
    « Mention d'origine prise pour un label » (``FAUX_AMI_ORIGIN``)."""
    return sorted(set(codes), key=rule_sort_key, reverse=desc)


def _status_clauses(filt: QueueFilter) -> list[Any]:
    if not filt.status:
        return [ACTIVE]
    clauses: list[Any] = [Anomaly.status == filt.status]
    if filt.status in ACTIVE_STATUSES:
        clauses.append(ACTIVE)  # the partial indexes still apply
    return clauses


_SEARCHED = Anomaly.__table__.alias("searched")


class _MessageMatches(DialectPredicate):
    """The anomaly's message matches a search pattern (whatever the case).

    On SQLite, a look-up of the same anomaly by id (``EXISTS``): the statement around it then
    reads only the columns of the covering indexes ``ix_anomalies_cover_*``, and the message is
    read only for the rows the group key and the value did not match. Written
    ``message LIKE …``, it made the planner take a narrower index and read every row from the
    table (the articles queue grouped region-wide, searched « ref »: 0.55 s → 0.15 s). On
    PostgreSQL, a plain :func:`~workbench.db.like_ci` (``lower() LIKE``).
    """

    inherit_cache = True  # its pattern a bound value of the statement's cache key
    _traverse_internals = [("pattern", InternalTraversal.dp_clauseelement)]

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern_parameter(pattern)


@compiles(_MessageMatches)
def _message_by_id(element: _MessageMatches, compiler: Any, **kw: Any) -> str:
    looked_up = sa.exists().where(
        _SEARCHED.c.id == Anomaly.id, like_ci(_SEARCHED.c.message, element.pattern)
    )
    return compiler.process(looked_up, **kw)


@compiles(_MessageMatches, "postgresql")
def _message_ilike(element: _MessageMatches, compiler: Any, **kw: Any) -> str:
    return compiler.process(like_ci(Anomaly.message, element.pattern), **kw)


def filter_clauses(filt: QueueFilter) -> list[Any]:
    """The WHERE clauses of a queue's filters (status, gravité, supplier, age, search); the
    active predicate is the literal one of the partial indexes."""
    clauses = _status_clauses(filt)
    if filt.severity:
        clauses.append(Anomaly.severity == filt.severity)
    if filt.supplier_id:
        clauses.append(Anomaly.supplier_id == filt.supplier_id)
    if filt.older_than_days:
        limit = utcnow() - dt.timedelta(days=filt.older_than_days)
        clauses.append(Anomaly.first_seen_at <= limit)
    if filt.hits is not None:
        # only the anomalies of the matching texts can match (the search still decides)
        if filt.hits.ranged:
            clauses.append(filt.hits.anomalies())
        clauses.append(filt.hits.messages_clause())
    if filt.search:
        pattern = search_pattern(filt.search)
        # the columns of the covering indexes first: a row they match is kept without reading
        # its message from the table
        clauses.append(
            sa.or_(
                like_ci(Anomaly.group_key, pattern),
                like_ci(Anomaly.value, pattern),
                _MessageMatches(pattern),
            )
        )
    return clauses


def queue_sites(session: Session, user: User, filt: QueueFilter) -> list[int | None]:
    """The lycées queried one by one (each an index range): a canteen's own, or the filter's."""
    if user.role == Role.CANTEEN:
        own = sorted(
            session.scalars(sa.select(user_sites.c.site_id).where(user_sites.c.user_id == user.id))
        )
        return [s for s in own if filt.site_id in (None, s)]
    return [filt.site_id]


def _scoped_counts(
    session: Session, user: User, codes: list[str], filt: QueueFilter
) -> dict[tuple[str, str], int]:
    """(rule, status) → its anomalies in the user's scope, from ``anomaly_counts``: the
    filter's status (else the active ones) and lycée; only the pairs that have some."""
    stmt = scope_counts(
        sa.select(AnomalyCount.rule_code, AnomalyCount.status, sa.func.sum(AnomalyCount.n)),
        user,
    ).where(
        AnomalyCount.rule_code.in_(codes),
        AnomalyCount.status.in_([filt.status] if filt.status else ACTIVE_STATUSES),
    )
    if filt.site_id:
        stmt = stmt.where(AnomalyCount.site_id == filt.site_id)
    rows = session.execute(stmt.group_by(AnomalyCount.rule_code, AnomalyCount.status))
    return {(code, status): int(n) for code, status, n in rows if n}


def _queue_total(
    session: Session, user: User, codes: list[str], filt: QueueFilter, sites: list[int | None]
) -> QueueTotal:
    if filt.counted:
        return QueueTotal.of(sum(_scoped_counts(session, user, codes, filt).values()))
    total = 0
    for code in codes:
        for site in sites:
            stmt = scope_anomalies(sa.select(Anomaly.id), user).where(
                Anomaly.rule_code == code, *filter_clauses(filt)
            )
            if site is not None:
                stmt = stmt.where(Anomaly.site_id == site)
            limited = stmt.limit(COUNT_CAP + 1 - total).subquery()
            total += session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
            if total > COUNT_CAP:
                return QueueTotal.of(COUNT_CAP, capped=True)
    return QueueTotal.of(total)


def queue_page(
    session: Session,
    user: User,
    queue: str,
    filt: QueueFilter,
    page: int,
    per_page: int,
    sort: str | None = None,
) -> tuple[list[Anomaly], int]:
    """One page of a queue's anomalies within the user's scope, oldest first by default.

    Keyset: one indexed range per rule code (and lycée) — ``(rule_code, first_seen_at, id)``
    on the partial indexes of active anomalies — merged in Python; with ``filt.after`` the page
    starts after that cursor (see :func:`queue_cursor`), else at ``page`` (the ranges then
    read ``page × per_page`` keys each). The total comes from the maintained counts, or is
    capped at :data:`COUNT_CAP` under the other filters (a :class:`QueueTotal`).

    ``sort``: a key of :data:`SORT_COLUMNS` (``-`` in front for descending); sorting on another
    column than the age pages with OFFSET over the filtered set.
    """
    key = (sort or "").lstrip("-")
    if key == "depuis":
        filt = dataclasses.replace(filt, newest_first=sort.startswith("-"), after=None)
    elif key in (*SEGMENT_VALUES, "regle") and (not filt.status or filt.status in ACTIVE_STATUSES):
        return _segmented_page(session, user, queue, filt, page, per_page, sort or "")
    elif key in SORT_COLUMNS:
        return _sorted_page(session, user, queue, filt, page, per_page, sort or "")
    codes, filt = searched_view(session, user, queue, filt)
    sites = queue_sites(session, user, filt)
    if not codes or not sites:
        return [], QueueTotal.of(0)
    desc = filt.newest_first
    skip = 0 if filt.after else (max(page, 1) - 1) * per_page
    need = skip + per_page
    keys: list[tuple[dt.datetime, int]] = []
    clauses = filter_clauses(filt)
    if filt.after:
        moment, ident = filt.after
        if desc:
            after = sa.or_(
                Anomaly.first_seen_at < moment,
                sa.and_(Anomaly.first_seen_at == moment, Anomaly.id < ident),
            )
        else:
            after = sa.or_(
                Anomaly.first_seen_at > moment,
                sa.and_(Anomaly.first_seen_at == moment, Anomaly.id > ident),
            )
        clauses = [*clauses, after]
    for code in codes:
        for site in sites:
            keys.extend(_walk(session, user, code, site, clauses, need, desc))
    keys.sort(reverse=desc)
    ids = [ident for _, ident in keys[skip:need]]
    return _rows(session, ids), _queue_total(session, user, codes, filt, sites)


def _walk(
    session: Session,
    user: User,
    code: str,
    site: int | None,
    clauses: list[Any],
    limit: int,
    desc: bool = False,
) -> list[tuple[dt.datetime, int]]:
    """The first ``limit`` (first_seen_at, id) of one rule's anomalies in scope (and lycée)
    under ``clauses``, oldest first: a walk of ``ix_anomalies_active_{rule,site}``."""
    stmt = scope_anomalies(sa.select(Anomaly.first_seen_at, Anomaly.id), user).where(
        Anomaly.rule_code == code, *clauses
    )
    if site is not None:
        stmt = stmt.where(Anomaly.site_id == site)
    order = (
        (Anomaly.first_seen_at.desc(), Anomaly.id.desc())
        if desc
        else (Anomaly.first_seen_at, Anomaly.id)
    )
    return [tuple(r) for r in session.execute(stmt.order_by(*order).limit(limit))]  # type: ignore[misc]


def _rows(session: Session, ids: list[int]) -> list[Anomaly]:
    """The anomalies of ``ids``, in that order (by primary key)."""
    found = {a.id: a for a in session.scalars(sa.select(Anomaly).where(Anomaly.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _sorted_page(
    session: Session, user: User, queue: str, filt: QueueFilter, page: int, per_page: int, sort: str
) -> tuple[list[Anomaly], QueueTotal]:
    """A page ordered by another column than the age.

    Two steps: the page's ids, then those rows by primary key. The ids: region-wide and
    unfiltered, by field or value, the merged walks of ``ix_anomalies_active_field``
    (:func:`_merged_walks`: the articles sorted by value at two million anomalies took
    270–400 ms as a whole sort); else read from the covering partial indexes
    ``ix_anomalies_cover_*`` (every sortable column is in them: an index-only walk and a top-N
    sort of ``page × per_page`` keys, never the rows) — by rule, walked in the order of
    ``ix_anomalies_active_*`` (:func:`sort_order`).
    """
    codes, filt = searched_view(session, user, queue, filt)
    sites = queue_sites(session, user, filt)
    if not codes or not sites:
        return [], QueueTotal.of(0)
    key = sort.lstrip("-")
    total = _queue_total(session, user, codes, filt, sites)
    walked = _walked_view(session, user, codes, filt, sites, total) if key in FIELD_SORTS else None
    walks = None
    if walked is not None:
        walk_codes, extra = walked
        walks = _field_walks(session, walk_codes) if walk_codes else []
        if walks is not None:
            # (none: the rule's anomalies closed since the total was read)
            ids = (
                list(session.scalars(_merged_walks(walks, sort, page, per_page, extra)))
                if walks
                else []
            )
            return _rows(session, ids), total
    stmt = scope_anomalies(sa.select(Anomaly.id), user).where(
        Anomaly.rule_code.in_(codes), *filter_clauses(filt)
    )
    if sites != [None]:
        stmt = stmt.where(Anomaly.site_id.in_([s for s in sites if s is not None]))
    fields = None
    big = total.capped or int(total) > FIELD_WALKS_FROM
    if key == "champ" and big and (not filt.status or filt.status in ACTIVE_STATUSES):
        # the fields of the rules' active anomalies (a skip-scan): the CASE, evaluated per
        # row, names only those (a few thousand rows: all the labels cost nothing)
        if walked is None or walked[0] != codes:  # else read above (too many)
            walks = _field_walks(session, codes)
        fields = None if walks is None else {field for _, field in walks}
    order = sort_order(sort, codes, fields)
    ids = list(session.scalars(window(stmt.order_by(*order), page, per_page)))
    return _rows(session, ids), total


def _walked_view(
    session: Session,
    user: User,
    codes: list[str],
    filt: QueueFilter,
    sites: list[int | None],
    total: QueueTotal,
) -> tuple[list[str], list[Any]] | None:
    """When a view sorted by field or value is read from merged walks (:func:`_merged_walks`):
    the rules to walk and the clauses each walk adds; else None (sorted as a whole).

    Region-wide views of more than :data:`FIELD_WALKS_FROM` anomalies, unfiltered or filtered
    on what keeps each walk dense — every row a walk reads but a few matches, so a page
    reads about ``page × per_page`` rows per walk:

    - « ouverte »: the walk minus the anomalies in hand (few);
    - a gravité: the rules of that one gravité, walked whole (their maintained groups' bounds,
      :func:`~workbench.rules.group_counts.severity_bounds`); a rule of several gravités
      would make a walk that may read its whole range for a few rows: sorted as a whole.

    Other filters (supplier, age, search, closed or in-hand states) may leave a walk sparse:
    sorted as a whole. Filtered by gravité and sorted as a whole, the articles at two million
    anomalies took 250–300 ms.
    """
    if sites != [None] or not region_wide(user):
        return None
    if filt.supplier_id or filt.older_than_days or filt.search or filt.status not in (None, "open"):
        return None
    size = int(total)
    if filt.severity:  # the total is capped: the view's size without the gravité
        unfiltered = dataclasses.replace(filt, severity=None)
        size = sum(_scoped_counts(session, user, codes, unfiltered).values())
    if size <= FIELD_WALKS_FROM:
        return None
    extra: list[Any] = [Anomaly.status == AnomalyStatus.OPEN.value] if filt.status else []
    if not filt.severity:
        return codes, extra
    kept = []
    for code, (low, high) in group_counts.severity_bounds(session, codes).items():
        if low != high:
            return None  # several gravités
        if low == filt.severity:
            kept.append(code)
    return kept, extra


def _field_walks(session: Session, codes: list[str]) -> list[tuple[str, str]] | None:
    """(rule, field) of every field the active anomalies of ``codes`` have, or None past
    :data:`FIELD_WALKS_MAX`: a skip-scan of ``ix_anomalies_active_field``, one statement per
    round with one seek per rule (the next field after the last one found)."""
    walks: list[tuple[str, str]] = []
    after: dict[str, str | None] = dict.fromkeys(codes)
    while after:
        seeks = []
        for code, last in after.items():
            seek = sa.select(sa.func.min(Anomaly.field)).where(Anomaly.rule_code == code, ACTIVE)
            if last is not None:
                seek = seek.where(Anomaly.field > last)
            seeks.append(seek.scalar_subquery())
        row = session.execute(sa.select(*seeks)).one()
        after = {code: field for code, field in zip(after, row, strict=True) if field is not None}
        walks += after.items()
        if len(walks) > FIELD_WALKS_MAX:
            return None
    return walks


def _merged_walks(
    walks: list[tuple[str, str]],
    sort: str,
    page: int,
    per_page: int,
    extra: Sequence[Any] = (),
) -> sa.Select:
    """The ids of one page sorted by field or value (:data:`FIELD_SORTS`): per (rule, field),
    the first ``page × per_page`` of its walk in value order, merged by the database (its own
    collation and NULL order, as a whole sort would be)."""
    desc = sort.startswith("-")
    need = max(page, 1) * per_page
    terms = FIELD_SORTS[sort.lstrip("-")]
    walk_order = [Anomaly.value, Anomaly.first_seen_at, Anomaly.id]
    rules = all_rules()
    branches = []
    for code, field in walks:
        # the walk's one field: its key (field_order's) as a constant, an unlabelled one's
        # computed by the database as field_order does
        rule = rules.get(code)
        key = (
            sa.literal(field_sort_key(rule.record_kind, field))
            if rule is not None and field in LABELLED_FIELDS
            else sa.func.lower(Anomaly.field)
        )
        walk = (
            sa.select(*(Anomaly.__table__.c[name] for name in _WALK_COLUMNS), key.label(FIELD_KEY))
            .where(Anomaly.rule_code == code, Anomaly.field == field, ACTIVE, *extra)
            .order_by(*(c.desc() if desc else c.asc() for c in walk_order))
            .limit(need)
            .subquery()
        )
        branches.append(sa.select(walk))
    merged = (
        sa.union_all(*branches).subquery("walks")
        if len(branches) > 1
        else branches[0].subquery("walks")
    )
    order = [merged.c[name].desc() if desc else merged.c[name].asc() for name in terms]
    return window(sa.select(merged.c.id).order_by(*order), page, per_page)


#: One segment of a page sorted by gravité, état or règle: ``limit`` → the first ids of one
#: value of one rule, in the queue's order.
Segment = Callable[[int], list[int]]


def _segmented_page(
    session: Session, user: User, queue: str, filt: QueueFilter, page: int, per_page: int, sort: str
) -> tuple[list[Anomaly], QueueTotal]:
    """A page of active anomalies sorted by gravité or état (:data:`SEGMENT_VALUES`), ties in
    the queue's order (rule, age, id); or by règle: the rules in the order of their titles
    (:func:`rule_order`), each rule's anomalies by age then id, every term in the one direction
    (one segment per rule, walked in that direction).

    The order is a sequence of segments — each value in turn, each rule in turn — and each
    segment is read as the age sort reads one rule: a walk of the partial indexes, for the
    ``page × per_page`` keys still needed, the segments after them never read. Sorting every
    anomaly of the queue on the column instead took 208–326 ms for the articles at two million
    anomalies. Which segments exist comes from the maintained tables
    (:func:`_severity_segments`, :func:`_status_segments`); a view with too many anomalies in
    hand is sorted as a whole (:func:`_sorted_page`).
    """
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    codes, filt = searched_view(session, user, queue, filt)
    sites = queue_sites(session, user, filt)
    if not codes or not sites:
        return [], QueueTotal.of(0)
    clauses = filter_clauses(filt)

    def walked(
        code: str, extra: list[Any], drop: frozenset[int] = frozenset(), newest: bool = False
    ) -> Segment:
        def read(limit: int) -> list[int]:
            keys: list[tuple[dt.datetime, int]] = []
            for site in sites:
                where = [*clauses, *extra]
                keys += _walk(session, user, code, site, where, limit + len(drop), newest)
            keys.sort(reverse=newest)
            return [i for _, i in keys if i not in drop][:limit]

        return read

    if key == "regle":  # one segment per rule, in the titles' order
        values: tuple[str, ...] = ("",)
        ordered = rule_order(codes, desc)
        segments = {("", code): walked(code, [], newest=desc) for code in codes}
    else:
        values = SEGMENT_VALUES[key][::-1] if desc else SEGMENT_VALUES[key]
        ordered = _database_order(session, codes)
        if key == "gravite":
            segments = _severity_segments(session, codes, filt, walked)
        else:
            found = _status_segments(session, user, codes, filt, sites, walked)
            if found is None:
                return _sorted_page(session, user, queue, filt, page, per_page, sort)
            segments = found
    skip = (max(page, 1) - 1) * per_page
    need = skip + per_page
    ids: list[int] = []
    for value in values:
        for code in ordered:
            if len(ids) >= need:
                break
            segment = segments.get((value, code))
            if segment is not None:
                ids += segment(need - len(ids))
    return _rows(session, ids[skip:need]), _queue_total(session, user, codes, filt, sites)


def _database_order(session: Session, codes: list[str]) -> list[str]:
    """``codes`` in the database's order of texts, as :func:`sort_order` sorts the rule codes.
    SQLite's ``BINARY`` (UTF-8 bytes) is Python's order of code points; PostgreSQL under a
    language collation does not sort « _ » so: it is asked (one statement over literals)."""
    if session.get_bind().dialect.name == "sqlite":
        return sorted(codes)
    listed = sa.union_all(*(sa.select(sa.literal(c, sa.String).label("code")) for c in codes))
    column = listed.subquery("codes").c.code
    return list(session.scalars(sa.select(column).order_by(column)))


def _severity_segments(
    session: Session,
    codes: list[str],
    filt: QueueFilter,
    walked: Callable[[str, list[Any]], Segment],
) -> dict[tuple[str, str], Segment]:
    """(gravité, rule) → its segment. The severities of each rule are those of its maintained
    groups (two seeks in ``ix_anomaly_group_counts_severity``, region-wide: a superset in any
    scope): a rule of one severity is walked whole, a rule of several once per severity."""
    segments: dict[tuple[str, str], Segment] = {}
    for code, (low, high) in group_counts.severity_bounds(session, codes).items():
        if low is None:
            continue  # no active anomaly
        if low == high:
            if filt.severity in (None, low):
                segments[(low, code)] = walked(code, [])
            continue
        for severity in SEGMENT_VALUES["gravite"]:
            if filt.severity in (None, severity):
                segments[(severity, code)] = walked(code, [Anomaly.severity == severity])
    return segments


def _status_segments(
    session: Session,
    user: User,
    codes: list[str],
    filt: QueueFilter,
    sites: list[int | None],
    walked: Callable[..., Segment],
) -> dict[tuple[str, str], Segment] | None:
    """(état, rule) → its segment, or None when the view has more than :data:`IN_HAND_MAX`
    anomalies in hand. The statuses of each rule in scope come from ``anomaly_counts``. The
    anomalies in hand (claimed, proposed: few) are read whole from ``ix_anomalies_in_hand``;
    the open ones are the rule's walk without them (no status to read from the table)."""
    present = _scoped_counts(session, user, codes, filt)
    if sum(n for (_, status), n in present.items() if status in IN_HAND_STATUSES) > IN_HAND_MAX:
        return None
    in_hand: dict[tuple[str, str], list[tuple[dt.datetime, int]]] = {}
    if any(status in IN_HAND_STATUSES for _, status in present):
        held = scope_anomalies(
            sa.select(Anomaly.rule_code, Anomaly.status, Anomaly.first_seen_at, Anomaly.id), user
        ).where(Anomaly.rule_code.in_(codes), sa.text(IN_HAND_WHERE), *filter_clauses(filt))
        if sites != [None]:
            held = held.where(Anomaly.site_id.in_([s for s in sites if s is not None]))
        for code, status, moment, ident in session.execute(held):
            in_hand.setdefault((status, code), []).append((moment, ident))
    segments: dict[tuple[str, str], Segment] = {}
    for code in codes:
        if (code, "open") in present:
            drop = frozenset(i for s in IN_HAND_STATUSES for _, i in in_hand.get((s, code), ()))
            segments[("open", code)] = walked(code, [], drop)
        for status in IN_HAND_STATUSES:
            ids = [i for _, i in sorted(in_hand.get((status, code), ()))]
            segments[(status, code)] = lambda limit, ids=ids: ids[:limit]
    return segments


def record_labels(session: Session, anomalies: list[Anomaly]) -> dict[tuple[str, int], str]:
    """What a person recognises each anomaly's record by, one query per record kind."""
    from workbench.records.access import RECORD_MODELS

    label_columns = {
        "purchase_line": "label",
        "supplier": "name",
        "contract": "object",
        "matrix_entry": "label",
        "nomenclature_item": "label",
    }
    wanted: dict[str, set[int]] = {}
    for anomaly in anomalies:
        wanted.setdefault(anomaly.record_kind, set()).add(anomaly.record_id)
    labels: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        model = RECORD_MODELS.get(kind)
        if model is None:
            continue
        column = getattr(model, label_columns[kind])
        for record_id, label in session.execute(
            sa.select(model.id, column).where(model.id.in_(ids))
        ):
            labels[(kind, record_id)] = label or ""
    return labels
