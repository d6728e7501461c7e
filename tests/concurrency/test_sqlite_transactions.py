"""SQLite: which transactions begin IMMEDIATE (take the writer lock first) and which read."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.db import begin_mode, is_lock_error, sqlite_begin


def test_requests_that_write_begin_immediate_and_reads_deferred(app):
    with app.test_request_context("/a-valider", method="GET"):
        assert begin_mode() == "DEFERRED"
    with app.test_request_context("/corrections/1/decider", method="POST"):
        assert begin_mode() == "IMMEDIATE"
    with app.test_request_context("/connexion", method="POST"):  # reads first, writes apart
        assert begin_mode() == "DEFERRED"
        with sqlite_begin("IMMEDIATE"):
            assert begin_mode() == "IMMEDIATE"
    with app.app_context():  # CLI commands, jobs
        assert begin_mode() == "IMMEDIATE"
        with sqlite_begin("DEFERRED"):
            assert begin_mode() == "DEFERRED"


def test_a_busy_database_is_recognised_as_a_lock_error(tmp_path):
    path = tmp_path / "busy.sqlite3"
    holder = sa.create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    waiter = sa.create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    try:
        with holder.connect() as a, waiter.connect() as b:
            a.exec_driver_sql("BEGIN IMMEDIATE")
            b.exec_driver_sql("PRAGMA busy_timeout=50")
            try:
                b.exec_driver_sql("BEGIN IMMEDIATE")
            except sa.exc.OperationalError as error:
                assert is_lock_error(error)
            else:  # pragma: no cover
                raise AssertionError("the second writer should have been refused")
            a.exec_driver_sql("ROLLBACK")
    finally:
        holder.dispose()
        waiter.dispose()
    assert not is_lock_error(ValueError("database is locked"))
