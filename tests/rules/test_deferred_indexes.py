"""A large run on an (almost) empty anomalies table builds the secondary indexes after its
writes (SQLite): same anomalies, same indexes afterwards, rollback-safe; not otherwise."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rules.fixture import TODAY, build
from workbench.rules import deferred
from workbench.rules.models import Anomaly, AnomalyCount
from workbench.rules.operations import run as run_module
from workbench.rules.operations import run_rules


def _sqlite(session) -> bool:  # type: ignore[no-untyped-def]
    return session.connection().dialect.name == "sqlite"


#: The indexes of ``anomalies`` while a large first run writes.
WRITING = sorted([*deferred.KEPT, "sqlite_autoindex_anomalies_1"])


def _indexes(session) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return session.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'anomalies' ORDER BY name"
        )
    ).all()


def _anomalies(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    return session.execute(
        sa.select(
            Anomaly.rule_code,
            Anomaly.record_kind,
            Anomaly.record_id,
            Anomaly.field,
            Anomaly.status,
            Anomaly.value,
            Anomaly.group_key,
        ).order_by(Anomaly.rule_code, Anomaly.record_kind, Anomaly.record_id, Anomaly.field)
    ).all()


def _counts(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    return session.execute(
        sa.select(AnomalyCount.rule_code, AnomalyCount.status, AnomalyCount.n)
        .where(AnomalyCount.n > 0)
        .order_by(AnomalyCount.rule_code, AnomalyCount.status, AnomalyCount.site_id)
    ).all()


@pytest.fixture
def spy(monkeypatch):  # type: ignore[no-untyped-def]
    """The anomalies table's indexes as each batch of new anomalies is written."""
    seen: list[list[str]] = []
    insert = run_module._insert_new

    def spied(session, new, now):  # type: ignore[no-untyped-def]
        if _sqlite(session):
            seen.append([name for name, _ in _indexes(session)])
        return insert(session, new, now)

    monkeypatch.setattr(run_module, "_insert_new", spied)
    return seen


def test_a_first_large_run_writes_before_indexing_and_finds_the_same(
    session, make, monkeypatch, spy
) -> None:  # type: ignore[no-untyped-def]
    if not _sqlite(session):
        pytest.skip("SQLite only: PostgreSQL keeps its indexes (DROP INDEX locks readers)")
    build(session, make)
    session.flush()
    # the reference: indexes maintained row by row (the run is "small")
    before = _indexes(session)
    nested = session.begin_nested()
    run_rules(session, today=TODAY)
    assert spy and all("ix_anomalies_record" in names for names in spy)
    expected, expected_counts = _anomalies(session), _counts(session)
    assert expected
    nested.rollback()
    spy.clear()
    # the same run, counted as large: indexes dropped for the writes, built after
    monkeypatch.setattr(deferred, "DEFER_LINES", 1)
    result = run_rules(session, today=TODAY, full=True)
    # only the unique key while writing, and the partial indexes the writes never reach
    assert spy and all(names == WRITING for names in spy), spy
    assert _indexes(session) == before  # every index back, the very same statements
    assert _anomalies(session) == expected
    assert _counts(session) == expected_counts
    assert result.total("opened") == len(expected)
    # the planner has statistics for the rebuilt indexes
    stats = {
        name
        for (name,) in session.execute(
            sa.text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'anomalies'")
        )
    }
    assert "ix_anomalies_record" in stats


def test_a_table_with_anomalies_keeps_its_indexes(session, make, monkeypatch, spy) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    session.flush()
    run_rules(session, today=TODAY)
    spy.clear()
    monkeypatch.setattr(deferred, "DEFER_LINES", 1)
    monkeypatch.setattr(deferred, "DEFER_BELOW", 1)  # the table already holds anomalies
    assert not deferred.starts_small(session, None)
    make.purchase_line(make.site(), label="POIRE", amount_ht=-1.0)
    session.flush()
    run_rules(session, today=TODAY, full=True)
    if _sqlite(session):
        assert spy and all("ix_anomalies_record" in names for names in spy)


def test_a_small_run_or_postgresql_never_defers(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    session.flush()
    assert not deferred.starts_small(session, deferred.DEFER_LINES - 1)
    monkeypatch.setattr(deferred, "DEFER_LINES", 1)
    assert deferred.starts_small(session, 5) and deferred.starts_small(session, None)
    before = _indexes(session) if _sqlite(session) else None
    with deferred.indexes_built_after(session, True) as dropped:
        assert dropped is _sqlite(session)  # PostgreSQL keeps them (DROP INDEX locks readers)
        if dropped:
            assert [name for name, _ in _indexes(session)] == WRITING
    if before is not None:
        assert _indexes(session) == before
    with deferred.indexes_built_after(session, False) as dropped:
        assert not dropped


def test_a_failed_run_leaves_the_indexes_as_they_were(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if not _sqlite(session):
        pytest.skip("SQLite only")
    build(session, make)
    session.flush()
    before = _indexes(session)
    monkeypatch.setattr(deferred, "DEFER_LINES", 1)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(run_module, "_insert_new", broken)
    nested = session.begin_nested()
    with pytest.raises(RuntimeError):
        run_rules(session, today=TODAY)
    # should the caller keep the transaction, the indexes are back all the same
    assert _indexes(session) == before
    nested.rollback()
    assert _indexes(session) == before


def test_a_line_moved_to_another_lycee_keeps_its_one_anomaly(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A deferred run looks moved lines up among the anomalies the table held at its start."""
    first, second = make.site(), make.site()
    line = make.purchase_line(first, label="POIRE", amount_ht=-3.0)
    make.purchase_line(second, label="POMME", amount_ht=2.0)
    session.flush()
    run_rules(session, today=TODAY)
    line.site_id = second.id
    session.flush()
    monkeypatch.setattr(deferred, "DEFER_LINES", 1)
    monkeypatch.setattr(deferred, "DEFER_BELOW", 1_000_000)
    monkeypatch.setattr(run_module, "BY_ID_MAX", 0)  # lycées read by lycée, not by id
    run_rules(session, today=TODAY, full=True)
    rows = session.execute(
        sa.select(Anomaly.site_id, Anomaly.status).where(
            Anomaly.rule_code == "PURCHASE_AMOUNT_INVALID", Anomaly.record_id == line.id
        )
    ).all()
    assert rows == [(second.id, "open")]
