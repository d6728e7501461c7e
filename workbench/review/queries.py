"""Read side of the review feature: a record with its anomalies, corrections and pending proposals."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.review.models import Correction, CorrectionStatus
from workbench.rules.models import Anomaly


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
