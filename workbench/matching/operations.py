"""Decisions of the "Articles à rattacher" queue. Each function flushes and journals; none commits.

:func:`map_group` maps every unmapped line of a group (same supplier reference, or same
normalised label) in bulk — one ``UPDATE … RETURNING`` per chunk of labels, one bulk insert of
``Correction`` rows, one journal entry per line (``correction.applied``, for the record's
history tab) plus one for the group — then learns the decision as aliases and asks the rules
engine to re-check those lines (``records_changed``), which closes their ARTICLE_UNMAPPED
anomalies.

Scope (enforced here, whatever the form says):

- a canteen user maps the group's lines of *its own* lycées only (optionally one of them,
  ``site_ids``); a forged group key or site id simply finds no line of theirs and nothing
  changes. ``all_sites=True`` is refused to canteen users: the other lycées receive the decision
  as a *learned alias* — the same label or reference is offered first to them, with score 100 —
  but each lycée keeps the final say over its own lines;
- an administrator (region-wide) maps the lines of the sites in ``site_ids`` (the site filter
  of the page), or of every lycée with ``all_sites=True`` (the confirmation checkbox).

When an admin has set the ARTICLE_UNMAPPED approval policy to ``approval``, the mapping is
proposed instead (pending corrections, ``correction.proposed``) and nothing is learned until the
legal department approves each line.

Two simultaneous decisions on one group cannot both map or propose a line: the lines are locked
first (PostgreSQL ``FOR UPDATE``, by id), and the mapping itself is a conditional
``UPDATE … WHERE nomenclature_code IS NULL``; the second decision finds no line left and gets
the French « aucune ligne à rattacher » refusal, with nothing journaled.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record_many
from workbench.auth.models import Role, User
from workbench.core.errors import PermissionDenied, ValidationError
from workbench.core.signals import records_changed
from workbench.db import utcnow
from workbench.matching.engine import reference_key
from workbench.matching.models import MatchAlias, MatchRejection
from workbench.matching.queries import (
    RULE_CODE,
    GroupKey,
    group_clause,
    label_key,
    unmapped_clause,
)
from workbench.records.models import PurchaseLine
from workbench.reference.models import NomenclatureItem
from workbench.reference.nomenclature import active_item
from workbench.review.models import Correction, CorrectionKind, CorrectionStatus
from workbench.review.operations import approval_policy
from workbench.rules.models import ACTIVE_STATUSES, Anomaly

logger = logging.getLogger(__name__)

FIELD = "nomenclature_code"
MAPPERS = (Role.CANTEEN, Role.ADMIN)
#: Ids per ``IN (...)`` list (well under SQLite's and PostgreSQL's bind parameter limits).
CHUNK = 5000
KEY_MAX = 400


@dataclass
class MapResult:
    """What one decision did."""

    group: str
    code: str
    label: str
    line_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    is_pending: bool = False

    @property
    def count(self) -> int:
        return len(self.line_ids)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_mapper(user: User, all_sites: bool) -> None:
    if user.role not in MAPPERS:
        raise PermissionDenied("Vous ne pouvez pas rattacher d'articles à la nomenclature.")
    if all_sites and user.role != Role.ADMIN:
        raise PermissionDenied(
            "Seul un administrateur peut rattacher l'article dans les autres lycées ; votre "
            "décision leur sera proposée en premier."
        )


def _parse(group: str) -> GroupKey:
    key = GroupKey.parse(group)
    if key is None:
        raise ValidationError("Groupe d'articles invalide.")
    return key


def _lock_lines(session: Session, where: sa.ColumnElement[bool]) -> None:
    """PostgreSQL: lock the group's lines (by id, so overlapping decisions cannot deadlock).

    The statements that follow see what a concurrent decision committed meanwhile: lines it
    mapped no longer match, lines it proposed are already pending. (SQLite: the request's write
    transaction began IMMEDIATE and holds the only writer lock.)
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        sa.select(PurchaseLine.id).where(where).order_by(PurchaseLine.id).with_for_update()
    )


