"""Proposals seen from both sides: « À valider » (legal decides) and « Mes propositions »
(the proposer learns the outcome).

Read side (filters, pages, facets, record names), the proposer's read marker, and
:func:`decide_selection`, which decides a mixed selection group by group through
:func:`workbench.review.operations.decide_many` (each group homogeneous: same kind, rule, record
kind and field), in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from workbench.auth.models import Role, User
from workbench.core.pagination import window
from workbench.db import utcnow
from workbench.records.access import RECORD_KIND_LABELS
from workbench.review import operations
from workbench.review.labels import field_label, rule_title
from workbench.review.models import Correction, CorrectionStatus, ProposalMark

#: Ids per ``IN (...)`` list.
CHUNK = 5000


# -- « À valider » --------------------------------------------------------------------------------
@dataclass
class ApprovalFilter:
    """Filters of « À valider », parsed from the query string (French parameter names)."""

    rule_code: str | None = None
    record_kind: str | None = None
    proposer_id: int | None = None
    older_than_days: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ApprovalFilter:
        def as_int(name: str) -> int | None:
            value = str(args.get(name) or "").strip()
            return int(value) if value.isdigit() else None

        kind = args.get("type") or None
        return cls(
            rule_code=(args.get("regle") or "").strip() or None,
            record_kind=kind if kind in RECORD_KIND_LABELS else None,
            proposer_id=as_int("proposeur"),
            older_than_days=as_int("age"),
        )

    def as_args(self) -> dict[str, Any]:
        """The query-string form of the filter (for links and the hidden fields of a form)."""
        args = {
            "regle": self.rule_code,
            "type": self.record_kind,
            "proposeur": self.proposer_id,
            "age": self.older_than_days,
        }
        return {k: v for k, v in args.items() if v not in (None, "")}

    def apply(self, stmt: sa.Select) -> sa.Select:
        if self.rule_code == "-":
            stmt = stmt.where(Correction.rule_code.is_(None))
        elif self.rule_code:
            stmt = stmt.where(Correction.rule_code == self.rule_code)
        if self.record_kind:
            stmt = stmt.where(Correction.record_kind == self.record_kind)
        if self.proposer_id:
            stmt = stmt.where(Correction.proposed_by_id == self.proposer_id)
        if self.older_than_days:
            stmt = stmt.where(
                Correction.proposed_at <= utcnow() - dt.timedelta(days=self.older_than_days)
            )
        return stmt


def _pending(user: User) -> sa.Select:
    stmt = sa.select(Correction).where(Correction.status == CorrectionStatus.PENDING)
    if user.role not in (Role.LEGAL, Role.ADMIN):
        return stmt.where(sa.false())
    return stmt


def pending_page(
    session: Session, user: User, filt: ApprovalFilter, page: int = 1, per_page: int = 50
) -> tuple[list[Correction], int]:
    """Pending proposals matching ``filt``, oldest first. Only legal and admin read this queue."""
    stmt = filt.apply(_pending(user))
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        window(
            stmt.options(selectinload(Correction.proposed_by)).order_by(
                Correction.proposed_at, Correction.id
            ),
            page,
            per_page,
        )
    ).all()
    return list(rows), total


def decidable_ids(session: Session, user: User, filt: ApprovalFilter) -> list[int]:
    """Every pending proposal matching ``filt`` that ``user`` may decide (not their own)."""
    stmt = filt.apply(
        sa.select(Correction.id).where(
            Correction.status == CorrectionStatus.PENDING, Correction.proposed_by_id != user.id
        )
    )
    if user.role != Role.LEGAL:
        return []
    return list(session.scalars(stmt.order_by(Correction.id)))


def pending_facets(session: Session, user: User) -> dict[str, list[tuple[Any, str, int]]]:
    """The choices of the filters with their counts: rules, record kinds, proposers."""
    if user.role not in (Role.LEGAL, Role.ADMIN):
        return {"rules": [], "kinds": [], "proposers": []}
    base = Correction.status == CorrectionStatus.PENDING
    rules = [
        (code or "-", rule_title(code) if code else "Sans règle (correction libre)", n)
        for code, n in session.execute(
            sa.select(Correction.rule_code, sa.func.count())
            .where(base)
            .group_by(Correction.rule_code)
        )
    ]
    kinds = [
        (kind, RECORD_KIND_LABELS.get(kind, kind), n)
        for kind, n in session.execute(
            sa.select(Correction.record_kind, sa.func.count())
            .where(base)
            .group_by(Correction.record_kind)
        )
    ]
    proposers = [
        (uid, name or email, n)
        for uid, name, email, n in session.execute(
            sa.select(User.id, User.name, User.email, sa.func.count(Correction.id))
            .join(Correction, Correction.proposed_by_id == User.id)
            .where(base)
            .group_by(User.id, User.name, User.email)
        )
    ]
    return {
        "rules": sorted(rules, key=lambda r: r[1]),
        "kinds": sorted(kinds, key=lambda r: r[1]),
        "proposers": sorted(proposers, key=lambda r: str(r[1])),
    }


def record_names(session: Session, corrections: Iterable[Correction]) -> dict[tuple[str, int], str]:
    """What a person recognises each correction's record by (one query per record kind)."""
    from workbench.rules.queries import _record_keys

    wanted: dict[str, set[int]] = {}
    for c in corrections:
        wanted.setdefault(c.record_kind, set()).add(c.record_id)
    names: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        for record_id, (key, label) in _record_keys(session, kind, sorted(ids)).items():
            names[(kind, record_id)] = label or key
    return names


