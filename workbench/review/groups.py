"""Anomaly queues seen as groups, and the lines with an invalid nomenclature code.

New read functions beside :mod:`workbench.review.queries` (whose list function is being moved
to keyset pagination): a *group* is every active anomaly of one rule on the same thing — the
same supplier article (``group_key``), else the same value, else the same supplier — so that
one action (claim, dismiss, accept the matrix value) settles all of them.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import User
from workbench.core.pagination import window
from workbench.db import planner_setting
from workbench.review.queries import (
    ACTIVE,
    QueueFilter,
    filter_clauses,
    queue_rule_codes,
    queue_sites,
    region_wide,
    search_pattern,
    view_rule_codes,
)
from workbench.rules import group_counts, search_texts
from workbench.rules.models import (
    IN_HAND_WHERE,
    Anomaly,
    AnomalyGroupCount,
    AnomalyStatus,
    worst_severity,
)
from workbench.rules.queries import active_counts, scope_anomalies

INVALID_CODE_RULE = "NOMENCLATURE_CODE_INVALID"
#: A rule with fewer active anomalies in the user's scope (maintained counts) is grouped with
#: the other small rules of its queue in one plain GROUP BY; larger ones walk their own ranges.
SMALL_RULE = 2_000

#: Sortable columns of the grouped view (query-string value → label).
GROUP_SORTS = {
    "nombre": "Plus d'anomalies d'abord",
    "anciens": "Plus anciennes d'abord",
    "recents": "Plus récentes d'abord",
    "regle": "Par règle",
}


def _filtered(user: User, queue: str, filt: QueueFilter) -> sa.Select:
    """The active anomalies of a queue in the user's scope, with the queue's filters (the
    clauses of the line view: the literal active predicate, so the partial indexes apply)."""
    stmt = scope_anomalies(sa.select(Anomaly), user).where(
        Anomaly.rule_code.in_(queue_rule_codes(queue)), *filter_clauses(filt)
    )
    if filt.site_id:
        stmt = stmt.where(Anomaly.site_id == filt.site_id)
    if filt.rule_code:
        stmt = stmt.where(Anomaly.rule_code == filt.rule_code)
    return stmt


#: What makes anomalies of one rule "the same": the supplier article (``group_key``), else the
#: same value at the same supplier, else the same supplier.
_group_key = group_counts.key_column


@dataclass
class AnomalyGroup:
    rule_code: str
    key: str
    field: str | None
    count: int
    oldest: Any
    newest: Any
    severity: str
    sample_id: int
    statuses: dict[str, int] = field(default_factory=dict)
    sample_label: str = ""
    sample_kind: str = ""
    sample_record_id: int = 0
    value: str | None = None
    message: str = ""
    supplier_name: str | None = None
    reference: str | None = None

    @property
    def token(self) -> str:
        """The group in a form field: ``<rule>|<key>`` (rule codes have no ``|``)."""
        return f"{self.rule_code}|{self.key}"


def _unique_key(key: Any) -> sa.ColumnElement[bool]:
    """A ``group_key`` that can be no other kind of group's key: with a ``:`` (the rules' keys
    are ``ref:…``, ``siren:…``, ``name:…``; a supplier key is digits only) and no ``@`` (a
    value-at-supplier key has one). Two LIKEs: cheap on both databases."""
    return sa.and_(key.like("%:%"), key.not_like("%@%"))


def _merged(rows: Any) -> sa.Select:
    """Groups of ``rows`` (partial groups with the columns of :func:`group_counts.aggregates`) merged by
    (rule, key): every aggregate composes."""
    c = rows.c
    return sa.select(
        c.rule_code,
        c.key,
        sa.func.max(c.field).label("field"),
        sa.func.sum(c.n).label("n"),
        sa.func.min(c.oldest).label("oldest"),
        sa.func.max(c.newest).label("newest"),
        worst_severity(c.severity).label("severity"),
        sa.func.min(c.sample_id).label("sample_id"),
    ).group_by(c.rule_code, c.key)


def _groups(session: Session, user: User, queue: str, filt: QueueFilter) -> sa.Subquery | None:
    """Every group of the queue in the user's scope, read from the covering partial indexes
    ``ix_anomalies_cover_*`` (index-only: no table lookups).

    Rules with fewer than :data:`SMALL_RULE` active anomalies in scope are grouped together in
    one plain GROUP BY (a queue of fifteen small rules is one statement to plan). Per larger
    rule code (and lycée), four index ranges: the anomalies with a ``group_key`` grouped on
    it, those without one but with a value grouped on (value, supplier) — both in index order,
    no sort: the bulk of every queue —, then those with neither and those with an empty
    ``group_key``. The groups whose key another part may share (the last two ranges, the
    ``group_key`` that :func:`_unique_key` cannot vouch for, the value groups whose key one of
    them has: a NOT EXISTS) are merged on the key; a canteen's several lycées merge all.
    """
    codes = view_rule_codes(session, user, queue, filt)
    if not codes:
        return None
    stored = _stored_groups(session, user, codes, filt)
    if stored is not None:
        return stored
    sites = queue_sites(session, user, filt)
    if not codes or not sites:
        return None
    clauses = filter_clauses(filt)
    counts = active_counts(session, user)
    small = [c for c in codes if counts.get(c, 0) < SMALL_RULE]
    codes = [c for c in codes if c not in small]
    few = None
    if small:  # one plain GROUP BY over every small rule: a few statements to plan, not 60
        where = [Anomaly.rule_code.in_(small), *clauses]
        if sites != [None]:
            where.append(Anomaly.site_id.in_([s for s in sites if s is not None]))
        key = _group_key()
        few = (
            scope_anomalies(
                sa.select(Anomaly.rule_code, key.label("key"), *group_counts.aggregates()), user
            )
            .where(*where)
            .group_by(Anomaly.rule_code, key)
        )
        if not codes:
            return few.subquery("groups")
    keyed, valued, others = [], [], []
    for code in codes:
        for site in sites:
            where = [Anomaly.rule_code == code, *clauses]
            if site is not None:
                where.append(Anomaly.site_id == site)
            keyed.append(
                scope_anomalies(
                    sa.select(
                        Anomaly.rule_code,
                        Anomaly.group_key.label("key"),
                        *group_counts.aggregates(),
                    ),
                    user,
                )
                .where(*where, Anomaly.group_key > "")
                .group_by(Anomaly.rule_code, Anomaly.group_key)
            )
            valued.append(
                scope_anomalies(
                    sa.select(
                        Anomaly.rule_code,
                        (
                            Anomaly.value
                            + "@"
                            + sa.func.coalesce(sa.cast(Anomaly.supplier_id, sa.String), "")
                        ).label("key"),
                        *group_counts.aggregates(),
                    ),
                    user,
                )
                .where(*where, Anomaly.group_key.is_(None), Anomaly.value > "")
                .group_by(Anomaly.rule_code, Anomaly.value, Anomaly.supplier_id)
            )
            for rest in (
                sa.and_(
                    Anomaly.group_key.is_(None),
                    sa.or_(Anomaly.value.is_(None), Anomaly.value == ""),
                ),
                Anomaly.group_key == "",
            ):
                others.append(
                    scope_anomalies(
                        sa.select(
                            Anomaly.rule_code, _group_key().label("key"), *group_counts.aggregates()
                        ),
                        user,
                    )
                    .where(*where, rest)
                    .group_by(
                        Anomaly.rule_code, Anomaly.group_key, Anomaly.value, Anomaly.supplier_id
                    )
                )
    finals = [few] if few is not None else []
    if len(sites) == 1 and _only_value_groups(session, user, codes, clauses, sites[0]):
        # no part can share a key with another: no merge (the matrix queue's 62,000 groups
        # region-wide, a quarter of the view's time)
        return sa.union_all(*valued, *finals).subquery("groups")
    if len(sites) > 1:  # a canteen of several lycées: merge them all
        parts = sa.union_all(*keyed, *valued, *others).subquery("parts")
        return sa.union_all(_merged(parts), *finals).subquery("groups")
    article = sa.union_all(*keyed).cte("article_groups")
    by_value = sa.union_all(*valued).cte("value_groups")
    unique = _unique_key(article.c.key)
    rest = sa.union_all(sa.select(article).where(sa.not_(unique)), *others).cte("other_groups")
    met = sa.exists().where(rest.c.rule_code == by_value.c.rule_code, rest.c.key == by_value.c.key)
    shared = sa.union_all(sa.select(rest), sa.select(by_value).where(met)).subquery("shared")
    return sa.union_all(
        sa.select(article).where(unique),
        sa.select(by_value).where(sa.not_(met)),
        _merged(shared),
        *finals,
    ).subquery("groups")


def _reads_stored(user: User, filt: QueueFilter) -> bool:
    """Whether a grouped view may read the maintained groups: region-wide, filtered on
    nothing but the rule, the severity and a search — or on « ouverte » without a search."""
    filtered = filt.site_id or filt.supplier_id or filt.older_than_days
    status = filt.status and (filt.status != AnomalyStatus.OPEN.value or filt.search)
    return not (filtered or status) and region_wide(user)


def _held_groups(session: Session, codes: list[str]) -> list[tuple[str, str]] | None:
    """(rule, key) of the groups of ``codes`` holding anomalies in hand (claimed, proposed:
    few, read from ``ix_anomalies_in_hand``); None past :data:`~workbench.rules.group_counts.
    FEW_DIRTY` groups."""
    key = group_counts.key_column()
    rows = session.execute(
        sa.select(Anomaly.rule_code, key)
        .where(Anomaly.rule_code.in_(codes), sa.text(IN_HAND_WHERE))
        .distinct()
        .limit(group_counts.FEW_DIRTY + 1)
    ).all()
    if len(rows) > group_counts.FEW_DIRTY:
        return None
    return sorted((r[0], r[1]) for r in rows)


def _stored_groups(
    session: Session, user: User, codes: list[str], filt: QueueFilter
) -> sa.Subquery | None:
    """The groups of ``codes`` read from ``anomaly_group_counts`` (kept by triggers per rule,
    key and severity, see :mod:`workbench.rules.group_counts`) when the view is region-wide and
    filtered on nothing but the rule, the severity and a search; the dirty groups (an
    uncommitted change of this transaction, a writer that bypassed the session) computed from
    their anomalies beside them, then the severities of a group merged. With a search, only the
    groups it matches whole (see :func:`_searched`) are read so; those it matches in part are
    computed from their anomalies. ``None``: group the anomalies (a scoped or otherwise
    filtered view, too many dirty groups or groups matched in part)."""
    if not _reads_stored(user, filt):
        return None
    session.flush()  # pending changes mark their groups dirty before the dirty ones are read
    dirty = [
        k
        for k in group_counts.dirty_keys(session, codes)
        if not filt.severity or k[2] == filt.severity
    ]
    if len(dirty) > group_counts.FEW_DIRTY:
        return None
    whole: sa.Subquery | None = None
    partial: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    if filt.status:
        # « ouverte »: a stored group counts the active anomalies, all open but those in hand;
        # the groups holding some are read from their open anomalies (as groups matched in
        # part), the others as stored. Rules all small (the contracts': 30 rules, a few
        # hundred anomalies) are grouped in one plain GROUP BY: 15 ms, against 70 read so.
        counts = active_counts(session, user)
        if all(counts.get(code, 0) < SMALL_RULE for code in codes):
            return None
        found = _held_groups(session, codes)
        if found is None:
            return None
        held, partial = found, list(found)
        in_hand = set(held)
        dirty = [k for k in dirty if (k[0], k[1]) not in in_hand]
    if filt.search:
        searched = _searched(session, codes, filt.search, dirty)
        if searched is None:
            return None
        whole, partial, dirty = searched
    t = AnomalyGroupCount

    def rows(rules: list[str]) -> list[sa.Select]:
        clean = sa.select(
            t.rule_code, t.key, t.field, t.n, t.oldest, t.newest, t.severity, t.sample_id
        ).where(t.rule_code.in_(rules), t.n > 0, sa.not_(t.dirty))
        if whole is not None:
            on = sa.and_(whole.c.rule_code == t.rule_code, whole.c.key == t.key)
            clean = clean.join(whole, on)
        if filt.severity:
            clean = clean.where(t.severity == filt.severity)
        if held:
            clean = clean.where(sa.tuple_(t.rule_code, t.key).not_in(held))
        parts = [clean]
        theirs = [k for k in dirty if k[0] in rules]
        if theirs:
            parts.append(group_counts.computed(theirs))
        # one branch per group matched in part: each its own index ranges (an OR of them all
        # made SQLite test every condition on every anomaly of the rules)
        clauses = filter_clauses(filt)
        parts += [
            group_counts.grouped_select(sa.and_(group_counts.members(r, k), *clauses))
            for r, k in partial
            if r in rules
        ]
        return parts

    def union(parts: list[sa.Select]) -> sa.Subquery:
        # one flat UNION ALL (SQLite takes no compound select in parentheses)
        return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("groups")

    if filt.severity:  # one row per group
        return union(rows(codes))
    # A rule whose groups all have one severity needs no merge (most: the merge of 62,000
    # groups cost as much as reading them). SQLite: its read transaction keeps one snapshot, so
    # the rules found so by a first statement stay so.
    if session.get_bind().dialect.name == "sqlite":
        several = _several_severities(session, codes)
        single = [c for c in codes if c not in several]
        parts = rows(single) if single else []
        if several:
            merged = rows([c for c in codes if c in several])
            parts.append(_merged(sa.union_all(*merged).subquery("parts")))
        return union(parts)
    # PostgreSQL reads each statement afresh (a severity could be added between two): each
    # rule's severities are read by the view's statement itself (two index seeks, computed
    # once), and its rows go as they are or merged on that one-time condition. Merging every
    # rule took 130–220 ms for the matrix queue at 1M lines (62,000 groups).
    parts = []
    for i, code in enumerate(codes):
        bounds = [
            sa.select(f(t.severity)).where(t.rule_code == code).scalar_subquery()
            for f in (sa.func.min, sa.func.max)
        ]
        one = sa.func.coalesce(bounds[0] == bounds[1], sa.false())
        parts += [part.where(one) for part in rows([code])]
        merged = _merged(sa.union_all(*rows([code])).subquery(f"parts_{i}"))
        parts.append(merged.where(sa.not_(one)))
    return union(parts)


def _searched(
    session: Session, codes: list[str], search: str, dirty: list[group_counts.GroupKey]
) -> tuple[sa.Subquery, list[tuple[str, str]], list[group_counts.GroupKey]] | None:
    """What a search matches of the groups of ``codes``, from the distinct texts of their
    anomalies (:mod:`workbench.rules.search_texts`): the groups it matches whole (every
    anomaly: the stored group is the group searched), as a subquery to join; those it matches
    in part (at most :data:`~workbench.rules.group_counts.FEW_DIRTY`: their anomalies are
    read); the ``dirty`` groups among the whole ones. ``None``: more groups matched in part."""
    matched = search_texts.matched_groups(codes, search_pattern(search)).subquery("matched")
    m = matched.c
    wanted = m.whole == 0
    if dirty:
        pairs = sorted({(r, k) for r, k, _ in dirty})
        wanted = sa.or_(wanted, sa.tuple_(m.rule_code, m.key).in_(pairs))
    listed = sa.select(m.rule_code, m.key, m.whole).where(wanted)
    found = session.execute(listed.limit(group_counts.FEW_DIRTY + len(dirty) + 1)).all()
    partial = [(r.rule_code, r.key) for r in found if not r.whole]
    if len(partial) > group_counts.FEW_DIRTY:
        return None
    whole_pairs = {(r.rule_code, r.key) for r in found if r.whole}
    # « whole »: every matched group but those listed in part — not « every combination
    # matches » read again: on PostgreSQL the view's statement has a later snapshot, where a
    # group may have turned partial (it would show nowhere) or whole (it would show twice)
    hits = search_texts.hit_groups(codes, search_pattern(search)).subquery("hits")
    whole = sa.select(hits.c.rule_code, hits.c.key)
    if partial:
        whole = whole.where(sa.tuple_(hits.c.rule_code, hits.c.key).not_in(partial))
    return whole.subquery("whole"), partial, [k for k in dirty if (k[0], k[1]) in whole_pairs]


def _several_severities(session: Session, codes: list[str]) -> set[str]:
    """The rules of ``codes`` with stored groups of more than one severity (emptied and dirty
    groups count: at worst a merge that was not needed)."""
    bounds = group_counts.severity_bounds(session, codes)
    return {c for c, (low, high) in bounds.items() if low != high}


def _only_value_groups(
    session: Session, user: User, codes: list[str], clauses: list[Any], site: int | None
) -> bool:
    """Whether every active anomaly of ``codes`` in scope has no group key and a value (one
    statement, three index seeks): then every group is (value, supplier), none to merge."""
    where = [Anomaly.rule_code.in_(codes), *clauses]
    if site is not None:
        where.append(Anomaly.site_id == site)
    others = (
        Anomaly.group_key >= "",
        sa.and_(Anomaly.group_key.is_(None), Anomaly.value.is_(None)),
        sa.and_(Anomaly.group_key.is_(None), Anomaly.value == ""),
    )
    found = [scope_anomalies(sa.select(Anomaly.id), user).where(*where, o).exists() for o in others]
    return not session.scalar(sa.select(sa.or_(*found)))


def grouped_queue(
    session: Session,
    user: User,
    queue: str,
    filt: QueueFilter,
    *,
    sort: str = "nombre",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AnomalyGroup], int]:
    """One page of groups (rule + same article / value / supplier) with their counts.

    One statement: the groups of :func:`_groups`, ordered, cut to the page (OFFSET over
    groups), the number of groups riding along as a window count; only the page's groups are
    then decorated.
    """
    found = _groups(session, user, queue, filt)
    if found is None:
        return [], 0
    g = found.c
    order = {
        "anciens": (g.oldest.asc(), g.n.desc()),
        "recents": (g.newest.desc(), g.n.desc()),
        "regle": (g.rule_code.asc(), g.n.desc()),
    }.get(sort, (g.n.desc(), g.oldest.asc()))
    stmt = sa.select(found, sa.func.count().over().label("total"))
    # PostgreSQL estimates the groups a search matches whole (a HAVING over the texts) at a few
    # dozen: it probed the stored groups once per matched group, 37,088 index look-ups (370 ms
    # of the articles searched « ref » at 1M lines) where one hash join reads them once
    searched = filt.search and _reads_stored(user, filt)
    hashed = planner_setting(session, "enable_nestloop", "off") if searched else nullcontext()
    with hashed:
        page_rows = window(stmt.order_by(*order, g.rule_code, g.key), page, per_page)
        rows = session.execute(page_rows).all()
    if rows:
        total = int(rows[0].total)
    else:  # a page past the end: count the groups
        total = session.scalar(sa.select(sa.func.count()).select_from(found)) or 0
    groups = [
        AnomalyGroup(
            rule_code=r.rule_code,
            key=r.key,
            field=r.field,
            count=int(r.n),
            oldest=r.oldest,
            newest=r.newest,
            severity=r.severity,
            sample_id=int(r.sample_id),
        )
        for r in rows
    ]
    _decorate(session, groups)
    return groups, total


def _decorate(session: Session, groups: list[AnomalyGroup]) -> None:
    from workbench.review.queries import record_labels

    samples = {
        s.id: s
        for s in session.scalars(
            sa.select(Anomaly).where(Anomaly.id.in_([g.sample_id for g in groups] or [-1]))
        )
    }
    labels = record_labels(session, list(samples.values()))
    from workbench.reference.models import Supplier

    supplier_ids = {s.supplier_id for s in samples.values() if s.supplier_id is not None}
    suppliers = dict(
        session.execute(
            sa.select(Supplier.id, Supplier.name).where(Supplier.id.in_(supplier_ids or {-1}))
        ).all()
    )
    for g in groups:
        sample = samples.get(g.sample_id)
        if sample is None:
            continue
        g.sample_kind, g.sample_record_id = sample.record_kind, sample.record_id
        g.sample_label = labels.get((sample.record_kind, sample.record_id), "")
        g.value, g.message = sample.value, sample.message
        if g.key.startswith("ref:"):
            g.reference = g.key.split("|", 1)[1] if "|" in g.key else None
        if sample.supplier_id is not None:
            g.supplier_name = suppliers.get(sample.supplier_id)


def parse_token(token: str) -> tuple[str, str] | None:
    rule_code, sep, key = (token or "").partition("|")
    return (rule_code, key) if sep and rule_code else None


def group_anomalies(
    session: Session, user: User, queue: str, filt: QueueFilter, tokens: list[str]
) -> list[Anomaly]:
    """The active anomalies of the chosen groups, within the user's scope and the filters: what a
    bulk action touches (a forged token finds nothing outside the scope)."""
    found: dict[int, Anomaly] = {}
    for token in tokens:
        parsed = parse_token(token)
        if parsed is None:
            continue
        rule_code, key = parsed
        # the group's index ranges, not a walk of the rule's (members' key check included)
        stmt = _filtered(user, queue, filt).where(
            group_counts.members(rule_code, key, active=False)
        )
        for anomaly in session.scalars(stmt.order_by(Anomaly.id)):
            found[anomaly.id] = anomaly
    return [found[i] for i in sorted(found)]


# -- lines whose nomenclature code is unknown or inactive ---------------------------------------
def invalid_code_lines(
    session: Session, user: User, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """Active NOMENCLATURE_CODE_INVALID anomalies in scope, with their line (label, site)."""
    from workbench.records.models import PurchaseLine
    from workbench.reference.models import Site

    base = _invalid_codes(user)
    total = invalid_code_count(session, user)
    if limit <= 0:
        return [], total
    rows = session.execute(
        base.with_only_columns(
            Anomaly.id,
            Anomaly.record_id,
            Anomaly.value,
            Anomaly.message,
            Anomaly.first_seen_at,
            PurchaseLine.label,
            PurchaseLine.reference,
            PurchaseLine.supplier_name,
            Site.name,
        )
        .join(PurchaseLine, PurchaseLine.id == Anomaly.record_id)
        .join(Site, Site.id == PurchaseLine.site_id)
        .where(Anomaly.record_kind == "purchase_line")
        .order_by(Anomaly.first_seen_at, Anomaly.id)
        .limit(limit)
    ).all()
    return [
        {
            "anomaly_id": r[0],
            "line_id": r[1],
            "code": r[2],
            "message": r[3],
            "since": r[4],
            "label": r[5],
            "reference": r[6],
            "supplier": r[7],
            "site": r[8],
        }
        for r in rows
    ], total


def _invalid_codes(user: User) -> sa.Select:
    # the literal active predicate: the partial indexes ``ix_anomalies_active_*`` (rule or
    # lycée, then first_seen_at, id) count and order these without a sort
    return scope_anomalies(sa.select(Anomaly), user).where(
        Anomaly.rule_code == INVALID_CODE_RULE, ACTIVE
    )


def invalid_code_count(session: Session, user: User) -> int:
    """How many lines of the user's scope have an unknown or inactive nomenclature code."""
    stmt = _invalid_codes(user).with_only_columns(sa.func.count()).order_by(None)
    return session.scalar(stmt) or 0


def group_token(anomaly: Anomaly) -> str:
    """The token of the group an anomaly belongs to (the Python twin of :data:`GROUP_KEY_SQL`)."""
    supplier = str(anomaly.supplier_id) if anomaly.supplier_id is not None else ""
    key = anomaly.group_key or (f"{anomaly.value}@{supplier}" if anomaly.value else "") or supplier
    return f"{anomaly.rule_code}|{key}"
