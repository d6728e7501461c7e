"""Migrations: an empty database upgrades to head, matches the models, and steps down and up."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from workbench import create_app
from workbench.core.bulk_keys import include_object
from workbench.extensions import db


@pytest.fixture
def empty_database(tmp_path):
    """A fresh database: a SQLite file, or a throw-away PostgreSQL schema."""
    url = os.environ.get("WORKBENCH_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}", None
        return
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}", schema
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _diff(app):
    with app.app_context(), db.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(context, db.metadata)


def test_upgrade_head_matches_models_and_downgrade_one_step_round_trips(empty_database):
    url, _ = empty_database
    app = create_app({"ENV": "testing", "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        assert _diff(app) == []
        downgrade(revision="-1")
        upgrade()
        assert _diff(app) == []
        with db.engine.connect() as conn:
            assert "audit_entries" in sa.inspect(conn).get_table_names()
        db.engine.dispose()
