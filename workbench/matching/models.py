"""What the matching engine learns from decisions: aliases and rejections."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Base, utcnow


class MatchAlias(Base):
    """An accepted mapping: a normalised label or a supplier article reference → a code."""

    __tablename__ = "match_aliases"
    __table_args__ = (
        sa.UniqueConstraint("kind", "key"),
        sa.CheckConstraint("kind IN ('label', 'reference')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: Normalised label, or ``SIRET|reference``.
    key: Mapped[str] = mapped_column(sa.String(400))
    code: Mapped[str] = mapped_column(sa.String(30))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<MatchAlias {self.kind}:{self.key!r} → {self.code}>"


class MatchRejection(Base):
    """A suggestion refused for a normalised label: never offered again for that label."""

    __tablename__ = "match_rejections"
    __table_args__ = (sa.UniqueConstraint("key", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400))
    code: Mapped[str] = mapped_column(sa.String(30))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<MatchRejection {self.key!r} ✗ {self.code}>"
