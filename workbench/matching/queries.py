"""Read side of the "Articles à rattacher" queue: groups of unmapped purchase lines, the cached
matcher, the supplier matrix entries and the nomenclature search.

A *group* is what one decision maps:

- ``ref:<siret>|<reference>``: the lines of one supplier article reference (SIRET and reference
  stripped; the SIRET may be empty when the line has none);
- ``lbl:<normalised label>``: the lines *without* reference whose label has the same
  :func:`workbench.matching.engine.normalise` key (``YAOURT NAT BIO 125G`` and
  ``Yaourt nature bio x48`` are one group).

Groups are computed from ``purchase_lines`` with ``nomenclature_code IS NULL`` within the user's
scope (not from the anomalies, which only add their status): one SQL ``GROUP BY`` over
(supplier_siret, reference, label), then pandas over those aggregated rows — labels are
normalised once per *distinct* label (memoised), never once per line. The sites, the supplier
matrix entries, the anomaly statuses and the suggestions are fetched for the page's groups only.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.core.pagination import window
from workbench.db import like_escape
from workbench.matching.engine import Matcher, fold, normalise, stem
from workbench.matching.models import (
    REGION,
    ArticleGroupLine,
    ArticleGroupRow,
    MatchAlias,
    MatchRejection,
)
from workbench.records.access import scope_clause
from workbench.records.models import PurchaseLine
from workbench.reference.models import FAMILIES, MatrixEntry, NomenclatureItem, Site, Supplier
from workbench.rules.models import Anomaly

logger = logging.getLogger(__name__)

RULE_CODE = "ARTICLE_UNMAPPED"
PER_PAGE = 20
#: Fuzzy suggestions scoring below this are noise, not shown (learned aliases always are).
MIN_SCORE = 20.0
#: Oldest first by default, as every queue (PRODUCT.md); "most lines" maps the most per decision.
#: Variants shown (and mapped by one decision) with the first group of a cluster.
VARIANTS_MAX = 9
SORTS = {"anciens": "Plus anciens d'abord", "lignes": "Plus de lignes d'abord"}


# -- group keys ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=262_144)
def label_key(label: str) -> str:
    """Normalised key of a raw label (the key of label aliases and rejections), memoised."""
    return normalise(label).key


@functools.lru_cache(maxsize=262_144)
def _folded(text: str) -> str:
    return fold(text)


def reference_group_key(siret: str | None, reference: str) -> str:
    return f"ref:{(siret or '').strip()}|{reference.strip()}"


def label_group_key(label: str) -> str:
    return f"lbl:{label_key(label)}"


@dataclass(frozen=True)
class GroupKey:
    """A parsed group key: ``kind`` is ``reference`` or ``label``."""

    kind: str
    siret: str = ""
    reference: str = ""
    label_key: str = ""

    @classmethod
    def parse(cls, raw: str) -> GroupKey | None:
        raw = (raw or "").strip()
        if raw.startswith("ref:") and "|" in raw:
            siret, reference = raw[4:].split("|", 1)
            if reference.strip():
                return cls("reference", siret=siret.strip(), reference=reference.strip())
        elif raw.startswith("lbl:"):
            return cls("label", label_key=raw[4:].strip())
        return None

    @property
    def text(self) -> str:
        if self.kind == "reference":
            return f"ref:{self.siret}|{self.reference}"
        return f"lbl:{self.label_key}"


def _has_reference() -> sa.ColumnElement[bool]:
    return sa.and_(PurchaseLine.reference.is_not(None), sa.func.trim(PurchaseLine.reference) != "")


def _no_reference() -> sa.ColumnElement[bool]:
    return sa.or_(PurchaseLine.reference.is_(None), sa.func.trim(PurchaseLine.reference) == "")


def unmapped_clause(
    user: User, site_ids: Iterable[int] | None = None, *, all_sites: bool = False
) -> sa.ColumnElement[bool]:
    """Unmapped lines the user may see (``all_sites``: every lycée — callers check the role)."""
    clauses = [PurchaseLine.nomenclature_code.is_(None)]
    if not all_sites:
        clauses.append(scope_clause("purchase_line", user))
        if site_ids is not None:
            clauses.append(PurchaseLine.site_id.in_(list(site_ids) or [-1]))
    return sa.and_(*clauses)


def group_clause(
    session: Session, base: sa.ColumnElement[bool], key: GroupKey
) -> sa.ColumnElement[bool] | None:
    """The WHERE clause of the group's lines among ``base`` (looked up by indexed key in
    ``article_group_lines``); ``None`` when the group has no unmapped line at all."""
    lines = ArticleGroupLine.__table__.c
    if not session.scalar(sa.select(sa.exists().where(lines.key == key.text))):
        return None
    return sa.and_(base, PurchaseLine.id.in_(sa.select(lines.line_id).where(lines.key == key.text)))


# -- the queue -----------------------------------------------------------------------------------
@dataclass
class GroupFilter:
    site_id: int | None = None
    supplier: str | None = None
    search: str | None = None
    sort: str = "anciens"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> GroupFilter:
        def as_int(name: str) -> int | None:
            try:
                return int(args.get(name) or "")
            except ValueError:
                return None

        sort = args.get("tri") or "anciens"
        return cls(
            site_id=as_int("site"),
            supplier=(args.get("fournisseur") or "").strip() or None,
            search=(args.get("q") or "").strip() or None,
            sort=sort if sort in SORTS else "anciens",
            page=max(1, as_int("page") or 1),
        )


@dataclass
class ArticleGroup:
    key: str
    kind: str
    supplier_siret: str
    supplier_name: str | None
    reference: str | None
    label: str
    label_key: str
    line_count: int
    amount: float
    oldest: dt.date | None
    site_ids: list[int]
    sample_labels: list[str]
    labels: list[str] = field(default_factory=list)
    suppliers: int = 1
    site_names: list[str] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    quality: tuple[str, ...] = ()
    origin: tuple[str, ...] = ()
    matrix: dict[str, Any] | None = None
    anomalies: dict[str, int] = field(default_factory=dict)
    #: Other groups of its near-variant cluster (some shown as ``GroupPage.variants``).
    variant_count: int = 0


@dataclass
class GroupPage:
    groups: list[ArticleGroup]
    total_groups: int
    total_lines: int
    page: int
    per_page: int
    suppliers: list[tuple[str, str]]
    #: ``{group key: its near variants}`` (the other groups of its cluster, at most
    #: :data:`VARIANTS_MAX`).
    variants: dict[str, list[ArticleGroup]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_groups // self.per_page))


def _filters(filt: GroupFilter) -> list[sa.ColumnElement[bool]]:
    """Supplier and search filters on ``article_groups`` rows (any line of the row matches)."""
    g = ArticleGroupRow
    where = []
    if filt.supplier:
        # the row's main supplier, or (indexed OR) one of the suppliers of a many-supplier row
        where.append(
            sa.or_(
                g.supplier_siret == filt.supplier,
                sa.and_(
                    g.supplier_count > 1,
                    g.sirets.like(f"%|{like_escape(filt.supplier)}|%", escape="\\"),
                ),
            )
        )
    if filt.search:
        needle = fold(filt.search).strip()
        options = {needle, needle.replace(" ", "")} - {""}
        where.append(
            sa.or_(*(g.search_text.like(f"%{like_escape(o)}%", escape="\\") for o in options))
        )
    return where


_DISPLAY = ("label", "labels", "supplier_siret", "supplier_name", "reference", "supplier_count")


def _level(user: User, filt: GroupFilter) -> tuple[int | None, sa.ColumnElement[bool]]:
    """The one ``site_id`` of the ``article_groups`` rows the user reads (an administrator: the
    region-wide rows, or one lycée's; a canteen user: its lycée, or the one filtered), or
    ``None`` when they are summed over its lycées; and the clause of the scope's rows."""
    scope = scope_clause("article_group", user)
    if filt.site_id is not None:
        return filt.site_id, sa.and_(scope, ArticleGroupRow.site_id == filt.site_id)
    if user.role == Role.ADMIN:
        return REGION, sa.and_(scope, ArticleGroupRow.site_id == REGION)
    if len(user.site_ids) == 1:
        site = next(iter(user.site_ids))
        return site, sa.and_(scope, ArticleGroupRow.site_id == site)
    return None, scope


def _group_rows(
    user: User, filt: GroupFilter, site: int | None, level: sa.ColumnElement[bool]
) -> sa.Subquery:
    """The user's groups with the filters, one row per group: ``key``, ``cluster_key`` and
    the figures the page sorts on (the displayed columns are read for the page's groups only,
    :func:`_display`)."""
    g = ArticleGroupRow
    filters = _filters(filt)
    if site is not None:
        columns = [g.key, g.cluster_key, g.line_count, g.amount, g.oldest]
        return sa.select(*columns).where(level, *filters).subquery("g")
    stmt = sa.select(
        g.key,
        g.cluster_key,
        sa.func.sum(g.line_count).label("line_count"),
        sa.func.sum(g.amount).label("amount"),
        sa.func.min(g.oldest).label("oldest"),
    ).where(level)
    if filters:
        stmt = stmt.where(g.key.in_(sa.select(g.key).where(level, *filters)))
    return stmt.group_by(g.key, g.cluster_key).subquery("g")


def _display(
    session: Session, level: sa.ColumnElement[bool], site: int | None, rows: Sequence[Any]
) -> list[Any]:
    """``rows`` (key, cluster, figures, rank) with their displayed columns."""
    if not rows:
        return []
    g = ArticleGroupRow
    keys = sorted({r.key for r in rows})
    if site is not None:
        stmt = sa.select(g.key, *(getattr(g, c) for c in _DISPLAY)).where(level, g.key.in_(keys))
    else:
        stmt = (
            sa.select(g.key, *(sa.func.max(getattr(g, c)).label(c) for c in _DISPLAY))
            .where(level, g.key.in_(keys))
            .group_by(g.key)
        )
    found = {r.key: r._mapping for r in session.execute(stmt)}
    empty = dict.fromkeys(_DISPLAY)
    return [SimpleNamespace(**{**empty, **found.get(r.key, {}), **vars(r)}) for r in rows]


def _sort_key(sort: str) -> Any:
    """The page's order in Python (as :func:`_order`; a missing date last)."""
    far = dt.date.max

    if sort == "anciens":
        return lambda r: (r.oldest or far, -int(r.line_count or 0), r.key)
    return lambda r: (-int(r.line_count or 0), r.oldest or far, r.key)


def _clusters(rows: Sequence[Any], sort: str) -> dict[str, list[Any]]:
    """``{cluster key: its rows in the page's order}``."""
    out: dict[str, list[Any]] = {}
    for r in sorted(rows, key=_sort_key(sort)):
        out.setdefault(r.cluster_key, []).append(r)
    return out


def _order(rows: Any, sort: str) -> list[Any]:
    if sort == "anciens":
        return [rows.c.oldest.asc(), rows.c.line_count.desc(), rows.c.key.asc()]
    return [rows.c.line_count.desc(), rows.c.oldest.asc(), rows.c.key.asc()]


def supplier_choices(session: Session, level: sa.ColumnElement[bool]) -> list[tuple[str, str]]:
    """(SIRET, name) of the suppliers of the groups ``level`` selects, by name."""
    names: dict[str, str] = {}
    for text in session.scalars(sa.select(ArticleGroupRow.suppliers).where(level).distinct()):
        for pair in (text or "").split("\n"):
            siret, _, name = pair.partition("\t")
            known = names.get(siret)
            if siret and (known is None or (name and (not known or name < known))):
                names[siret] = name
    return sorted(((s, n or s) for s, n in names.items()), key=lambda t: t[1])


def group_page(session: Session, user: User, filt: GroupFilter) -> GroupPage:
    """One page of near-variant clusters of groups, from the ``article_groups`` table (see
    :mod:`workbench.matching.groups`): the first group of each cluster in the page's order,
    and up to :data:`VARIANTS_MAX` of its variants.

    Unfiltered, one level of rows (the region, or one lycée) pages on the maintained first
    group of each cluster (``head_oldest`` / ``head_lines``, indexed in both orders); with a
    filter, or summed over several lycées, the filtered rows are read once (figures only) and
    ranked here."""
    site, level = _level(user, filt)
    suppliers = supplier_choices(session, level)
    rows = _group_rows(user, filt, site, level)
    g = ArticleGroupRow
    head = g.head_oldest if filt.sort == "anciens" else g.head_lines
    figures = [g.key, g.cluster_key, g.line_count, g.amount, g.oldest]
    if site is not None and not (filt.supplier or filt.search):
        total_lines = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(g.line_count), 0)).where(level)
        )
        total_groups = session.scalar(sa.select(sa.func.count()).where(level, head.is_(True)))
        heads = [
            SimpleNamespace(**r._asdict(), rn=1)
            for r in session.execute(
                window(
                    sa.select(*figures, g.cluster_size.label("size"))
                    .where(level, head.is_(True))
                    .order_by(*_order(g.__table__, filt.sort)),
                    filt.page,
                    filt.per_page,
                )
            )
        ]
        clustered = [h.cluster_key for h in heads if h.size > 1]
        candidates = (
            session.execute(sa.select(*figures).where(level, g.cluster_key.in_(clustered))).all()
            if clustered
            else []
        )
        clusters = _clusters(candidates, filt.sort)
    else:  # one pass over the filtered rows, ranked here
        candidates = session.execute(sa.select(rows)).all()
        total_lines = sum(int(r.line_count or 0) for r in candidates)
        clusters = _clusters(candidates, filt.sort)
        total_groups = len(clusters)
        firsts = sorted((m[0] for m in clusters.values()), key=_sort_key(filt.sort))
        start = (filt.page - 1) * filt.per_page
        heads = [
            SimpleNamespace(**r._asdict(), size=len(clusters[r.cluster_key]), rn=1)
            for r in firsts[start : start + filt.per_page]
        ]
    if not total_groups:
        return GroupPage([], 0, 0, filt.page, filt.per_page, suppliers)
    others = []
    for h in heads:
        members = [r for r in clusters.get(h.cluster_key, ()) if r.key != h.key]
        others += [
            SimpleNamespace(**r._asdict(), size=h.size, rn=i + 2)
            for i, r in enumerate(members[:VARIANTS_MAX])
        ]
    heads, others = _display(session, level, site, heads), _display(session, level, site, others)
    details = _details(session, level, site, [h.key for h in heads])
    groups = [_group(h, details.get(h.key, []), site) for h in heads]
    variants: dict[str, list[ArticleGroup]] = {}
    head_of = {h.cluster_key: h for h in heads}
    for r in others:
        variants.setdefault(head_of[r.cluster_key].key, []).append(_variant(r))
    for group, h in zip(groups, heads, strict=True):
        group.variant_count = int(h.size) - 1
    _decorate(session, user, groups, filt.site_id)
    page = GroupPage(
        groups, int(total_groups), int(total_lines), filt.page, filt.per_page, suppliers
    )
    page.variants = variants
    return page


