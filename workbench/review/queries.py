"""Read side of the review feature: a record with its anomalies, corrections and pending proposals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.db import utcnow
from workbench.review.models import Correction, CorrectionStatus
from workbench.rules.models import ACTIVE_STATUSES, Anomaly
from workbench.rules.queries import scope_anomalies
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
        stmt.order_by(Correction.proposed_at, Correction.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


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
        )


def queue_rule_codes(queue: str) -> list[str]:
    return [code for code, rule in all_rules().items() if rule.queue == queue]


#: Sortable columns of a queue (``tri=<key>``, ``tri=-<key>`` descending).
SORT_COLUMNS = {
    "depuis": Anomaly.first_seen_at,
    "regle": Anomaly.rule_code,
    "gravite": Anomaly.severity,
    "etat": Anomaly.status,
    "champ": Anomaly.field,
    "valeur": Anomaly.value,
}


def queue_page(
    session: Session,
    user: User,
    queue: str,
    filt: QueueFilter,
    page: int,
    per_page: int,
    sort: str | None = None,
) -> tuple[list[Anomaly], int]:
    """One page of a queue's anomalies within the user's scope, oldest first by default
    (``sort``: a key of :data:`SORT_COLUMNS`, ``-`` in front for descending)."""
    stmt = scope_anomalies(sa.select(Anomaly), user).where(
        Anomaly.rule_code.in_(queue_rule_codes(queue))
    )
    if filt.status:
        stmt = stmt.where(Anomaly.status == filt.status)
    else:
        stmt = stmt.where(Anomaly.status.in_(ACTIVE_STATUSES))
    if filt.site_id:
        stmt = stmt.where(Anomaly.site_id == filt.site_id)
    if filt.rule_code:
        stmt = stmt.where(Anomaly.rule_code == filt.rule_code)
    if filt.severity:
        stmt = stmt.where(Anomaly.severity == filt.severity)
    if filt.supplier_id:
        stmt = stmt.where(Anomaly.supplier_id == filt.supplier_id)
    if filt.older_than_days:
        limit = utcnow() - dt.timedelta(days=filt.older_than_days)
        stmt = stmt.where(Anomaly.first_seen_at <= limit)
    if filt.search:
        pattern = f"%{filt.search}%"
        stmt = stmt.where(
            sa.or_(
                Anomaly.message.ilike(pattern),
                Anomaly.value.ilike(pattern),
                Anomaly.group_key.ilike(pattern),
            )
        )
    total = (
        session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    order = (
        (Anomaly.first_seen_at.desc(), Anomaly.id.desc())
        if filt.newest_first
        else (Anomaly.first_seen_at, Anomaly.id)
    )
    column = SORT_COLUMNS.get((sort or "").lstrip("-"))
    if column is not None:
        order = (column.desc() if sort.startswith("-") else column.asc(), *order)
    rows = session.scalars(
        stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total


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


def field_label(record_kind: str, field: str) -> str:
    from workbench.review.fields import EDITABLE, HOLDER_FIELD

    definition = EDITABLE.get(record_kind, {}).get(field)
    if definition is not None:
        return definition.label
    match = HOLDER_FIELD.match(field)
    if match:
        return (
            "Titulaire" if match["list"] in ("titulaires", "concessionnaires") else "Sous-traitant"
        ) + f" n° {int(match['pos']) + 1}"
    return field or "—"
