"""Throttling that cannot be turned against users: limits per (address, client IP) and per IP,
unknown addresses answered like known ones, the right password from a fresh client always
works, every throttle event journaled."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from workbench.audit.models import AuditEntry
from workbench.auth import operations, throttle
from workbench.auth.models import LoginFailure
from workbench.db import utcnow

WRONG = "mauvais-mot-de-passe"


def _from(client, ip: str):  # type: ignore[no-untyped-def]
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _journal(session, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_wrong_passwords_block_that_client_only_never_the_account(
    client, other_client, make, app, session
):
    legal = make.user(role="legal", password=PASSWORD)
    attacker = _from(client, "203.0.113.7")
    for _ in range(app.config["LOGIN_MAX_ATTEMPTS"]):
        assert attacker.login(legal.email, WRONG).status_code == 401
    refused = attacker.login(legal.email)  # even the right password, from the attacker
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Trop de tentatives de connexion" in html
    assert int(refused.headers["Retry-After"]) > 0
    # the legal user, from their own computer, logs in at once
    assert _from(other_client, "198.51.100.20").login(legal.email).status_code == 302
    throttled = _journal(session, "auth.login_throttled")
    assert [e.after["scope"] for e in throttled] == ["account_ip"]
    assert throttled[0].target_id == str(legal.id)
    failed = _journal(session, "auth.login_failed")
    assert failed[-1].after["reason"] == "bad_password+throttled"
    assert {e.after["ip"] for e in failed} == {"203.0.113.7"}


def test_spraying_a_few_passwords_over_many_accounts_blocks_the_ip(
    client, other_client, make, app, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_ATTEMPTS_PER_IP", 8)
    users = [make.user(role="canteen", password=PASSWORD) for _ in range(3)]
    sprayer = _from(client, "203.0.113.9")
    codes = []
    for attempt in range(3):
        for user in users:
            codes.append(sprayer.login(user.email, f"{WRONG}-{attempt}").status_code)
    assert codes[:8] == [401] * 8, "under every per-account limit (3 < 5 each)"
    assert codes[8:] == [429], "but the 9th failure from the IP is refused"
    assert sprayer.login("new-victim@region.example", WRONG).status_code == 429
    assert _from(other_client, "198.51.100.21").login(users[0].email).status_code == 302


def test_unknown_addresses_are_answered_and_counted_like_known_ones(client, make, app, session):
    known = make.user(role="admin", password=PASSWORD)
    _from(client, "203.0.113.10")
    first_known = client.login(known.email, WRONG)
    first_unknown = client.login("personne@region.example", WRONG)
    assert first_known.status_code == first_unknown.status_code == 401
    message = "Identifiants incorrects."
    assert message in first_known.get_data(as_text=True)
    assert message in first_unknown.get_data(as_text=True)
    for _ in range(app.config["LOGIN_MAX_ATTEMPTS"] - 1):
        client.login("personne@region.example", WRONG)
    assert client.login("personne@region.example", WRONG).status_code == 429
    reasons = [e.after["reason"] for e in _journal(session, "auth.login_failed")]
    assert reasons.count("unknown_account") == app.config["LOGIN_MAX_ATTEMPTS"] - 1
    assert "unknown_account+throttled" in reasons


def test_an_unknown_account_costs_a_password_hash(session, make, monkeypatch):
    """The delay does not tell whether the account exists (a dummy hash is checked)."""
    known = make.user(role="legal", password=PASSWORD)
    real_hash = known.password_hash
    calls = []
    real_check = throttle.check_password_hash
    monkeypatch.setattr(
        throttle, "check_password_hash", lambda h, p: calls.append(h) or real_check(h, p)
    )
    kwargs = {"max_attempts": 50, "lock_minutes": 15, "ip": "192.0.2.1"}

    def timed(email: str) -> float:
        start = time.perf_counter()
        assert operations.authenticate(session, email, WRONG, **kwargs) is None
        return time.perf_counter() - start

    timed("absent@region.example")  # the dummy hash is made once, on first use
    unknown = min(timed("absent@region.example") for _ in range(3))
    present = min(timed(known.email) for _ in range(3))
    assert len(calls) == 4 and calls[0].split("$")[0] == real_hash.split("$")[0]
    assert 0.4 < unknown / present < 2.5, (unknown, present)


def test_failures_leave_the_window_and_a_success_clears_its_pair(session, make):
    user = make.user(role="viewer", password=PASSWORD)
    limits = {"max_attempts": 3, "lock_minutes": 15, "ip": "192.0.2.2"}
    old = utcnow() - dt.timedelta(minutes=16)
    session.add_all(
        LoginFailure(email=user.email, ip="192.0.2.2", occurred_at=old) for _ in range(5)
    )
    session.flush()
    assert operations.authenticate(session, user.email, WRONG, **limits) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1, "pruned"
    assert operations.authenticate(session, user.email, PASSWORD, **limits) is user
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0


def test_the_limit_is_checked_before_the_password(session, make):
    user = make.user(role="viewer", password=PASSWORD)
    limits = {"max_attempts": 2, "lock_minutes": 15, "ip": "192.0.2.3"}
    for _ in range(2):
        operations.authenticate(session, user.email, WRONG, **limits)
    with pytest.raises(throttle.LoginThrottled) as refusal:
        operations.authenticate(session, user.email, PASSWORD, **limits)
    assert refusal.value.status_code == 429 and refusal.value.scope == "account_ip"
    assert "minute" in refusal.value.message
    # another address from the same IP is still below the per-IP limit (2 * 6)
    assert operations.authenticate(session, "autre@region.example", WRONG, **limits) is None


def test_an_inactive_account_is_refused_after_the_same_password_check(session, make):
    user = make.user(role="viewer", password=PASSWORD)
    user.is_active_account = False
    kwargs = {"max_attempts": 5, "lock_minutes": 15, "ip": "192.0.2.4"}
    assert operations.authenticate(session, user.email, PASSWORD, **kwargs) is None
    assert _journal(session, "auth.login_failed")[-1].after["reason"] == "inactive"
