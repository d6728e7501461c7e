"""Test fixtures: one app and one schema per session, one rolled-back transaction per test.

The database is SQLite (a temporary file) unless ``WORKBENCH_TEST_DATABASE_URL`` names another
one (PostgreSQL in CI). The schema is built by the migrations, as in production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.orm import scoped_session, sessionmaker

from workbench import create_app
from workbench.demo import factories
from workbench.extensions import db

TEST_DATABASE_URL = os.environ.get("WORKBENCH_TEST_DATABASE_URL")
PASSWORD = "motdepasse-test"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        _reset_postgres(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[scoped_session]:
    """A session joined to an outer transaction that is rolled back after the test.

    Code under test may commit: it commits a SAVEPOINT, and the outer rollback undoes it all.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        test_session = scoped_session(
            sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        )
        db.session = test_session
        try:
            yield test_session
        finally:
            test_session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class Client(FlaskClient):
    """A test client that sends the CSRF token like a browser would (CSRF stays on)."""

    token: str | None = None

    def fetch_token(self, url: str = "/connexion") -> str:
        response = self.get(url)
        if response.status_code == 302:  # logged in: any page carries the logout form's token
            response = self.get("/")
        html = response.get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', html
        )
        assert match, f"no CSRF token on {url}"
        self.token = match.group(1)
        return self.token

    def post_form(self, url: str, data: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.token or self.fetch_token())
        return self.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        self.token = None
        response = self.post_form("/connexion", {"email": email, "password": password})
        self.token = None
        return response


@pytest.fixture
def client(app: Flask, session) -> Client:  # type: ignore[no-untyped-def]
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def make(session):  # type: ignore[no-untyped-def]
    """Factories bound to the test session: ``make.site(uai=...)``, ``make.user(role=...)``."""

    class Make:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            factory = getattr(factories, f"make_{name}")
            return lambda *args, **kwargs: factory(session, *args, **kwargs)

    return Make()


@pytest.fixture
def login_as(client: Client, make):  # type: ignore[no-untyped-def]
    """Create a user with ``role`` (and scope) and log the client in as them."""

    def _login(role: str = "admin", **kwargs):  # type: ignore[no-untyped-def]
        user = make.user(role=role, password=PASSWORD, **kwargs)
        response = client.login(user.email, PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return _login
