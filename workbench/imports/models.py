"""Import batches: the provenance of every operational record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Base, utcnow

IMPORT_KINDS = (
    "contracts",
    "purchases",
    "matrix",
    "suppliers",
    "nomenclature",
    "sites",
    "directions",
    "users",
)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    __table_args__ = (
        sa.CheckConstraint("status IN ('applied', 'rejected', 'dry_run')", name="status_known"),
        sa.Index(
            "uq_import_batches_applied_sha256",
            "kind",
            "sha256",
            unique=True,
            sqlite_where=sa.text("status = 'applied'"),
            postgresql_where=sa.text("status = 'applied'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    file_format: Mapped[str | None] = mapped_column(sa.String(20))
    file_name: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(10))
    is_partial: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    row_count: Mapped[int] = mapped_column(default=0)
    inserted_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    conflict_count: Mapped[int] = mapped_column(default=0)
    #: The problems found: ``[{"row": 12, "column": "prix_ht", "value": "abc", "message": "…", "level": "error"}]``.
    report: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    created_by = relationship("User")

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.kind} {self.file_name!r} {self.status}>"
