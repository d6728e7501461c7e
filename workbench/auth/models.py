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

ELEVATED_ROLES = frozenset({Role.LEGAL, Role.ADMIN})

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
    #: Bumped on logout, password change, deactivation and role or scope change: every
    #: session cookie carries the version it was opened with and dies when it differs.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: Who, on the web, created the account, last granted it the legal or admin role, last
    #: set its password (``None``: the console operator or the account itself). Whoever
    #: holds one of these powers over an account may not have it decide their proposals.
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    elevated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    password_set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, order_by="Site.uai")
    direction: Mapped[Direction | None] = relationship()

    # -- Flask-Login ---------------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        """``id:session_version``: a cookie of an older version no longer loads the user."""
        return f"{self.id}:{self.session_version or 1}"

    def end_sessions(self) -> None:
        """Invalidate every session (and remember cookie) opened so far for this account."""
        self.session_version = (self.session_version or 1) + 1

    @property
    def is_elevated(self) -> bool:
        """Legal and admin accounts: granting these roles needs a second person's approval."""
        return self.role in ELEVATED_ROLES

    def is_controlled_by(self, other_id: int | None) -> bool:
        """Did ``other_id`` create this account, elevate it or set its password on the web?"""
        return other_id is not None and other_id in (
            self.created_by_id,
            self.elevated_by_id,
            self.password_set_by_id,
        )

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


class AccountRequestKind(enum.StrEnum):
    GRANT_ROLE = "grant_role"
    RESET_PASSWORD = "reset_password"


class AccountRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


ACCOUNT_REQUEST_KIND_LABELS = {
    "grant_role": "Attribution de rôle",
    "reset_password": "Nouveau mot de passe",
}
ACCOUNT_REQUEST_STATUS_LABELS = {
    "pending": "En attente",
    "approved": "Approuvée",
    "rejected": "Refusée",
    "cancelled": "Remplacée",
}


class AccountRequest(Base):
    """A change of powers made on the web that waits for a second legal or admin user."""

    __tablename__ = "account_requests"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('grant_role', 'reset_password')", name="kind_known"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status_known"
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> requested_by_id", name="four_eyes"
        ),
        sa.CheckConstraint(
            "kind <> 'grant_role' OR role IN ('legal', 'admin')", name="role_elevated"
        ),
        sa.CheckConstraint(
            "kind <> 'reset_password' OR status <> 'pending' OR password_hash IS NOT NULL",
            name="password_given",
        ),
        sa.Index("ix_account_requests_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), default=AccountRequestStatus.PENDING)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: The role to grant (``grant_role``).
    role: Mapped[str | None] = mapped_column(sa.String(12))
    #: The new password, already hashed (``reset_password``); never journaled.
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def kind_label(self) -> str:
        return ACCOUNT_REQUEST_KIND_LABELS.get(self.kind, self.kind)

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""

    @property
    def status_label(self) -> str:
        return ACCOUNT_REQUEST_STATUS_LABELS.get(self.status, self.status)

    def can_decide(self, user: User) -> bool:
        """Another legal or admin user, neither the requester, the account concerned, nor an
        account the requester controls (created, elevated or whose password they set)."""
        return (
            self.status == AccountRequestStatus.PENDING
            and user.is_active_account
            and user.role in ELEVATED_ROLES
            and user.id not in (self.requested_by_id, self.user_id)
            and not user.is_controlled_by(self.requested_by_id)
        )

    def __repr__(self) -> str:
        return f"<AccountRequest {self.id} {self.kind} user={self.user_id} {self.status}>"


class LoginFailure(Base):
    """One failed login, kept for the throttling window (see :mod:`workbench.auth.throttle`).

    Keyed on the address typed (known or not, so the answer never tells them apart) and the
    client IP; rows older than the window are pruned as new failures arrive.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_email_ip", "email", "ip", "occurred_at"),
        sa.Index("ix_login_failures_ip", "ip", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<LoginFailure {self.email} from {self.ip}>"
