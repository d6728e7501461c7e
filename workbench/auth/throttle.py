"""Login throttling that cannot be turned against a user.

Failures are counted in the ``login_failures`` table over a sliding window
(``LOGIN_LOCK_MINUTES``), so every gunicorn worker and every process sees the same counts:

- per (address typed, client IP): ``LOGIN_MAX_ATTEMPTS`` failures block that pair only. The
  account itself is never locked: the right password from another client still opens it, so
  nobody can lock a legal user out by typing wrong passwords on their behalf;
- per client IP: ``LOGIN_MAX_ATTEMPTS_PER_IP`` failures over any addresses block that IP
  (password spraying: a few attempts on each of many accounts).

Unknown addresses are counted exactly like known ones, and :func:`check_dummy_password` spends
the same hashing time, so neither the answer nor its delay tells whether an account exists.
Every refusal because of a limit is journaled (``auth.login_throttled``).

Counting and inserting are not one atomic step: under concurrent attempts from one client a
handful more than the limit may be checked before the block applies. The limit stays bounded
(each attempt costs one password hash) and the window restarts from the newest failures.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from workbench.auth.models import LoginFailure
from workbench.core.errors import WorkbenchError
from workbench.db import utcnow

UNKNOWN_IP = "-"


class LoginThrottled(WorkbenchError):
    """Too many failures for this address from this client, or from this client at all."""

    status_code = 429

    def __init__(self, scope: str, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "Trop de tentatives de connexion depuis ce poste. "
            f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
        )
        self.scope = scope
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    per_account_ip: int
    per_ip: int
    window: dt.timedelta


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("workbench-dummy-password-never-valid")


def check_dummy_password(password: str) -> bool:
    """Spend the time of a real password check (unknown account); always ``False``."""
    check_password_hash(_dummy_hash(), password or "")
    return False


def _retry_after(session: Session, where: sa.ColumnElement[bool], limits: Limits, now) -> int:  # type: ignore[no-untyped-def]
    """Seconds until the oldest failure that still counts leaves the window."""
    oldest = session.scalar(sa.select(sa.func.min(LoginFailure.occurred_at)).where(where))
    if oldest is None:
        return 0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return max(1, int((oldest + limits.window - now).total_seconds()))


def blocked(
    session: Session, email: str, ip: str, limits: Limits, now: dt.datetime | None = None
) -> LoginThrottled | None:
    """The refusal to raise when (email, ip) or ip has reached its limit, else ``None``."""
    now = now or utcnow()
    since = now - limits.window
    pair = sa.and_(
        LoginFailure.email == email, LoginFailure.ip == ip, LoginFailure.occurred_at > since
    )
    count = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(pair))
    if count >= limits.per_account_ip:
        return LoginThrottled("account_ip", _retry_after(session, pair, limits, now))
    by_ip = sa.and_(LoginFailure.ip == ip, LoginFailure.occurred_at > since)
    count = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(by_ip))
    if count >= limits.per_ip:
        return LoginThrottled("ip", _retry_after(session, by_ip, limits, now))
    return None


def record_failure(
    session: Session, email: str, ip: str, limits: Limits, now: dt.datetime | None = None
) -> bool:
    """Count one failure and prune expired ones; ``True`` when this failure reaches a limit."""
    now = now or utcnow()
    session.execute(sa.delete(LoginFailure).where(LoginFailure.occurred_at <= now - limits.window))
    session.add(LoginFailure(email=email, ip=ip, occurred_at=now))
    session.flush()
    return blocked(session, email, ip, limits, now) is not None


def clear(session: Session, email: str, ip: str) -> None:
    """A successful login forgets the failures of that address from that client."""
    pair = sa.and_(LoginFailure.email == email, LoginFailure.ip == ip)
    if session.scalar(sa.select(LoginFailure.id).where(pair).limit(1)) is not None:
        session.execute(sa.delete(LoginFailure).where(pair))
