"""Users, roles and scopes."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from workbench.db import Base, utcnow
from workbench.reference.models import Direction, Site


class Role(enum.StrEnum):
    CANTEEN = "canteen"
    DIRECTION = "direction"
    LEGAL = "legal"
    ADMIN = "admin"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CANTEEN: "Équipe de cantine",
    Role.DIRECTION: "Direction",
    Role.LEGAL: "Service juridique",
    Role.ADMIN: "Administration",
    Role.VIEWER: "Observatoire (lecture)",
}

user_sites = sa.Table(
    "user_sites",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('canteen', 'direction', 'legal', 'admin', 'viewer')", name="role_known"
        ),
        sa.CheckConstraint(
            "role <> 'direction' OR direction_code IS NOT NULL", name="direction_scoped"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(12))
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"))
    is_active_account: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, order_by="Site.uai")
    direction: Mapped[Direction | None] = relationship()

    # -- Flask-Login ---------------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    # -- behaviour -----------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: str) -> bool:
        return self.role in {str(r) for r in roles}

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def site_ids(self) -> set[int]:
        return {s.id for s in self.sites}

    @property
    def is_region_wide(self) -> bool:
        return self.role in (Role.ADMIN, Role.LEGAL, Role.VIEWER)

    def can_see_site(self, site_id: int | None) -> bool:
        if self.is_region_wide:
            return True
        if self.role == Role.CANTEEN:
            return site_id in self.site_ids
        return False

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
