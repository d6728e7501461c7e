"""Read side of anomalies. Scope (site, direction) is applied here so no view can forget it."""

from __future__ import annotations

from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.records.access import scope_clause
from workbench.rules.models import ACTIVE_STATUSES, Anomaly, AnomalyCount
from workbench.rules.registry import QUEUES, all_rules


def scope_anomalies(stmt: sa.Select, user: User) -> sa.Select:
    """Restrict a select over :class:`Anomaly` to what ``user`` may see (the one scope function)."""
    return stmt.where(scope_clause("anomaly", user))


def scope_counts(stmt: sa.Select, user: User) -> sa.Select:
    """Restrict a select over :class:`AnomalyCount` as :func:`scope_anomalies` restricts
    anomalies (the same scope function, on the counts' columns)."""
    return stmt.where(scope_clause("anomaly_count", user))


def active_counts(session: Session, user: User, *, site_id: int | None = None) -> dict[str, int]:
    """Active anomalies per rule code visible to ``user`` (maintained counts, no scan)."""
    stmt = scope_counts(
        sa.select(AnomalyCount.rule_code, sa.func.sum(AnomalyCount.n)).where(
            AnomalyCount.status.in_(ACTIVE_STATUSES)
        ),
        user,
    ).group_by(AnomalyCount.rule_code)
    if site_id is not None:
        stmt = stmt.where(AnomalyCount.site_id == site_id)
    return {code: int(n or 0) for code, n in session.execute(stmt)}


def queue_counts(session: Session, user: User) -> list[dict]:
    """Active anomalies per queue visible to ``user``, as ``[{key, title, count}]``
    (from the maintained ``anomaly_counts``: a few hundred rows, whatever the anomalies)."""
    rules = all_rules()
    counts: dict[str, int] = {key: 0 for key, q in QUEUES.items() if _queue_visible(q, user)}
    for code, count in active_counts(session, user).items():
        rule = rules.get(code)
        queue = rule.queue if rule else None
        if queue in counts:
            counts[queue] += count
    return [{"key": k, "title": QUEUES[k]["title"], "count": c} for k, c in counts.items()]


def _queue_visible(queue: dict[str, str], user: User) -> bool:
    return user.role in (Role.ADMIN, Role.LEGAL) or queue["role"] == user.role


def open_counts_by_rule(session: Session) -> dict[str, dict[str, int]]:
    """``{rule_code: {status: count}}`` over every anomaly (maintained counts)."""
    counts: dict[str, dict[str, int]] = {}
    stmt = (
        sa.select(AnomalyCount.rule_code, AnomalyCount.status, sa.func.sum(AnomalyCount.n))
        .group_by(AnomalyCount.rule_code, AnomalyCount.status)
        .having(sa.func.sum(AnomalyCount.n) != 0)
    )
    for code, status, count in session.execute(stmt):
        counts.setdefault(code, {})[status] = int(count)
    return counts


EXPORT_COLUMNS = (
    "rule",
    "severity",
    "status",
    "record_kind",
    "record_key",
    "record_label",
    "field",
    "value",
    "message",
)


def _record_keys(session: Session, kind: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Record id → (natural key, label) for one record kind.

    Keys: purchase line ``line_key``; supplier SIRET (``#id`` without one); contract
    ``acheteur/id``; matrix entry ``SIRET/reference``; nomenclature item its code.
    """
    from workbench.records.models import Contract, PurchaseLine
    from workbench.reference.models import MatrixEntry, NomenclatureItem, Supplier

    if kind == "purchase_line":
        stmt = sa.select(PurchaseLine.id, PurchaseLine.line_key, PurchaseLine.label)
        model = PurchaseLine
    elif kind == "supplier":
        stmt = sa.select(
            Supplier.id,
            sa.func.coalesce(Supplier.siret, "#" + sa.cast(Supplier.id, sa.String)),
            Supplier.name,
        )
        model = Supplier
    elif kind == "contract":
        stmt = sa.select(
            Contract.id,
            Contract.buyer_id + "/" + Contract.contract_id,
            sa.func.coalesce(Contract.object, Contract.contract_id),
        )
        model = Contract
    elif kind == "matrix_entry":
        stmt = sa.select(
            MatrixEntry.id,
            sa.func.coalesce(Supplier.siret, "#" + sa.cast(Supplier.id, sa.String))
            + "/"
            + MatrixEntry.reference,
            MatrixEntry.label,
        ).join(Supplier, Supplier.id == MatrixEntry.supplier_id)
        model = MatrixEntry
    elif kind == "nomenclature_item":
        stmt = sa.select(NomenclatureItem.id, NomenclatureItem.code, NomenclatureItem.label)
        model = NomenclatureItem
    else:
        return {}
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for record_id, key, label in session.execute(stmt.where(model.id.in_(chunk))):
            found[record_id] = (key or "", label or "")
    return found


def export_anomalies(
    session: Session, handle: IO[str], *, statuses: tuple[str, ...] | None = None
) -> int:
    """Write every anomaly (or those with ``statuses``) as CSV with :data:`EXPORT_COLUMNS`."""
    import csv

    from workbench.core.csvsafe import safe_cell

    stmt = sa.select(
        Anomaly.rule_code,
        Anomaly.severity,
        Anomaly.status,
        Anomaly.record_kind,
        Anomaly.record_id,
        Anomaly.field,
        Anomaly.value,
        Anomaly.message,
    ).order_by(Anomaly.rule_code, Anomaly.record_kind, Anomaly.record_id, Anomaly.field)
    if statuses:
        stmt = stmt.where(Anomaly.status.in_(statuses))
    rows = session.execute(stmt).all()
    keys: dict[str, dict[int, tuple[str, str]]] = {}
    for kind in {r.record_kind for r in rows}:
        keys[kind] = _record_keys(
            session, kind, sorted({r.record_id for r in rows if r.record_kind == kind})
        )
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        key, label = keys.get(r.record_kind, {}).get(r.record_id, ("", ""))
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    r.rule_code,
                    r.severity,
                    r.status,
                    r.record_kind,
                    key,
                    label,
                    r.field,
                    r.value or "",
                    r.message,
                )
            ]
        )
    return len(rows)