def cluster_variants(
    session: Session, user: User, key: str, site_id: int | None = None, sort: str = "anciens"
) -> list[str]:
    """The keys of the near variants shown with the group ``key`` (its cluster's other groups
    within the user's scope, in the page's order, at most :data:`VARIANTS_MAX`): what one
    decision on the card maps, looked up again on the server."""
    filt = GroupFilter(site_id=site_id, sort=sort if sort in SORTS else "anciens")
    site, level = _level(user, filt)
    rows = _group_rows(user, filt, site, level)
    cluster = sa.select(rows.c.cluster_key).where(rows.c.key == key).scalar_subquery()
    keys = session.scalars(
        sa.select(rows.c.key)
        .where(rows.c.cluster_key == cluster)
        .order_by(*_order(rows, filt.sort))
    ).all()
    if key not in keys:
        return []
    return [k for k in keys if k != key][:VARIANTS_MAX] if keys[0] == key else []


def _variant(row: Any) -> ArticleGroup:
    """A near variant shown with its cluster's first group (figures of its table row)."""
    return ArticleGroup(
        key=row.key,
        kind="reference" if row.key.startswith("ref:") else "label",
        supplier_siret="",
        supplier_name=row.supplier_name,
        reference=row.reference,
        label=row.label,
        label_key="",
        line_count=int(row.line_count),
        amount=float(row.amount or 0),
        oldest=row.oldest,
        site_ids=[],
        sample_labels=[row.label],
    )


