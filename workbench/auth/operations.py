"""Account operations: they flush and write the journal, never commit."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import Actor, record
from workbench.auth.models import Role, User
from workbench.core.errors import ValidationError
from workbench.db import utcnow
from workbench.reference.models import Direction, Site


def _snapshot(user: User) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "sites": sorted(s.uai for s in user.sites),
        "direction": user.direction_code,
        "active": user.is_active_account,
    }


def _resolve_scope(session: Session, role: str, site_uais: list[str], direction: str | None):
    try:
        Role(role)
    except ValueError:
        raise ValidationError(f"Rôle inconnu : {role}.") from None
    sites: list[Site] = []
    if site_uais:
        sites = list(session.scalars(sa.select(Site).where(Site.uai.in_(site_uais))))
        unknown = sorted(set(site_uais) - {s.uai for s in sites})
        if unknown:
            raise ValidationError("Lycée(s) inconnu(s) : " + ", ".join(unknown) + ".")
    if role == Role.CANTEEN and not sites:
        raise ValidationError("Un compte cantine doit être rattaché à au moins un lycée.")
    if role == Role.DIRECTION:
        if not direction:
            raise ValidationError("Un compte direction doit être rattaché à une direction.")
        if session.get(Direction, direction) is None:
            raise ValidationError(f"Direction inconnue : {direction}.")
    return sites, (direction if role == Role.DIRECTION else None)


def create_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    *,
    name: str = "",
    site_uais: list[str] | None = None,
    direction: str | None = None,
    is_active: bool = True,
) -> User:
    email = email.strip().lower()
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationError(f"Un compte existe déjà pour {email}.")
    if len(password) < 10:
        raise ValidationError("Le mot de passe doit compter au moins 10 caractères.")
    sites, direction = _resolve_scope(session, role, site_uais or [], direction)
    user = User(
        email=email, name=name, role=role, direction_code=direction, is_active_account=is_active
    )
    user.sites = sites
    user.set_password(password)
    session.add(user)
    session.flush()
    record(
        session,
        "user.create",
        target_kind="user",
        target_id=user.id,
        target_label=email,
        after=_snapshot(user),
    )
    return user


def update_user(
    session: Session,
    user: User,
    *,
    email: str,
    name: str,
    role: str,
    site_uais: list[str],
    direction: str | None,
    is_active: bool,
    password: str | None = None,
) -> User:
    before = _snapshot(user)
    email = email.strip().lower()
    other = session.scalar(sa.select(User.id).where(User.email == email, User.id != user.id))
    if other is not None:
        raise ValidationError(f"Un compte existe déjà pour {email}.")
    sites, direction = _resolve_scope(session, role, site_uais, direction)
    user.email, user.name, user.role = email, name, role
    user.sites = sites
    user.direction_code = direction
    user.is_active_account = is_active
    if password:
        if len(password) < 10:
            raise ValidationError("Le mot de passe doit compter au moins 10 caractères.")
        user.set_password(password)
    session.flush()
    after = _snapshot(user)
    if after != before or password:
        record(
            session,
            "user.update",
            target_kind="user",
            target_id=user.id,
            target_label=email,
            before=before,
            after={**after, "password_changed": bool(password)},
        )
    return user


def authenticate(
    session: Session, email: str, password: str, *, max_attempts: int, lock_minutes: int
) -> User | None:
    """Check credentials, throttle repeated failures and journal the attempt."""
    email = (email or "").strip().lower()
    user = session.scalar(sa.select(User).where(User.email == email))
    now = utcnow()
    if user is None:
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_label=email,
            after={"reason": "unknown_account"},
        )
        return None
    actor = Actor.of(user)
    if user.is_locked(now):
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_id=user.id,
            target_label=email,
            after={"reason": "locked"},
            actor=actor,
        )
        return None
    if not user.is_active_account or not user.check_password(password):
        user.failed_logins += 1
        reason = "inactive" if not user.is_active_account else "bad_password"
        if user.failed_logins >= max_attempts:
            user.locked_until = now + dt.timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            reason += "+locked"
        session.flush()
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_id=user.id,
            target_label=email,
            after={"reason": reason},
            actor=actor,
        )
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    record(
        session,
        "auth.login",
        target_kind="user",
        target_id=user.id,
        target_label=email,
        actor=actor,
    )
    return user


def record_logout(session: Session, user: User) -> None:
    record(
        session,
        "auth.logout",
        target_kind="user",
        target_id=user.id,
        target_label=user.email,
        actor=Actor.of(user),
    )
