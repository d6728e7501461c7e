"""Account operations: they flush and write the journal, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import Actor, current_actor, record
from workbench.auth import throttle
from workbench.auth.models import ELEVATED_ROLES, Role, User
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


def _powers(snapshot: dict) -> dict:
    """What a session may do: a change there ends the account's sessions (not a new name)."""
    return {k: v for k, v in snapshot.items() if k not in ("email", "name")}


def _gains_powers(session: Session, user: User, role: str) -> bool:
    """Is ``user`` a legal or admin account, or about to become one (asked now or pending)?"""
    if user.is_elevated or role in ELEVATED_ROLES:
        return True
    from workbench.auth.powers import pending_requests

    return any(r.kind == "grant_role" for r in pending_requests(session, user))


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
    by: User | None = None,
) -> User:
    """Create an account. ``by`` is the web user doing it (``None``: the console operator).

    On the web, a legal or admin role is not granted at once: the account is created as an
    observatory reader and a request waits for another legal or admin user
    (:mod:`workbench.auth.powers`).
    """
    email = email.strip().lower()
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationError(f"Un compte existe déjà pour {email}.")
    if len(password) < 10:
        raise ValidationError("Le mot de passe doit compter au moins 10 caractères.")
    sites, direction = _resolve_scope(session, role, site_uais or [], direction)
    requested_role = None
    if by is not None and role in ELEVATED_ROLES:
        requested_role, role, sites, direction = role, Role.VIEWER, [], None
    user = User(
        email=email, name=name, role=role, direction_code=direction, is_active_account=is_active
    )
    user.sites = sites
    user.set_password(password)
    if by is not None:
        user.created_by_id = by.id
        user.password_set_by_id = by.id
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
    if requested_role is not None:
        from workbench.auth.powers import request_role

        request_role(session, user, requested_role, by=by)  # type: ignore[arg-type]
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
    by: User | None = None,
) -> User:
    """Change an account. ``by`` is the web user doing it (``None``: the console operator).

    Every session of the account ends when its password, role, scope or activity changes. On
    the web, granting the legal or admin role and setting the password of another legal or
    admin account become requests that another legal or admin user approves.
    """
    before = _snapshot(user)
    email = email.strip().lower()
    other = session.scalar(sa.select(User.id).where(User.email == email, User.id != user.id))
    if other is not None:
        raise ValidationError(f"Un compte existe déjà pour {email}.")
    if password and len(password) < 10:
        raise ValidationError("Le mot de passe doit compter au moins 10 caractères.")
    sites, direction = _resolve_scope(session, role, site_uais, direction)
    requested_role = None
    if by is not None and role in ELEVATED_ROLES and role != user.role:
        requested_role = role  # role and scope stay as they are until approved
        role, sites, direction = user.role, list(user.sites), user.direction_code
    password_request = None
    if (
        by is not None
        and password
        and by.id != user.id
        and _gains_powers(session, user, requested_role or role)
    ):
        password_request, password = password, None
    user.email, user.name, user.role = email, name, role
    user.sites = sites
    user.direction_code = direction
    user.is_active_account = is_active
    if password:
        user.set_password(password)
        user.password_set_by_id = by.id if by is not None and by.id != user.id else None
    session.flush()
    after = _snapshot(user)
    if after != before or password:
        ends = bool(password) or _powers(after) != _powers(before)
        if ends:
            user.end_sessions()
            session.flush()
        record(
            session,
            "user.update",
            target_kind="user",
            target_id=user.id,
            target_label=email,
            before=before,
            after={**after, "password_changed": bool(password), "sessions_ended": ends},
        )
    if requested_role is not None or password_request is not None:
        from workbench.auth.powers import request_password, request_role

        if requested_role is not None:
            request_role(session, user, requested_role, by=by)  # type: ignore[arg-type]
        if password_request is not None:
            request_password(session, user, password_request, by=by)  # type: ignore[arg-type]
    return user