def _shape_label(kind: str, rule_code: str | None, record_kind: str, field: str) -> str:
    what = {"dismissal": "mise à l'écart", "revert": "annulation"}.get(kind, "correction")
    where = RECORD_KIND_LABELS.get(record_kind, record_kind)
    field_text = f" · {field_label(record_kind, field)}" if field else ""
    rule_text = f" — {rule_title(rule_code)}" if rule_code else ""
    return f"{where}{field_text} ({what}){rule_text}"


@dataclass
class GroupOutcome:
    """One homogeneous group of a mixed selection and what its decision did."""

    label: str
    decided: int
    conflicts: int


def decide_selection(
    session: Session, user: User, correction_ids: Iterable[int], approve: bool, comment: str
) -> list[GroupOutcome]:
    """Decide a selection that may mix rules and fields: one ``decide_many`` per homogeneous
    group (same kind, rule, record kind and field), all in the caller's transaction.

    Four eyes and the mandatory refusal comment are checked by ``decide`` for every proposal;
    the first refusal aborts the whole selection (the caller rolls back).
    """
    ids = sorted({int(i) for i in correction_ids})
    shapes: dict[tuple[str, str | None, str, str], list[int]] = {}
    for start in range(0, len(ids), CHUNK):
        for cid, kind, rule, record_kind, field in session.execute(
            sa.select(
                Correction.id,
                Correction.kind,
                Correction.rule_code,
                Correction.record_kind,
                Correction.field,
            ).where(Correction.id.in_(ids[start : start + CHUNK]))
        ):
            shapes.setdefault((kind, rule, record_kind, field), []).append(cid)
    if not shapes:
        from workbench.core.errors import ValidationError

        raise ValidationError("Aucune proposition sélectionnée.")
    outcomes = []
    for shape, group_ids in sorted(shapes.items(), key=lambda item: _shape_label(*item[0])):
        done = []
        for start in range(0, len(group_ids), CHUNK):
            chunk = group_ids[start : start + CHUNK]
            done += operations.decide_many(session, user, chunk, approve, comment)
        outcomes.append(
            GroupOutcome(
                label=_shape_label(*shape),
                decided=len(done),
                conflicts=sum(1 for c in done if c.status == CorrectionStatus.CONFLICT),
            )
        )
    return outcomes


# -- « Mes propositions » ------------------------------------------------------------------------
#: The views of « Mes propositions »: what waited for a decision (default), or everything.
MINE_VIEWS = {
    "decisions": "Soumises à validation",
    "attente": "En attente",
    "decidees": "Décidées",
    "toutes": "Toutes mes corrections",
}


def _mine(user: User, view: str) -> sa.Select:
    stmt = sa.select(Correction).where(Correction.proposed_by_id == user.id)
    if view == "attente":
        return stmt.where(Correction.status == CorrectionStatus.PENDING)
    if view == "decidees":
        return stmt.where(Correction.decided_by_id.is_not(None))
    if view == "toutes":
        return stmt
    return stmt.where(
        sa.or_(Correction.status == CorrectionStatus.PENDING, Correction.decided_by_id.is_not(None))
    )


def my_proposals(
    session: Session, user: User, view: str = "decisions", page: int = 1, per_page: int = 50
) -> tuple[list[Correction], int]:
    """The user's proposals, the latest decided or proposed first."""
    stmt = _mine(user, view if view in MINE_VIEWS else "decisions")
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        window(
            stmt.options(selectinload(Correction.decided_by)).order_by(
                sa.func.coalesce(Correction.decided_at, Correction.proposed_at).desc(),
                Correction.id.desc(),
            ),
            page,
            per_page,
        )
    ).all()
    return list(rows), total


def seen_at(session: Session, user: User) -> dt.datetime | None:
    mark = session.get(ProposalMark, user.id)
    return mark.seen_at if mark is not None else None


def unseen_decisions(session: Session, user: User) -> int:
    """Decisions on the user's proposals made since they last read « Mes propositions »."""
    stmt = sa.select(sa.func.count()).where(
        Correction.proposed_by_id == user.id, Correction.decided_at.is_not(None)
    )
    last = seen_at(session, user)
    if last is not None:
        stmt = stmt.where(Correction.decided_at > last)
    return session.scalar(stmt) or 0


def mark_seen(session: Session, user: User, when: dt.datetime | None = None) -> None:
    """Remember that the user has read their decisions up to now (flushes, never commits)."""
    mark = session.get(ProposalMark, user.id)
    if mark is None:
        session.add(ProposalMark(user_id=user.id, seen_at=when or utcnow()))
    else:
        mark.seen_at = when or utcnow()
    session.flush()


def decided_today(session: Session, user: User, rule_code: str) -> tuple[int, int]:
    """(decisions, lines) the user made today (Europe/Paris) on ``rule_code``: a group decision
    writes one correction per line, all with the same ``proposed_at``."""
    from workbench.core.formatting import PARIS
    from workbench.review.models import CorrectionKind

    midnight = dt.datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    row = session.execute(
        sa.select(sa.func.count(sa.distinct(Correction.proposed_at)), sa.func.count()).where(
            Correction.proposed_by_id == user.id,
            Correction.rule_code == rule_code,
            Correction.kind == CorrectionKind.EDIT,
            Correction.status.in_(
                (CorrectionStatus.APPLIED, CorrectionStatus.PENDING, CorrectionStatus.REVERTED)
            ),
            Correction.proposed_at >= midnight.astimezone(dt.UTC),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)
