"""API tokens (one per source system, hashed at rest) and the batches each one posted."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Base, utcnow

#: What a token may post: the batch kinds of the API.
TOKEN_KINDS = ("purchases", "contracts", "matrix")


class ApiToken(Base):
    """A source system's credential: only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The first characters of the token, shown by ``workbench tokens list`` to recognise it.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    #: Comma-separated kinds of :data:`TOKEN_KINDS`.
    kinds: Mapped[str] = mapped_column(sa.String(100))
    #: UAIs of the lycées whose purchase lines the token may post (empty: every lycée).
    site_uais: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, kind: str) -> bool:
        return kind in self.kind_list

    def __repr__(self) -> str:
        return f"<ApiToken {self.name} {self.kinds}>"


class ApiBatch(Base):
    """Which token posted which import batch (a token reads back only its own batches)."""

    __tablename__ = "api_batches"

    import_batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    api_token_id: Mapped[int] = mapped_column(
        sa.ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )

    def __repr__(self) -> str:
        return f"<ApiBatch {self.import_batch_id} by {self.api_token_id}>"
