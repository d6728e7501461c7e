"""A whole rule run writes each chunk's anomalies from a thread while it reads (on a connection
of its own) and checks the next chunk (:mod:`workbench.rules.behind`) — only when that
connection reads what the run's transaction reads (:func:`workbench.db.read_alike`). On a
committed database of its own (SQLite file, PostgreSQL schema): the suite's rolled-back
transaction is never read alike."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from workbench.audit.operations import Actor, acting_as, record
from workbench.db import read_alike, sqlite_begin
from workbench.demo import factories
from workbench.extensions import db
from workbench.rules import behind, frames
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
    """The threads that wrote the chunks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[str] = []
        original = run_module._Run._written

        def written(run, *args):  # type: ignore[no-untyped-def]
            self.threads.append(threading.current_thread().name)
            return original(run, *args)

        monkeypatch.setattr(run_module._Run, "_written", written)


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


def test_a_whole_run_writes_behind_and_finds_what_the_session_finds(lines, monkeypatch):
    sequential = monkeypatch.context()
    with sequential as m:
        m.setattr(behind, "read_alike", lambda connection: False)
        expected, _ = _run(lines, m)
    spy = _Spy(monkeypatch)
    found, _ = _run(lines, monkeypatch)
    assert found == expected
    assert {r for r, *_ in found} >= {"ARTICLE_UNMAPPED", "PURCHASE_DUPLICATE"}
    # every chunk was written by the writer's thread: 3+4, the 14 by days (2 ranges), 5, 6
    assert len(spy.threads) == 5
    assert all(name.startswith("workbench-writer") for name in spy.threads)
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-writer")]


def test_lines_the_transaction_wrote_are_read_by_the_session(lines, monkeypatch):
    """A reader's connection would not see them: the session reads and writes every chunk."""
    spy = _Spy(monkeypatch)
    found, written = _run(lines, monkeypatch, write_first=True)
    assert ("ARTICLE_UNMAPPED", written) in {(rule, record) for rule, record, *_ in found}
    assert spy.threads and not [t for t in spy.threads if t.startswith("workbench-writer")]


@pytest.mark.parametrize(("method", "nth"), [("_written", 2), ("_checked", 3)])
def test_a_failure_stops_the_run_and_its_writer(lines, monkeypatch, method, nth):
    """A write that fails (raised at the next chunk), or a check that fails while a write runs:
    the run stops with the error, after the writer is done; nothing stays."""
    calls = []
    original = getattr(run_module._Run, method)

    def broken(run, *args):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == nth:
            raise RuntimeError("disque plein")
        return original(run, *args)

    monkeypatch.setattr(run_module._Run, method, broken)
    with pytest.raises(RuntimeError, match="disque plein"):
        _run(lines, monkeypatch)
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-writer")]
    with lines.app_context():  # nothing left behind: the run was rolled back
        assert _snapshot(db.session) == set()
        db.session.rollback()


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


def _recheck(app, monkeypatch: pytest.MonkeyPatch) -> tuple[set[tuple], list[int]]:
    """An import's re-check: lines written by the transaction (not committed), then every line
    re-checked by id in chunks of 8 lines or more, (lycée, day) by (lycée, day), rolled back
    after."""
    monkeypatch.setattr(run_module, "LINE_CHUNK", 8)
    monkeypatch.setattr(frames, "SITE_DAYS_PER_QUERY", 1)
    with app.app_context(), acting_as(Actor(email="tests", role="admin")):
        session = db.session
        try:
            site = factories.make_site(session)
            written = [
                factories.make_purchase_line(
                    session,
                    site,
                    label=f"NOUVEL ARTICLE {i % 3}",
                    line_date=dt.date(2026, 3, 2),
                    reference=f"N{i % 3}",
                ).id
                for i in range(6)
            ]
            ids = session.scalars(sa.select(run_module.PurchaseLine.id)).all()
            run_rules(session, record_kind="purchase_line", record_ids=ids)
            session.flush()
            # the new lines by their rank (PostgreSQL's ids are not rolled back), their anomalies
            # without the messages and lycée (which name them)
            rank = {line: f"nouvelle {i}" for i, line in enumerate(written)}
            found = {
                (r, rank[record], field, status) if record in rank else (r, record, field, status)
                for r, record, field, _, message, _, status in _snapshot(session)
            }
            old = {a for a in _snapshot(session) if a[1] not in rank}
            return found | old, written
        finally:
            session.rollback()


def test_a_recheck_after_an_import_checks_each_chunk_while_the_one_before_is_written(
    lines, monkeypatch
):
    """The lines are the transaction's own: no reader connection, the session reads each chunk
    once the write before is done (:func:`workbench.rules.behind.checked_beside`)."""
    with monkeypatch.context() as m:
        m.setattr(behind, "threads_share", lambda connection: False)
        sequential = _Spy(m)
        expected, _ = _recheck(lines, m)
    assert sequential.threads and set(sequential.threads) == {"MainThread"}
    spy = _Spy(monkeypatch)
    found, written = _recheck(lines, monkeypatch)
    assert found == expected
    unmapped = {record for rule, record, *_ in found if rule == "ARTICLE_UNMAPPED"}
    assert {f"nouvelle {i}" for i in range(len(written))} <= unmapped
    # every chunk but the last written by the writer's thread, the last by the run itself
    assert len(spy.threads) == len(sequential.threads) >= 3
    assert all(name.startswith("workbench-writer") for name in spy.threads[:-1])
    assert spy.threads[-1] == "MainThread"
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-writer")]