def _expire_lines(session: Session, ids: set[int]) -> None:
    """Bulk statements bypass the identity map: expire loaded lines so they reload."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, PurchaseLine) and obj.id in ids:
            session.expire(obj)


def map_group(
    session: Session,
    user: User,
    group: str,
    code: str,
    *,
    all_sites: bool = False,
    site_ids: Iterable[int] | None = None,
    reason: str | None = None,
) -> MapResult:
    """Map every unmapped line of ``group`` in the user's scope to ``code`` (see module doc)."""
    _check_mapper(user, all_sites)
    key = _parse(group)
    item = active_item(session, code)
    base = unmapped_clause(user, None if all_sites else site_ids, all_sites=all_sites)
    where = group_clause(session, base, key)
    if where is None:
        raise ValidationError(_NO_LINE)
    reason = (
        reason or ""
    ).strip() or f"Rattachement groupé depuis « Articles à rattacher » ({key.text[:200]})."
    _lock_lines(session, where)
    if approval_policy(session, "purchase_line", FIELD, RULE_CODE) == "approval":
        return _propose(session, user, key, item, where, reason)

    now = utcnow()
    returned = _set_code(session, where, item.code, now)
    if not returned:
        raise ValidationError(_NO_LINE)
    returned = sorted(returned, key=lambda r: r.id)
    ids = [r.id for r in returned]
    _expire_lines(session, set(ids))
    # the UPDATE already bumped each version: the correction was made against the one before
    correction_ids = _insert_corrections(
        session,
        _correction_rows(
            session, returned, CorrectionStatus.APPLIED, user, item, reason, now, version_offset=-1
        ),
    )
    result = MapResult(
        group=key.text,
        code=item.code,
        label=item.label,
        line_ids=ids,
        site_ids=sorted({r.site_id for r in returned}),
    )
    entries = _line_entries(
        "correction.applied", CorrectionStatus.APPLIED, returned, correction_ids, item, reason, key
    )
    entries.append(_group_entry("match.group_mapped", key, item, result, all_sites))
    record_many(session, entries)

    label_keys = {label_key(r.label) for r in returned}
    learned = [("label", k) for k in sorted(label_keys) if k and len(k) <= KEY_MAX]
    if key.kind == "reference":
        learned.append(("reference", reference_key(key.siret, key.reference)))
    for kind, alias_key in learned:
        if upsert_alias(session, user, kind, alias_key, item.code):
            result.aliases.append((kind, alias_key))

    session.flush()
    records_changed.send(
        session, record_kind="purchase_line", record_ids=ids, fields=("nomenclature_code",)
    )
    logger.info(
        "%s mapped %d lines of %s to %s (all_sites=%s)",
        user.email,
        len(ids),
        key.text,
        item.code,
        all_sites,
    )
    return result


_NO_LINE = (
    "Aucune ligne à rattacher dans ce groupe : elles sont déjà rattachées, ou hors de votre "
    "périmètre."
)


def _group_entry(
    action: str, key: GroupKey, item: NomenclatureItem, result: MapResult, all_sites: bool
) -> dict[str, Any]:
    return {
        "action": action,
        "target_kind": "match_group",
        "target_id": key.text[:300],
        "target_label": f"{item.code} — {item.label}",
        "after": {
            "code": item.code,
            "lines": len(result.line_ids),
            "line_ids": result.line_ids[:1000],
            "site_ids": result.site_ids,
            "all_sites": all_sites,
        },
    }