def _group(row: Any, detail: list[Any], site: int | None) -> ArticleGroup:
    """An :class:`ArticleGroup` from its row and its lycées' rows within scope (summed over
    several lycées: label and supplier of the lycée with the most lines)."""
    if site is None:
        detail = sorted(detail, key=lambda d: (-d.line_count, d.site_id))
    source = row if site is not None or not detail else detail[0]
    labels = [x for x in (source.labels or "").split("\n") if x]
    if site is None:
        for d in detail[1:]:
            labels += [x for x in (d.labels or "").split("\n") if x and x not in labels]
    label = str(source.label)
    return ArticleGroup(
        key=row.key,
        kind="reference" if row.key.startswith("ref:") else "label",
        supplier_siret=source.supplier_siret or "",
        supplier_name=source.supplier_name,
        reference=source.reference or None,
        label=label,
        label_key=label_key(label),
        line_count=int(row.line_count),
        amount=float(row.amount or 0),
        oldest=row.oldest,
        site_ids=sorted({int(d.site_id) for d in detail}),
        sample_labels=labels[:3],
        labels=labels,
        suppliers=max(
            [int(row.supplier_count or 1)]
            + ([int(d.supplier_count) for d in detail] if site is None else [])
        ),
    )


def _details(
    session: Session, level: sa.ColumnElement[bool], site: int | None, keys: Sequence[str]
) -> dict[str, list[Any]]:
    """The lycées' rows (within scope and the lycée filter) of the page's groups."""
    if not keys:
        return {}
    g = ArticleGroupRow
    where = [g.key.in_(sorted(set(keys))), g.site_id != REGION]
    if site != REGION:  # one lycée, or the user's lycées (the region row: every lycée's rows)
        where.append(level)
    columns = [g.key, g.site_id, g.line_count]
    if site is None:  # summed over the user's lycées: the display comes from its lycées' rows
        columns += [getattr(g, c) for c in _DISPLAY]
    rows = session.execute(sa.select(*columns).where(*where)).all()
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(r.key, []).append(r)
    return out


