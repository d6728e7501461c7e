"""Per-request hooks: the audit actor of the request."""

from __future__ import annotations

import uuid

from flask import Flask, g
from flask_login import current_user

from workbench.audit.operations import Actor, set_actor


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _set_actor() -> None:
        g.request_id = uuid.uuid4().hex
        if current_user.is_authenticated:
            set_actor(Actor.of(current_user, g.request_id))
        else:
            set_actor(Actor(id=None, email=None, role=None, request_id=g.request_id))

    @app.teardown_request
    def _clear_actor(exc: BaseException | None) -> None:
        set_actor(None)
