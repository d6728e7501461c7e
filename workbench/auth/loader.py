"""Flask-Login user loading."""

from __future__ import annotations

from flask import Flask

from workbench.auth.models import User
from workbench.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        try:
            return db.session.get(User, int(user_id))
        except ValueError:
            return None