def _decorate(
    session: Session, user: User, groups: list[ArticleGroup], site_id: int | None
) -> None:
    """Sites, signals, suggestions, supplier matrix entries and anomaly statuses of a page."""
    if not groups:
        return
    site_names = dict(
        session.execute(
            sa.select(Site.id, Site.name).where(
                Site.id.in_({s for g in groups for s in g.site_ids})
            )
        ).all()
    )
    matcher = get_matcher(session)
    suggestions = matcher.suggest(
        [g.label for g in groups],
        k=5,
        suppliers=[g.supplier_siret for g in groups],
        references=[g.reference for g in groups],
    )
    by_group: dict[int, list[dict[str, Any]]] = {}
    for row in suggestions.to_dict("records"):  # one conversion for the page
        by_group.setdefault(int(row["input_index"]), []).append(row)
    matrices = matrix_entries(session, [(g.supplier_siret, g.reference) for g in groups])
    statuses = anomaly_statuses(session, user, groups, site_id)
    for i, group in enumerate(groups):
        group.site_names = sorted(site_names.get(s, str(s)) for s in group.site_ids)
        norm = normalise(group.label)
        group.quality, group.origin = norm.signals.quality, norm.signals.origin
        group.suggestions = [
            {**row, "highlight": highlight(row["label"], row["matched_words"])}
            for row in by_group.get(i, ())
            if row["source"] != "fuzzy" or row["score"] >= MIN_SCORE
        ]
        group.anomalies = statuses.get(group.key, {})
        entry = matrices.get((group.supplier_siret, group.reference or ""))
        if entry is not None:
            code = entry.get("nomenclature_code")
            rejected = code and (group.label_key, code) in matcher.rejections
            entry["is_rejected"] = bool(rejected)
            group.matrix = entry


