"""Read side of anomalies. Scope (site, direction) is applied here so no view can forget it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User, user_sites
from workbench.rules.models import ACTIVE_STATUSES, Anomaly
from workbench.rules.registry import QUEUES, all_rules


def scope_anomalies(stmt: sa.Select, user: User) -> sa.Select:
    """Restrict a select over :class:`Anomaly` to what ``user`` may see."""
    if user.role == Role.CANTEEN:
        allowed = sa.select(user_sites.c.site_id).where(user_sites.c.user_id == user.id)
        return stmt.where(Anomaly.owner_role == Role.CANTEEN, Anomaly.site_id.in_(allowed))
    if user.role == Role.DIRECTION:
        return stmt.where(
            Anomaly.owner_role == Role.DIRECTION, Anomaly.direction_code == user.direction_code
        )
    if user.role in (Role.LEGAL, Role.ADMIN):
        return stmt
    return stmt.where(sa.false())


def queue_counts(session: Session, user: User) -> list[dict]:
    """Active anomalies per queue visible to ``user``, as ``[{key, title, count}]``."""
    rules = all_rules()
    stmt = scope_anomalies(
        sa.select(Anomaly.rule_code, sa.func.count()).where(Anomaly.status.in_(ACTIVE_STATUSES)),
        user,
    ).group_by(Anomaly.rule_code)
    counts: dict[str, int] = {key: 0 for key, q in QUEUES.items() if _queue_visible(q, user)}
    for code, count in session.execute(stmt):
        rule = rules.get(code)
        queue = rule.queue if rule else None
        if queue in counts:
            counts[queue] += count
    return [{"key": k, "title": QUEUES[k]["title"], "count": c} for k, c in counts.items()]


def _queue_visible(queue: dict[str, str], user: User) -> bool:
    return user.role in (Role.ADMIN, Role.LEGAL) or queue["role"] == user.role
