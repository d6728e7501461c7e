"""Concurrency tests: real threads, one connection each, on a database of their own that commits.

The suite's usual fixture wraps every test in one rolled-back transaction on one connection:
nothing can race there. These tests build their own app per backend and module:

- SQLite: a file database (WAL, several connections), always;
- PostgreSQL: a fresh schema of ``WORKBENCH_TEST_DATABASE_URL`` (``search_path``), dropped at the
  end; skipped when the suite does not run on PostgreSQL.

Helpers fire N requests from N threads released together by a barrier, each with its own test
client (its own cookie jar, request context and pooled connection).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from tests.conftest import PASSWORD, Client
from workbench import create_app
from workbench.audit.models import AuditEntry
from workbench.audit.operations import Actor, acting_as
from workbench.db import sqlite_begin
from workbench.extensions import db

PG_URL = os.environ.get("WORKBENCH_TEST_DATABASE_URL") or ""
ON_POSTGRES = PG_URL.startswith("postgresql")


def _pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not ON_POSTGRES:
        pytest.skip("PostgreSQL: set WORKBENCH_TEST_DATABASE_URL=postgresql+psycopg://…")
    return request.param


@pytest.fixture(scope="module")
def race_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a committed database of its own (migrated to head)."""
    schema = None
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("race") / "race.sqlite3")
    else:
        schema = f"race_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(_pg_url(PG_URL))
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        base = _pg_url(PG_URL)
        url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    # the default pool (5 + 10 overflow) makes the 20th thread wait for a connection: realistic
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "race-secret"})
    app.test_client_class = Client
    with app.app_context():
        upgrade()
        db.engine.dispose()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if schema:
            admin = sa.create_engine(_pg_url(PG_URL))
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


@pytest.fixture
def seed(race_app: Flask) -> Callable[[Callable[[Any], Any]], Any]:
    """Run ``build(session)`` in the race app and commit (journaled as the test setup)."""

    def _seed(build: Callable[[Any], Any]) -> Any:
        with race_app.app_context(), acting_as(Actor(email="tests", role="admin")):
            result = build(db.session)
            db.session.commit()
            return result

    return _seed


def logged_in(app: Flask, email: str) -> Client:
    client: Client = app.test_client()  # type: ignore[assignment]
    response = client.login(email, PASSWORD)
    assert response.status_code == 302, response.status_code
    client.fetch_token()
    return client


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in as many threads, released together; results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as error:  # reported by the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def journal(app: Flask, **where: Any) -> list[AuditEntry]:
    """Journal entries (committed) matching ``where`` (column = value), oldest first."""
    with app.app_context(), sqlite_begin("DEFERRED"):  # a reader: never waits for a writer
        stmt = sa.select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            column = getattr(AuditEntry, name)
            stmt = stmt.where(
                column.in_(value) if isinstance(value, list | tuple) else column == value
            )
        entries = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return entries