def highlight(label: str, matched_words: str) -> list[tuple[str, bool]]:
    """Words of a nomenclature label, each flagged when it matched a word of the article label."""
    matched = {stem(w) for w in str(matched_words or "").split()}
    parts = []
    for word in str(label).split(" "):
        core = fold(word).strip(",.;:()%'\"")
        hit = bool(core) and (
            stem(core) in matched or any(len(m) >= 4 and core.startswith(m) for m in matched)
        )
        parts.append((word, hit))
    return parts


def matrix_entries(
    session: Session, pairs: Sequence[tuple[str, str | None]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Supplier matrix entries by (supplier SIRET, reference), with the nomenclature label."""
    wanted = {(s, r) for s, r in pairs if s and r}
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(
            Supplier.siret,
            MatrixEntry.reference,
            MatrixEntry.label,
            MatrixEntry.nomenclature_code,
            MatrixEntry.labels,
            MatrixEntry.origin,
            MatrixEntry.unit_price,
            MatrixEntry.unit,
            NomenclatureItem.label.label("nomenclature_label"),
            NomenclatureItem.is_active,
        )
        .join(Supplier, Supplier.id == MatrixEntry.supplier_id)
        .outerjoin(NomenclatureItem, NomenclatureItem.code == MatrixEntry.nomenclature_code)
        .where(
            sa.or_(
                *(
                    sa.and_(Supplier.siret == s, MatrixEntry.reference == r)
                    for s, r in sorted(wanted)
                )
            )
        )
    ).all()
    found = {}
    for row in rows:
        entry = dict(row._mapping)
        entry["labels"] = [x for x in (entry["labels"] or "").split(",") if x]
        entry["is_usable"] = bool(entry["nomenclature_code"]) and bool(entry["is_active"])
        found[(row.siret, row.reference)] = entry
    return found


def _anomaly_keys(group: ArticleGroup) -> list[str]:
    """The ARTICLE_UNMAPPED ``group_key`` values of a group's lines (see
    :func:`workbench.rules.purchases.group_key`): ``ref:<SIRET>|<reference>``, or
    ``lbl:<LABEL>`` for each raw label of a label group."""
    if group.kind == "reference":
        siret = "".join(c for c in group.supplier_siret if c not in " .-")
        return [f"ref:{siret}|{group.reference or ''}"]
    return sorted({f"lbl:{str(label).strip().upper()}" for label in group.labels})


def anomaly_statuses(
    session: Session, user: User, groups: Sequence[ArticleGroup], site_id: int | None = None
) -> dict[str, dict[str, int]]:
    """Counts of ARTICLE_UNMAPPED anomalies by status (resolved ones aside), per group of the
    page: one grouped SELECT by rule and ``group_key`` (``ix_anomalies_rule_group``) within the
    user's scope — no join with the lines."""
    from workbench.rules.queries import scope_anomalies

    owner: dict[str, str] = {}
    for group in groups:
        for key in _anomaly_keys(group):
            owner.setdefault(key, group.key)
    if not owner:
        return {}
    stmt = scope_anomalies(
        sa.select(Anomaly.group_key, Anomaly.status, sa.func.count()), user
    ).where(
        Anomaly.rule_code == RULE_CODE,
        Anomaly.group_key.in_(sorted(owner)),
        Anomaly.status != "resolved",
    )
    if site_id is not None:
        stmt = stmt.where(Anomaly.site_id == site_id)
    out: dict[str, dict[str, int]] = {}
    for key, status, count in session.execute(stmt.group_by(Anomaly.group_key, Anomaly.status)):
        bucket = out.setdefault(owner[key], {})
        bucket[status] = bucket.get(status, 0) + int(count)
    return out


# -- the matcher, cached per nomenclature / aliases / rejections version -------------------------
_cache_lock = threading.Lock()
_base_cache: dict[tuple, Matcher] = {}
_full_cache: dict[tuple, Matcher] = {}


def matcher_signature(session: Session) -> tuple[tuple, tuple]:
    """(nomenclature part, learning part) of the cache key: counts and max ids of the tables."""
    nom = session.execute(
        sa.select(
            sa.func.count(NomenclatureItem.id),
            sa.func.coalesce(sa.func.max(NomenclatureItem.id), 0),
            sa.func.count(NomenclatureItem.id).filter(NomenclatureItem.is_active.is_(True)),
        )
    ).one()
    aliases = session.execute(
        sa.select(sa.func.count(MatchAlias.id), sa.func.coalesce(sa.func.max(MatchAlias.id), 0))
    ).one()
    rejections = session.execute(
        sa.select(
            sa.func.count(MatchRejection.id), sa.func.coalesce(sa.func.max(MatchRejection.id), 0)
        )
    ).one()
    nom_key = tuple(int(x) for x in nom)
    return nom_key, nom_key + tuple(int(x) for x in (*aliases, *rejections))


def nomenclature_frame(session: Session) -> pd.DataFrame:
    """Active nomenclature items as ``code,label,family`` (what the engine suggests from)."""
    rows = session.execute(
        sa.select(NomenclatureItem.code, NomenclatureItem.label, NomenclatureItem.family)
        .where(NomenclatureItem.is_active.is_(True))
        .order_by(NomenclatureItem.code)
    ).all()
    return pd.DataFrame(rows, columns=["code", "label", "family"])


def get_matcher(session: Session) -> Matcher:
    """The matcher for the current nomenclature, aliases and rejections (rebuilt on change).

    The nomenclature index (the costly part, ~0.15 s for 3,000 items) is cached on its own; a
    new alias or rejection only re-runs :meth:`Matcher.learn` on it. Alias changes always insert
    a row (operations delete and re-insert when a code changes), so the max id moves.
    """
    nom_key, full_key = matcher_signature(session)
    with _cache_lock:
        matcher = _full_cache.get(full_key)
        if matcher is not None:
            return matcher
        base = _base_cache.get(nom_key)
    if base is None:
        base = Matcher(nomenclature_frame(session))
        logger.info("matcher built for nomenclature %s", nom_key)
    aliases = session.execute(sa.select(MatchAlias.kind, MatchAlias.key, MatchAlias.code)).all()
    rejections = session.execute(sa.select(MatchRejection.key, MatchRejection.code)).all()
    matcher = base.learn(
        pd.DataFrame(aliases, columns=["kind", "key", "code"]),
        pd.DataFrame(rejections, columns=["key", "code"]),
    )
    with _cache_lock:
        _base_cache.clear()
        _base_cache[nom_key] = base
        _full_cache.clear()
        _full_cache[full_key] = matcher
    return matcher


def clear_matcher_cache() -> None:
    """Forget the cached matchers (e.g. after a nomenclature label was edited in place)."""
    with _cache_lock:
        _base_cache.clear()
        _full_cache.clear()


# -- nomenclature search -------------------------------------------------------------------------
def search_nomenclature(session: Session, query: str, limit: int = 15) -> list[dict[str, Any]]:
    """Active items whose code or label contains ``query``, then the engine's fuzzy matches."""
    query = (query or "").strip()[:200]
    if len(query) < 2:
        return []
    results: dict[str, dict[str, Any]] = {}
    like = f"%{query.lower()}%"
    rows = session.execute(
        sa.select(NomenclatureItem.code, NomenclatureItem.label, NomenclatureItem.family)
        .where(
            NomenclatureItem.is_active.is_(True),
            sa.or_(
                sa.func.lower(NomenclatureItem.code).like(like),
                sa.func.lower(NomenclatureItem.label).like(like),
            ),
        )
        .order_by(sa.func.length(NomenclatureItem.label), NomenclatureItem.code)
        .limit(limit)
    ).all()
    for code, label, family in rows:
        results[code] = {"code": code, "label": label, "family": family, "score": None}
    if len(results) < limit:
        fuzzy = get_matcher(session).suggest([query], k=limit)
        for row in fuzzy.itertuples(index=False):
            if row.code not in results and len(results) < limit and row.score >= MIN_SCORE:
                results[row.code] = {
                    "code": row.code,
                    "label": row.label,
                    "family": row.family,
                    "score": round(float(row.score), 1),
                }
    for item in results.values():
        item["family_label"] = FAMILIES.get(item["family"], item["family"])
    return list(results.values())
