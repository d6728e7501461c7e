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


class ArticleGroupLine(Base):
    """Which group of the « Articles à rattacher » queue an unmapped purchase line belongs to.

    One row per unmapped line (no foreign key: a deleted line's row is how its group is found
    again). Kept by :mod:`workbench.matching.groups`.
    """

    __tablename__ = "article_group_lines"
    __table_args__ = (sa.Index("ix_article_group_lines_key", "key", "site_id"),)

    line_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(sa.Text)
    site_id: Mapped[int] = mapped_column(sa.Integer)


#: ``site_id`` of the region-wide row of a group (every lycée's lines).
REGION = 0


class ArticleGroupRow(Base):
    """One group of the queue, per lycée (``site_id``) and region-wide (``site_id`` 0).

    What the page sorts, filters and pages on: counts, amount, oldest date, the displayed label
    and supplier, the near-variant cluster, the suppliers and the folded search text.
    """

    __tablename__ = "article_groups"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "key"),
        # the page's two orders, over the first group of each cluster
        sa.Index("ix_article_groups_oldest", "site_id", "head_oldest", "oldest", "line_count"),
        sa.Index("ix_article_groups_lines", "site_id", "head_lines", "line_count", "oldest"),
        sa.Index("ix_article_groups_cluster", "cluster_key", "site_id"),
        sa.Index("ix_article_groups_fingerprint", "site_id", "fingerprint"),
        sa.Index("ix_article_groups_key", "key"),
        # the supplier filter: the group's supplier, or one of the suppliers of a label group
        sa.Index("ix_article_groups_supplier", "site_id", "supplier_siret"),
        sa.Index("ix_article_groups_supplier_count", "site_id", "supplier_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text)
    #: The lycée, or :data:`REGION` (0) for the row summing every lycée.
    site_id: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(10))
    label: Mapped[str] = mapped_column(sa.String(500))
    supplier_siret: Mapped[str] = mapped_column(sa.String(20), default="")
    supplier_name: Mapped[str | None] = mapped_column(sa.String(300))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    line_count: Mapped[int] = mapped_column(sa.Integer)
    amount: Mapped[float] = mapped_column(sa.Numeric(16, 2, asdecimal=False))
    oldest: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: Every raw label, most lines first, one per line.
    labels: Mapped[str] = mapped_column(sa.Text, default="")
    label_count: Mapped[int] = mapped_column(sa.Integer, default=1)
    supplier_count: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: Engine fingerprint of the region-wide label, and the cluster of near variants it is in.
    fingerprint: Mapped[str] = mapped_column(sa.Text, default="")
    cluster_key: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Groups of its cluster at this level, and whether it is the cluster's first group in each
    #: order of the page (oldest first; most lines first).
    cluster_size: Mapped[int] = mapped_column(sa.Integer, default=1)
    head_oldest: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    head_lines: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: ``|siret|siret|`` (supplier filter) and ``siret<TAB>name`` lines (supplier list).
    sirets: Mapped[str] = mapped_column(sa.Text, default="")
    suppliers: Mapped[str] = mapped_column(sa.Text, default="")
    #: Folded labels, label keys, references, supplier names and SIRETs, one per line.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