@dataclass
class LoginAttempt:
    """What checking the credentials found (read only); its bookkeeping is written apart."""

    email: str
    #: "ok", "unknown_account", "bad_password", "inactive" or "throttled"
    outcome: str
    ip: str
    limits: throttle.Limits
    user_id: int | None = None
    at: dt.datetime = field(default_factory=utcnow)
    #: The journal's actor for an unknown account (the anonymous request).
    actor: Actor | None = None
    #: Set when a throttling limit refused the attempt (HTTP 429).
    refusal: throttle.LoginThrottled | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def login_limits(
    max_attempts: int, lock_minutes: int, max_per_ip: int | None = None
) -> throttle.Limits:
    return throttle.Limits(
        per_account_ip=max_attempts,
        per_ip=max_per_ip or max_attempts * 6,
        window=dt.timedelta(minutes=lock_minutes),
    )


def check_login(
    session: Session, email: str, password: str, *, ip: str | None, limits: throttle.Limits
) -> LoginAttempt:
    """Check credentials and throttling without writing anything (the slow hash runs here).

    Throttling is per (address typed, client ``ip``) and per ``ip`` (:mod:`.throttle`); the
    account is never locked for everyone. An unknown address costs the same hash.
    """
    email = (email or "").strip().lower()[:254]
    ip = (ip or throttle.UNKNOWN_IP)[:64]
    user = session.scalar(sa.select(User).where(User.email == email))
    attempt = LoginAttempt(
        email=email,
        outcome="ok",
        ip=ip,
        limits=limits,
        user_id=user.id if user is not None else None,
        actor=current_actor() if user is None else None,
    )
    attempt.refusal = throttle.blocked(session, email, ip, limits, attempt.at)
    if attempt.refusal is not None:
        attempt.outcome = "throttled"
    elif user is None:
        throttle.check_dummy_password(password)  # same delay as a known account
        attempt.outcome = "unknown_account"
    elif not user.check_password(password):
        attempt.outcome = "bad_password"
    elif not user.is_active_account:
        attempt.outcome = "inactive"
    return attempt


def record_login(session: Session, attempt: LoginAttempt, *, late: bool = False) -> User | None:
    """Write a login attempt's bookkeeping (failures, last login) and journal it.

    ``late``: written after the answer (the database was busy at the time; see
    ``workbench.auth.bookkeeping``): the login was granted on its credentials, and is journaled
    as such. Returns the user on success.
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
    actor = Actor.of(user) if user is not None else attempt.actor
    target = {
        "target_kind": "user",
        "target_id": user.id if user is not None else None,
        "target_label": attempt.email,
        "actor": actor,
    }
    if attempt.refusal is not None:
        refusal = attempt.refusal
        record(
            session,
            "auth.login_throttled",
            after={
                "scope": refusal.scope,
                "ip": attempt.ip,
                "retry_after": refusal.retry_after,
                **extra,
            },
            **target,
        )
        return None
    if not attempt.ok or user is None:
        reason = attempt.outcome if attempt.outcome != "ok" else "unknown_account"
        if throttle.record_failure(session, attempt.email, attempt.ip, attempt.limits, attempt.at):
            reason += "+throttled"
        record(
            session,
            "auth.login_failed",
            after={"reason": reason, "ip": attempt.ip, **extra},
            **target,
        )
        return None
    throttle.clear(session, attempt.email, attempt.ip)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = attempt.at
    session.flush()
    record(session, "auth.login", after=extra or None, **target)
    return user


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    max_attempts: int,
    lock_minutes: int,
    ip: str | None = None,
    max_per_ip: int | None = None,
) -> User | None:
    """Check credentials, throttle repeated failures and journal the attempt (one transaction).

    Raises :class:`~.throttle.LoginThrottled` (HTTP 429) when a limit is reached; the caller
    commits the journal entry anyway. The login page runs the two halves apart
    (:func:`check_login` reads, :func:`record_login` writes in a short transaction of its own).
    """
    limits = login_limits(max_attempts, lock_minutes, max_per_ip)
    attempt = check_login(session, email, password, ip=ip, limits=limits)
    user = record_login(session, attempt)
    if attempt.refusal is not None:
        raise attempt.refusal
    return user


def record_logout(session: Session, user: User) -> None:
    """Journal the logout and end every session of the account (saved cookies included)."""
    user.end_sessions()
    session.flush()
    record(
        session,
        "auth.logout",
        target_kind="user",
        target_id=user.id,
        target_label=user.email,
        actor=Actor.of(user),
    )
