"""Account operations: they flush and write the journal, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import Actor, current_actor, record
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


@dataclass
class LoginAttempt:
    """What checking the credentials found (read only); its bookkeeping is written apart."""

    email: str
    outcome: str  # "ok", "unknown_account", "locked", "inactive", "bad_password"
    user_id: int | None = None
    at: dt.datetime = field(default_factory=utcnow)
    #: The journal's actor for an unknown account (the anonymous request).
    actor: Actor | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def check_login(session: Session, email: str, password: str) -> LoginAttempt:
    """Check credentials without writing anything (the slow password hash runs here)."""
    email = (email or "").strip().lower()
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        return LoginAttempt(email=email, outcome="unknown_account", actor=current_actor())
    if user.is_locked():
        outcome = "locked"
    elif not user.is_active_account:
        outcome = "inactive"
    elif not user.check_password(password):
        outcome = "bad_password"
    else:
        outcome = "ok"
    return LoginAttempt(email=email, outcome=outcome, user_id=user.id)


def record_login(
    session: Session,
    attempt: LoginAttempt,
    *,
    max_attempts: int,
    lock_minutes: int,
    late: bool = False,
) -> User | None:
    """Write a login attempt's bookkeeping (counters, lock, last login) and journal it.

    The account row is locked and re-read, so simultaneous failures all count. A correct
    password on an account locked meanwhile is refused. ``late``: written after the answer (the
    database was busy at the time; see ``workbench.auth.bookkeeping``): the login was granted
    on its credentials, and is journaled as such. Returns the user on success.
    """
    extra = {"written_late": True, "attempted_at": attempt.at.isoformat()} if late else {}
    user = None
    if attempt.user_id is not None:
        user = session.scalar(
            sa.select(User)
            .where(User.id == attempt.user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if user is None:
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_label=attempt.email,
            after={"reason": "unknown_account", **extra},
            actor=attempt.actor,
        )
        return None
    actor = Actor.of(user)
    locked_meanwhile = attempt.ok and not late and user.is_locked(attempt.at)
    if attempt.outcome == "locked" or locked_meanwhile:
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_id=user.id,
            target_label=attempt.email,
            after={"reason": "locked", **extra},
            actor=actor,
        )
        return None
    if not attempt.ok:
        user.failed_logins += 1
        reason = attempt.outcome
        if user.failed_logins >= max_attempts:
            user.locked_until = attempt.at + dt.timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            reason += "+locked"
        session.flush()
        record(
            session,
            "auth.login_failed",
            target_kind="user",
            target_id=user.id,
            target_label=attempt.email,
            after={"reason": reason, **extra},
            actor=actor,
        )
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = attempt.at
    session.flush()
    record(
        session,
        "auth.login",
        target_kind="user",
        target_id=user.id,
        target_label=attempt.email,
        after=extra or None,
        actor=actor,
    )
    return user


def authenticate(
    session: Session, email: str, password: str, *, max_attempts: int, lock_minutes: int
) -> User | None:
    """Check credentials, throttle repeated failures and journal the attempt (one transaction).

    The login page runs the two halves apart (:func:`check_login` reads,
    :func:`record_login` writes in a short transaction of its own).
    """
    attempt = check_login(session, email, password)
    return record_login(session, attempt, max_attempts=max_attempts, lock_minutes=lock_minutes)


def record_logout(session: Session, user: User) -> None:
    record(
        session,
        "auth.logout",
        target_kind="user",
        target_id=user.id,
        target_label=user.email,
        actor=Actor.of(user),
    )
