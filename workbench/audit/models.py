"""The append-only, hash-chained audit journal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Base, utcnow

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One journal entry. UPDATE and DELETE are refused by database triggers (see migrations)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        # A fork of the chain would give two entries the same predecessor.
        sa.UniqueConstraint("prev_hash"),
        sa.Index("ix_audit_entries_target", "target_kind", "target_id"),
        sa.Index("ix_audit_entries_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    actor_email: Mapped[str | None] = mapped_column(sa.String(254))
    actor_role: Mapped[str | None] = mapped_column(sa.String(12))
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    target_kind: Mapped[str | None] = mapped_column(sa.String(30))
    target_id: Mapped[str | None] = mapped_column(sa.String(100))
    target_label: Mapped[str | None] = mapped_column(sa.String(300))
    before: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)
    after: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    import_batch_id: Mapped[int | None] = mapped_column(sa.Integer)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.target_kind}:{self.target_id}>"