def _active_anomalies(session: Session, ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        found.update(
            (record_id, anomaly_id)
            for anomaly_id, record_id in session.execute(
                sa.select(Anomaly.id, Anomaly.record_id).where(
                    Anomaly.rule_code == RULE_CODE,
                    Anomaly.record_kind == "purchase_line",
                    Anomaly.record_id.in_(chunk),
                    Anomaly.status.in_(ACTIVE_STATUSES),
                )
            )
        )
    return found


def _insert_corrections(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert (one record per row); the new ids in the order of ``rows``.

    RETURNING is not sorted (SQLite would then insert row by row): ids are matched back by
    record id, unique within one decision.
    """
    by_record: dict[int, int] = {}
    for chunk in _chunks(rows, 1000):
        returned = session.execute(
            sa.insert(Correction).returning(Correction.id, Correction.record_id), list(chunk)
        ).all()
        by_record.update((record_id, cid) for cid, record_id in returned)
    return [by_record[row["record_id"]] for row in rows]


def _propose(
    session: Session,
    user: User,
    key: GroupKey,
    item: NomenclatureItem,
    where: sa.ColumnElement[bool],
    reason: str,
) -> MapResult:
    """Approval policy: pending corrections (one per line not already awaiting one)."""
    pending = (
        sa.select(Correction.record_id)
        .where(
            Correction.record_kind == "purchase_line",
            Correction.field == FIELD,
            Correction.status == CorrectionStatus.PENDING,
        )
        .scalar_subquery()
    )
    lines = session.execute(
        sa.select(PurchaseLine.id, PurchaseLine.site_id, PurchaseLine.version, PurchaseLine.label)
        .where(where, PurchaseLine.id.not_in(pending))
        .order_by(PurchaseLine.id)
    ).all()
    if not lines:
        raise ValidationError(
            "Aucune ligne à proposer dans ce groupe : une correction attend déjà une validation."
        )
    ids = [r.id for r in lines]
    correction_ids = _insert_corrections(
        session,
        _correction_rows(session, lines, CorrectionStatus.PENDING, user, item, reason, utcnow()),
    )
    result = MapResult(
        group=key.text,
        code=item.code,
        label=item.label,
        line_ids=ids,
        site_ids=sorted({r.site_id for r in lines}),
        is_pending=True,
    )
    entries = _line_entries(
        "correction.proposed", CorrectionStatus.PENDING, lines, correction_ids, item, reason, key
    )
    entries.append(_group_entry("match.group_proposed", key, item, result, False))
    record_many(session, entries)
    return result


# -- learning ------------------------------------------------------------------------------------
def upsert_alias(session: Session, user: User, kind: str, key: str, code: str) -> bool:
    """Store an accepted decision as an alias (``match.alias_learned``). Returns True if new.

    A key already mapped to another code is replaced by a *new* row (delete + insert), so the
    matcher cache, keyed by the max alias id, sees the change.
    """
    existing = session.scalar(
        sa.select(MatchAlias).where(MatchAlias.kind == kind, MatchAlias.key == key)
    )
    if existing is not None and existing.code == code:
        return False
    before = None
    if existing is not None:
        before = {"code": existing.code, "alias_id": existing.id}
        session.delete(existing)
        session.flush()
    alias = MatchAlias(kind=kind, key=key, code=code, created_by_id=user.id)
    session.add(alias)
    session.flush()
    record_many(
        session,
        [
            {
                "action": "match.alias_learned",
                "target_kind": "match_alias",
                "target_id": alias.id,
                "target_label": f"{kind}:{key}"[:300],
                "before": before,
                "after": {"kind": kind, "key": key, "code": code},
            }
        ],
    )
    return True


def reject_suggestion(session: Session, user: User, label_key: str, code: str) -> bool:
    """Remember that ``code`` is wrong for this normalised label (``match.rejected``).

    Returns False when it was already rejected. The suggestion is never offered again for that
    label (nor for a label with the same words in another order).
    """
    if user.role not in MAPPERS:
        raise PermissionDenied("Vous ne pouvez pas refuser de suggestion.")
    key = (label_key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationError("Libellé d'article invalide.")
    code = (code or "").strip()
    if session.scalar(sa.select(NomenclatureItem.id).where(NomenclatureItem.code == code)) is None:
        raise ValidationError(f"Le code « {code} » n'existe pas dans la nomenclature.")
    exists = session.scalar(
        sa.select(MatchRejection.id).where(MatchRejection.key == key, MatchRejection.code == code)
    )
    if exists is not None:
        return False
    rejection = MatchRejection(key=key, code=code, created_by_id=user.id)
    session.add(rejection)
    session.flush()
    record_many(
        session,
        [
            {
                "action": "match.rejected",
                "target_kind": "match_rejection",
                "target_id": rejection.id,
                "target_label": key[:300],
                "after": {"key": key, "code": code},
            }
        ],
    )
    return True


def reject_for_group(
    session: Session,
    user: User,
    group: str,
    code: str,
    *,
    site_ids: Iterable[int] | None = None,
) -> int:
    """Reject ``code`` for every normalised label of a group the user can see. Returns how many
    (label, code) pairs were newly rejected."""
    if user.role not in MAPPERS:
        raise PermissionDenied("Vous ne pouvez pas refuser de suggestion.")
    key = _parse(group)
    base = unmapped_clause(user, site_ids)
    where = group_clause(session, base, key)
    labels = (
        session.scalars(sa.select(PurchaseLine.label).where(where).distinct()).all()
        if where is not None
        else []
    )
    if not labels:
        raise ValidationError(_NO_LINE)
    keys = sorted({label_key(label) for label in labels} - {""})
    if not keys:
        raise ValidationError("Ce libellé ne contient aucun mot à retenir.")
    return sum(reject_suggestion(session, user, k, code) for k in keys)


def _correction_rows(
    session: Session,
    lines: Sequence[Any],
    status: CorrectionStatus,
    user: User,
    item: NomenclatureItem,
    reason: str,
    now: dt.datetime,
    *,
    version_offset: int = 0,
) -> list[dict[str, Any]]:
    """The Correction rows of a group mapping, one per line, linked to its active anomaly."""
    anomalies = _active_anomalies(session, [line.id for line in lines])
    applied = status == CorrectionStatus.APPLIED
    return [
        {
            "kind": CorrectionKind.EDIT.value,
            "status": status.value,
            "record_kind": "purchase_line",
            "record_id": line.id,
            "field": FIELD,
            "old_value": None,
            "new_value": item.code,
            "reason": reason,
            "rule_code": RULE_CODE,
            "anomaly_id": anomalies.get(line.id),
            "site_id": line.site_id,
            "base_version": line.version + version_offset,
            "proposed_by_id": user.id,
            "proposed_at": now,
            **({"applied_at": now} if applied else {}),
        }
        for line in lines
    ]


def _line_entries(
    action: str,
    status: CorrectionStatus,
    lines: Sequence[Any],
    correction_ids: Sequence[int],
    item: NomenclatureItem,
    reason: str,
    key: Any,
) -> list[dict[str, Any]]:
    """One journal entry per line (so each line's history shows the mapping)."""
    return [
        {
            "action": action,
            "target_kind": "purchase_line",
            "target_id": line.id,
            "target_label": line.label,
            "before": {"field": FIELD, "value": None},
            "after": {
                "correction_id": cid,
                "kind": CorrectionKind.EDIT.value,
                "status": status.value,
                "record_kind": "purchase_line",
                "record_id": line.id,
                "field": FIELD,
                "old_value": None,
                "new_value": item.code,
                "reason": reason,
                "rule_code": RULE_CODE,
                "group": key.text,
            },
        }
        for line, cid in zip(lines, correction_ids, strict=True)
    ]


# -- the queue's undo and bulk accept (« Articles à rattacher ») ---------------------------------
@dataclass
class UndoResult:
    """What undoing a decision did."""

    code: str
    line_ids: list[int] = field(default_factory=list)
    aliases: int = 0

    @property
    def count(self) -> int:
        return len(self.line_ids)


def last_mapping(session: Session, user: User) -> tuple[str, dt.datetime] | None:
    """(code, time) of the user's last group decision still applied, or ``None``.

    A group decision writes one applied correction per line, all with the same ``proposed_at``.
    """
    row = session.execute(
        sa.select(Correction.new_value, Correction.proposed_at)
        .where(
            Correction.proposed_by_id == user.id,
            Correction.record_kind == "purchase_line",
            Correction.field == FIELD,
            Correction.rule_code == RULE_CODE,
            Correction.kind == CorrectionKind.EDIT,
            Correction.status == CorrectionStatus.APPLIED,
        )
        .order_by(Correction.proposed_at.desc(), Correction.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def undo_last_mapping(session: Session, user: User, reason: str | None = None) -> UndoResult:
    """Undo the user's last group decision: its lines go back to unmapped (one *revert*
    correction per line, journaled like any revert), and the aliases it taught are forgotten.

    Lines changed since the decision (another code) are left alone. In bulk, like
    :func:`map_group`: one UPDATE per chunk, one bulk insert of corrections, one re-check.
    """
    if user.role not in MAPPERS:
        raise PermissionDenied("Vous ne pouvez pas annuler de rattachement.")
    found = last_mapping(session, user)
    if found is None:
        raise ValidationError("Aucune décision à annuler.")
    code, when = found
    originals = session.scalars(
        sa.select(Correction)
        .where(
            Correction.proposed_by_id == user.id,
            Correction.record_kind == "purchase_line",
            Correction.field == FIELD,
            Correction.rule_code == RULE_CODE,
            Correction.status == CorrectionStatus.APPLIED,
            Correction.proposed_at == when,
        )
        .order_by(Correction.record_id)
    ).all()
    originals = [c for c in originals if c.new_value == code]
    by_line = {c.record_id: c for c in originals}
    reason = (reason or "").strip() or "Annulation depuis « Articles à rattacher »."
    now = utcnow()
    returned = []
    for chunk in _chunks(sorted(by_line)):
        returned += _set_code(
            session,
            sa.and_(PurchaseLine.id.in_(chunk), PurchaseLine.nomenclature_code == code),
            None,
            now,
        )
    if not returned:
        raise ValidationError("Ces lignes ont changé depuis la décision : rien n'a été annulé.")
    returned = sorted(returned, key=lambda r: r.id)
    ids = [r.id for r in returned]
    _expire_lines(session, set(ids))
    rows = [
        {
            "kind": CorrectionKind.REVERT.value,
            "status": CorrectionStatus.APPLIED.value,
            "record_kind": "purchase_line",
            "record_id": r.id,
            "field": FIELD,
            "old_value": code,
            "new_value": None,
            "reason": reason,
            "rule_code": RULE_CODE,
            "anomaly_id": by_line[r.id].anomaly_id,
            "site_id": r.site_id,
            "base_version": r.version - 1,
            "proposed_by_id": user.id,
            "proposed_at": now,
            "applied_at": now,
            "reverts_id": by_line[r.id].id,
        }
        for r in returned
    ]
    correction_ids = _insert_corrections(session, rows)
    for chunk in _chunks([by_line[i].id for i in ids]):
        session.execute(
            sa.update(Correction)
            .where(Correction.id.in_(chunk))
            .values(status=CorrectionStatus.REVERTED)
            .execution_options(synchronize_session=False)
        )
    for original in originals:
        if original.record_id in set(ids):
            session.expire(original)
    entries = [
        {
            "action": "correction.applied",
            "target_kind": "purchase_line",
            "target_id": r.id,
            "target_label": r.label,
            "before": {"field": FIELD, "value": code},
            "after": {
                "correction_id": cid,
                "kind": CorrectionKind.REVERT.value,
                "status": CorrectionStatus.APPLIED.value,
                "record_kind": "purchase_line",
                "record_id": r.id,
                "field": FIELD,
                "old_value": code,
                "new_value": None,
                "reason": reason,
                "rule_code": RULE_CODE,
                "reverts_id": by_line[r.id].id,
            },
        }
        for r, cid in zip(returned, correction_ids, strict=True)
    ]
    entries.append(
        {
            "action": "match.group_undone",
            "target_kind": "match_group",
            "target_id": code,
            "target_label": code,
            "after": {"code": code, "lines": len(ids), "line_ids": ids[:1000]},
        }
    )
    record_many(session, entries)
    result = UndoResult(code=code, line_ids=ids)
    keys = {("label", label_key(r.label)) for r in returned}
    keys |= {
        ("reference", reference_key((r.supplier_siret or "").strip(), r.reference))
        for r in returned
        if r.reference and r.reference.strip()
    }
    result.aliases = forget_aliases(session, user, code, keys)
    session.flush()
    records_changed.send(
        session, record_kind="purchase_line", record_ids=ids, fields=("nomenclature_code",)
    )
    logger.info("%s undid the mapping of %d lines to %s", user.email, len(ids), code)
    return result


def forget_aliases(session: Session, user: User, code: str, keys: Iterable[tuple[str, str]]) -> int:
    """Delete the aliases (kind, key) → ``code`` taught by ``user`` (``match.alias_forgotten``)."""
    wanted = {k for k in keys if k[1]}
    if not wanted:
        return 0
    aliases = session.scalars(
        sa.select(MatchAlias).where(
            MatchAlias.code == code,
            MatchAlias.created_by_id == user.id,
            MatchAlias.key.in_(sorted({k for _, k in wanted})),
        )
    ).all()
    gone = [a for a in aliases if (a.kind, a.key) in wanted]
    entries = [
        {
            "action": "match.alias_forgotten",
            "target_kind": "match_alias",
            "target_id": a.id,
            "target_label": f"{a.kind}:{a.key}"[:300],
            "before": {"kind": a.kind, "key": a.key, "code": a.code},
        }
        for a in gone
    ]
    for alias in gone:
        session.delete(alias)
    if entries:
        session.flush()
        record_many(session, entries)
    return len(gone)


@dataclass
class BulkMapResult:
    """What one bulk accept did: groups mapped, lines, and refusals (French, per group)."""

    groups: int = 0
    lines: int = 0
    pending: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def map_groups(
    session: Session,
    user: User,
    decisions: Iterable[tuple[str, str]],
    *,
    site_ids: Iterable[int] | None = None,
) -> BulkMapResult:
    """Map many groups, each to its code (the bulk « accept the top suggestion »): one
    :func:`map_group` per group inside a savepoint, so one refusal leaves the others done."""
    result = BulkMapResult()
    sites = list(site_ids) if site_ids is not None else None
    for group, code in decisions:
        try:
            with session.begin_nested():
                done = map_group(session, user, group, code, site_ids=sites)
        except (ValidationError, PermissionDenied) as error:
            result.refused.append((group, error.message))
            continue
        result.groups += 1
        result.lines += done.count
        result.pending += done.count if done.is_pending else 0
    return result


def _set_code(session: Session, where: Any, code: str | None, now: Any) -> list[Any]:
    """Set the nomenclature code of the lines matching ``where`` (one bulk UPDATE, versions
    bumped) and return what the journal needs of each: id, lycée, version, label, supplier."""
    return session.execute(
        sa.update(PurchaseLine)
        .where(where)
        .values(nomenclature_code=code, version=PurchaseLine.version + 1, updated_at=now)
        .returning(
            PurchaseLine.id,
            PurchaseLine.site_id,
            PurchaseLine.version,
            PurchaseLine.label,
            PurchaseLine.supplier_siret,
            PurchaseLine.reference,
        )
        .execution_options(synchronize_session=False)
    ).all()
