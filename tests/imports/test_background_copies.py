"""PostgreSQL: inside ``copies_in_background`` each COPY is sent by a worker thread while the
caller goes on; statements keep their order, and a COPY's own error is the one raised."""

from __future__ import annotations

import threading

import psycopg
import pytest
import sqlalchemy as sa

from workbench.imports import writer
from workbench.imports.writer import copies_in_background, copy_rows


@pytest.fixture
def scratch(session):  # type: ignore[no-untyped-def]
    if session.connection().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no COPY")
    session.connection().exec_driver_sql(
        "CREATE TEMPORARY TABLE copied (n integer NOT NULL, label text) ON COMMIT DROP"
    )
    return session


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return int(session.connection().exec_driver_sql("SELECT count(*) FROM copied").scalar())


def test_each_copy_runs_in_a_worker_and_the_next_statement_sees_its_rows(
    scratch, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    copy = writer._copy

    def spied(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return copy(*args, **kwargs)

    monkeypatch.setattr(writer, "_copy", spied)
    rows = [(i, f"ligne {i}; « é »\n") for i in range(20_000)]
    with copies_in_background(scratch):
        copy_rows(scratch, "copied", ["n", "label"], rows[:10_000])
        # a statement right after waits for the COPY under way: it sees every row
        assert _count(scratch) == 10_000
        copy_rows(scratch, "copied", ["n", "label"], rows[10_000:])
    assert _count(scratch) == 20_000
    assert threads == ["workbench-copy", "workbench-copy"]
    got = scratch.connection().exec_driver_sql("SELECT n, label FROM copied ORDER BY n").all()
    assert [tuple(r) for r in got] == rows
    copy_rows(scratch, "copied", ["n", "label"], [(-1, None)])  # outside: in the caller's thread
    assert threads[-1] == threading.current_thread().name


def test_a_failing_copy_raises_its_own_error(scratch) -> None:  # type: ignore[no-untyped-def]
    nested = scratch.begin_nested()
    with pytest.raises(psycopg.errors.NotNullViolation), copies_in_background(scratch):
        copy_rows(scratch, "copied", ["n", "label"], [(1, "a"), (None, "b")])
        # this statement fails too (the transaction is aborted): the COPY's error wins
        scratch.connection().exec_driver_sql("SELECT 1")
    nested.rollback()
    assert _count(scratch) == 0


def test_a_failing_copy_is_raised_by_the_next_copy(scratch) -> None:  # type: ignore[no-untyped-def]
    nested = scratch.begin_nested()
    seen: list[BaseException] = []
    try:
        with copies_in_background(scratch):
            copy_rows(scratch, "copied", ["n", "label"], [(None, "b")])
            try:
                copy_rows(scratch, "copied", ["n", "label"], [(2, "c")])
            except psycopg.errors.NotNullViolation as error:
                seen.append(error)
                raise
    except psycopg.errors.NotNullViolation:
        pass
    nested.rollback()
    assert len(seen) == 1


def test_sqlite_is_left_as_it_is(session) -> None:  # type: ignore[no-untyped-def]
    if session.connection().dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with copies_in_background(session):
        assert writer._BACKGROUND.get() is None
    assert session.execute(sa.text("SELECT 1")).scalar() == 1
