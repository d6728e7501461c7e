"""Flask-Login user loading: a session is valid only for the account's current session version."""

from __future__ import annotations

from flask import Flask

from workbench.auth.models import User
from workbench.extensions import db, login_manager


def load_user(session_id: str) -> User | None:
    """The user of a session id ``"<id>:<session_version>"``, or ``None`` when it has ended.

    A bare ``"<id>"`` (a cookie from before session versions) is refused too.
    """
    user_id, sep, version = (session_id or "").partition(":")
    if not sep:
        return None
    try:
        user = db.session.get(User, int(user_id))
        expected = int(version)
    except ValueError:
        return None
    if user is None or not user.is_active_account or user.session_version != expected:
        return None
    return user


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
