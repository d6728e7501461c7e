"""Browsers for the session tests: each request loads its user from its own cookie.

The test ``session`` fixture keeps one application context open for the whole test, so Flask's
``g`` — where Flask-Login caches the loaded user and Flask-WTF the CSRF token — would outlive a request and leak the user of
one browser into the next request of another. :class:`FreshClient` clears those before each
request, as a real server (one application context per request) does.
"""

from __future__ import annotations

import pytest
from flask import g, has_app_context

from tests.conftest import Client


class FreshClient(Client):
    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if has_app_context():
            for cached in ("_login_user", "csrf_token"):
                g.pop(cached, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, session) -> FreshClient:  # type: ignore[no-untyped-def]
    app.test_client_class = FreshClient
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def other_client(app, session) -> FreshClient:  # type: ignore[no-untyped-def]
    """Another browser (its own cookie jar) on the same test database."""
    app.test_client_class = FreshClient
    return app.test_client()  # type: ignore[return-value]


def clone_cookies(source: Client, app) -> Client:  # type: ignore[no-untyped-def]
    """A new browser holding a copy of ``source``'s session cookie, as saved by an attacker."""
    app.test_client_class = FreshClient
    copy = app.test_client()
    cookie = source.get_cookie("session")
    assert cookie is not None, "no session cookie to save"
    copy.set_cookie("session", cookie.value)
    return copy
