"""A whole rule run reads the next chunk of purchase lines on a connection of its own while it
checks and writes the current one (:mod:`workbench.rules.prefetch`) — only when that connection
reads what the run's transaction reads (:func:`workbench.db.read_alike`). On a committed
database of its own (SQLite file, PostgreSQL schema): the suite's rolled-back transaction is
never read alike."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from workbench.audit.operations import Actor, acting_as, record
from workbench.db import read_alike, sqlite_begin
from workbench.demo import factories
from workbench.extensions import db
from workbench.rules import prefetch
from workbench.rules.models import Anomaly
from workbench.rules.operations import run as run_module
from workbench.rules.operations import run_rules


@pytest.fixture(scope="module")
def lines(race_app):
    """Five lycées of 3 to 14 purchase lines (unmapped articles, a few duplicates), committed."""
    with race_app.app_context(), acting_as(Actor(email="tests", role="admin")):
        session = db.session
        supplier = factories.make_supplier(session, name="Laiterie prefetch")
        for n, size in enumerate((3, 4, 14, 5, 6)):
            site = factories.make_site(session)
            for i in range(size):
                day = dt.date(2026, 3, 2) + dt.timedelta(days=i % 2)
                factories.make_purchase_line(
                    session,
                    site,
                    label=f"ARTICLE {n}-{i % 4}",  # the same label and day: duplicates
                    line_date=day,
                    supplier=supplier,
                    reference=f"R{n}-{i % 4}",
                )
        record(session, "tests.setup", target_kind="purchase_line", target_label="prefetch")
        session.commit()
    return race_app


def _snapshot(session) -> set[tuple]:
    return set(
        session.execute(
            sa.select(
                Anomaly.rule_code,
                Anomaly.record_id,
                Anomaly.field,
                Anomaly.value,
                Anomaly.message,
                Anomaly.site_id,
                Anomaly.status,
            ).where(Anomaly.record_kind == "purchase_line")
        )
    )


class _Spy:
    """Counts the chunks the reader thread read, and the threads that read them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[str] = []
        original = prefetch._Reader.read

        def read(reader, where):  # type: ignore[no-untyped-def]
            self.threads.append(threading.current_thread().name)
            return original(reader, where)

        monkeypatch.setattr(prefetch._Reader, "read", read)


def _run(
    app, monkeypatch: pytest.MonkeyPatch, *, write_first: bool = False
) -> tuple[set[tuple], int | None]:
    """A whole run in chunks of at most 8 lines (the lycée of 14 by ranges of days), rolled
    back after: the anomalies it left, and the line written first (``write_first``: by the
    same transaction, not committed)."""
    monkeypatch.setattr(run_module, "LINE_CHUNK", 8)
    with app.app_context(), acting_as(Actor(email="tests", role="admin")):
        session = db.session
        try:
            written = None
            if write_first:
                site = factories.make_site(session)
                written = factories.make_purchase_line(session, site, label="LIGNE NON VALIDÉE").id
            run_rules(session, full=True)
            session.flush()
            return _snapshot(session), written
        finally:
            session.rollback()


def test_a_whole_run_reads_ahead_and_finds_what_the_session_finds(lines, monkeypatch):
    sequential = monkeypatch.context()
    with sequential as m:
        m.setattr(prefetch, "read_alike", lambda connection: False)
        expected, _ = _run(lines, m)
    spy = _Spy(monkeypatch)
    found, _ = _run(lines, monkeypatch)
    assert found == expected
    assert {r for r, *_ in found} >= {"ARTICLE_UNMAPPED", "PURCHASE_DUPLICATE"}
    # every chunk was read by the reader's thread: 3+4, the 14 by days (2 ranges), 5, 6
    assert len(spy.threads) == 5
    assert all(name.startswith("workbench-prefetch") for name in spy.threads)
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-prefetch")]


def test_lines_the_transaction_wrote_are_read_by_the_session(lines, monkeypatch):
    """The reader's connection would not see them: the session reads every chunk itself."""
    spy = _Spy(monkeypatch)
    found, written = _run(lines, monkeypatch, write_first=True)
    assert ("ARTICLE_UNMAPPED", written) in {(rule, record) for rule, record, *_ in found}
    assert spy.threads == []


def test_a_failed_read_stops_the_run_and_its_reader(lines, monkeypatch):
    calls = []
    original = prefetch.read_table

    def failing(source, table, where):  # type: ignore[no-untyped-def]
        calls.append(threading.current_thread().name)
        if len(calls) == 2:
            raise RuntimeError("disque illisible")
        return original(source, table, where)

    monkeypatch.setattr(prefetch, "read_table", failing)
    with pytest.raises(RuntimeError, match="disque illisible"):
        _run(lines, monkeypatch)
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-prefetch")]
    with lines.app_context():  # nothing left behind: the run was rolled back
        assert _snapshot(db.session) == set()


def test_read_alike_only_before_the_first_write_of_a_writing_transaction(lines):
    with lines.app_context(), acting_as(Actor(email="tests", role="admin")):
        session = db.session
        try:
            assert read_alike(session.connection())
            factories.make_site(session)
            assert not read_alike(session.connection())
        finally:
            session.rollback()
        if session.get_bind().dialect.name == "sqlite":
            # a reading transaction does not keep other writers out
            with sqlite_begin("DEFERRED"):
                try:
                    assert not read_alike(session.connection())
                finally:
                    session.rollback()
