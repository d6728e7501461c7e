"""Corrections: applied changes and proposals awaiting the legal department's decision."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Base, utcnow
from workbench.rules.group_counts import group_key_sql


class CorrectionStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    REVERTED = "reverted"
    CONFLICT = "conflict"


CORRECTION_STATUS_LABELS = {
    "pending": "En attente de validation",
    "applied": "Appliquée",
    "rejected": "Refusée",
    "reverted": "Annulée",
    "conflict": "En conflit",
}
CORRECTION_KIND_LABELS = {
    "edit": "Correction",
    "dismissal": "Mise à l'écart",
    "revert": "Annulation",
}


class CorrectionKind(enum.StrEnum):
    EDIT = "edit"
    DISMISSAL = "dismissal"
    REVERT = "revert"


class Correction(Base):
    """One field change of one record (or one dismissal), applied or awaiting approval."""

    __tablename__ = "corrections"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'applied', 'rejected', 'reverted', 'conflict')",
            name="status_known",
        ),
        sa.CheckConstraint("kind IN ('edit', 'dismissal', 'revert')", name="kind_known"),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> proposed_by_id", name="four_eyes"
        ),
        sa.Index("ix_corrections_record", "record_kind", "record_id", "field"),
        sa.Index("ix_corrections_status", "status", "proposed_at"),
        # « Mes propositions » and its badge: one proposer's corrections, newest first
        sa.Index("ix_corrections_proposer", "proposed_by_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default=CorrectionKind.EDIT)
    status: Mapped[str] = mapped_column(sa.String(10))
    record_kind: Mapped[str] = mapped_column(sa.String(20))
    record_id: Mapped[int] = mapped_column(sa.Integer)
    field: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    old_value: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)
    new_value: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    rule_code: Mapped[str | None] = mapped_column(sa.String(40))
    anomaly_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("anomalies.id", ondelete="SET NULL"), index=True
    )
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"))
    #: Version of the record the proposal was made against (optimistic locking).
    base_version: Mapped[int | None] = mapped_column(sa.Integer)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
    applied_at: Mapped[dt.datetime | None] = mapped_column()
    reverts_id: Mapped[int | None] = mapped_column(sa.ForeignKey("corrections.id"))

    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    def can_decide(self, user) -> bool:  # type: ignore[no-untyped-def]
        """Four eyes: a legal user who did not propose it, and whose account the proposer did not
        create, elevate or set the password of, decides a pending correction."""
        return (
            self.status == CorrectionStatus.PENDING
            and user.role == "legal"
            and user.id != self.proposed_by_id
            and not user.is_controlled_by(self.proposed_by_id)  # auth/powers.may_decide_for
        )

    def __repr__(self) -> str:
        return (
            f"<Correction {self.id} {self.record_kind}:{self.record_id}.{self.field} {self.status}>"
        )


class ProposalMark(Base):
    """When a user last read « Mes propositions »: decisions after it are new (the badge).

    Bookkeeping of the reader, not of the data: it is not journaled (like a read receipt).
    """

    __tablename__ = "proposal_marks"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ProposalMark user {self.user_id} {self.seen_at:%Y-%m-%d %H:%M}>"


# -- covering indexes of the grouped and sorted queue views --------------------------------------
#: The group key of an anomaly (see :func:`workbench.review.groups.group_token`): its supplier
#: article (``group_key``), else its value at its supplier, else its supplier.
GROUP_KEY_SQL = group_key_sql()
#: The columns the grouped view groups and aggregates on and the sorted line views order by,
#: after the scope: one index-only walk, in (rule, ``group_key``) order, over the active
#: anomalies of one rule (no table lookups).
QUEUE_COVER_COLUMNS = (
    "rule_code",
    "group_key",
    "value",
    "supplier_id",
    "first_seen_at",
    "severity",
    "field",
    "status",
    "id",
)
#: Name → leading scope columns: the region (admin, legal, direction) and the lycée (canteens).
QUEUE_COVER_INDEXES = {
    "ix_anomalies_cover_rule": (),
    "ix_anomalies_cover_site": ("site_id", "owner_role"),
}


def _queue_cover_indexes() -> None:
    from workbench.rules.models import ACTIVE_WHERE, Anomaly

    columns = Anomaly.__table__.c
    for name, scope in QUEUE_COVER_INDEXES.items():
        sa.Index(
            name,
            *(columns[c] for c in (*scope, *QUEUE_COVER_COLUMNS)),
            sqlite_where=sa.text(ACTIVE_WHERE),
            postgresql_where=sa.text(ACTIVE_WHERE),
        )


_queue_cover_indexes()
