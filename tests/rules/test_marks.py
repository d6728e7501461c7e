"""A whole run of the purchase rules evaluates only the lycées whose lines changed since the
last one — marked by the database itself, whoever writes — unless what else the rules read
changed (settings, small tables, code, the date for a rule that reads it)."""

from __future__ import annotations

import inspect

import pytest
import sqlalchemy as sa

from tests.rules.fixture import TODAY
from workbench.records.models import PurchaseLine
from workbench.reference.models import MatrixEntry
from workbench.rules import marks
from workbench.rules.models import Anomaly, RuleRun, RuleSiteMark
from workbench.rules.operations import run_rules
from workbench.rules.operations.settings import update_rule_setting
from workbench.rules.registry import all_rules


def _lycees(session, make, count: int = 3):  # type: ignore[no-untyped-def]
    """Lycées with a good line each and one with a negative amount (PURCHASE_AMOUNT_INVALID)."""
    sites = []
    for _ in range(count):
        site = make.site()
        make.purchase_line(site, label="POMME GOLDEN", amount_ht=12.0)
        make.purchase_line(site, label="POIRE WILLIAMS", amount_ht=-3.0)
        sites.append(site)
    session.flush()
    return sites


def _active(session, code: str = "PURCHASE_AMOUNT_INVALID") -> set[int]:  # type: ignore[no-untyped-def]
    return set(
        session.scalars(
            sa.select(Anomaly.record_id).where(
                Anomaly.rule_code == code, Anomaly.status.in_(["open", "claimed", "proposed"])
            )
        )
    )


def _marked(session) -> set[int]:  # type: ignore[no-untyped-def]
    return set(marks.read(session))


def test_a_run_after_a_run_evaluates_no_lycee_and_changes_nothing(session, make) -> None:  # type: ignore[no-untyped-def]
    sites = _lycees(session, make)
    assert {s.id for s in sites} <= _marked(session)  # the inserts marked their lycées
    first = run_rules(session, today=TODAY)
    assert first.sites_checked >= 3
    assert _marked(session) == set()  # consumed
    before = session.execute(
        sa.select(Anomaly.id, Anomaly.status, Anomaly.version).order_by(Anomaly.id)
    ).all()
    again = run_rules(session, today=TODAY)
    assert again.sites_checked == 0
    assert again.total("opened") == again.total("closed") == 0
    after = session.execute(
        sa.select(Anomaly.id, Anomaly.status, Anomaly.version).order_by(Anomaly.id)
    ).all()
    assert after == before
    row = session.scalar(sa.select(RuleRun).order_by(RuleRun.id.desc()).limit(1))
    assert row.sites_checked == 0 and row.purchase_signature == first.purchase_signature


def test_a_changed_line_reevaluates_its_lycee_only(session, make) -> None:  # type: ignore[no-untyped-def]
    sites = _lycees(session, make)
    run_rules(session, today=TODAY)
    good = session.scalar(
        sa.select(PurchaseLine).where(
            PurchaseLine.site_id == sites[1].id, PurchaseLine.amount_ht > 0
        )
    )
    good.amount_ht = 0  # through the ORM
    session.flush()
    assert _marked(session) == {sites[1].id}
    result = run_rules(session, today=TODAY)
    assert result.sites_checked == 1
    assert good.id in _active(session)
    # a bulk UPDATE (an import's, a mapping's) marks too
    session.execute(sa.update(PurchaseLine).where(PurchaseLine.id == good.id).values(amount_ht=5.0))
    assert _marked(session) == {sites[1].id}
    run_rules(session, today=TODAY)
    assert good.id not in _active(session)


def test_inserted_and_deleted_lines_are_seen(session, make) -> None:  # type: ignore[no-untyped-def]
    sites = _lycees(session, make)
    run_rules(session, today=TODAY)
    bad = make.purchase_line(sites[0], label="KIWI", amount_ht=-1.0)
    session.flush()
    run_rules(session, today=TODAY)
    assert bad.id in _active(session)
    # the lines of a lycée all deleted (raw SQL): its anomalies close
    gone = set(
        session.scalars(sa.select(PurchaseLine.id).where(PurchaseLine.site_id == sites[2].id))
    )
    assert gone & _active(session)
    session.execute(sa.delete(PurchaseLine).where(PurchaseLine.site_id == sites[2].id))
    assert _marked(session) == {sites[2].id}
    result = run_rules(session, today=TODAY)
    assert result.sites_checked == 0  # no line left there: only its orphan anomalies are read
    assert not gone & _active(session)
    assert result.total("closed") >= 1


def test_deleted_anomalies_are_written_again(session, make) -> None:  # type: ignore[no-untyped-def]
    _lycees(session, make)
    run_rules(session, today=TODAY)
    expected = _active(session)
    session.execute(sa.delete(Anomaly).where(Anomaly.record_kind == "purchase_line"))
    assert _marked(session)
    run_rules(session, today=TODAY)
    assert _active(session) == expected


def test_settings_and_small_tables_reevaluate_every_lycee(session, make) -> None:  # type: ignore[no-untyped-def]
    sites = _lycees(session, make)
    supplier = make.supplier()
    session.flush()
    first = run_rules(session, today=TODAY)
    every = first.sites_checked
    # a parameter: the ceiling lowered under the good lines' amount
    update_rule_setting(
        session, "PURCHASE_AMOUNT_INVALID", params={"max_amount": 10.0}, rerun=False
    )
    result = run_rules(session, today=TODAY)
    assert result.sites_checked == every
    assert {
        line
        for line in session.scalars(
            sa.select(PurchaseLine.id).where(PurchaseLine.amount_ht == 12.0)
        )
    } <= _active(session)
    assert run_rules(session, today=TODAY).sites_checked == 0
    # a small table the rules read (a supplier's matrix)
    session.add(MatrixEntry(supplier_id=supplier.id, reference="R-1", label="POMME"))
    session.flush()
    assert run_rules(session, today=TODAY).sites_checked == every
    # the date, for none of the purchase rules
    assert run_rules(session, today=TODAY.replace(day=2)).sites_checked == 0
    # forced
    assert run_rules(session, today=TODAY, full=True).sites_checked == every
    assert len(sites) == 3


def test_a_mark_bumped_during_a_run_survives_it(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    session.flush()
    session.execute(sa.insert(RuleSiteMark).values(site_id=site.id, version=1))
    read = marks.read(session)
    # a concurrent change (PostgreSQL bumps the version of a mark it finds)
    session.execute(
        sa.update(RuleSiteMark).where(RuleSiteMark.site_id == site.id).values(version=2)
    )
    marks.consume(session, read)
    assert marks.read(session) == {site.id: 2}
    marks.consume(session, marks.read(session))
    assert marks.read(session) == {}


def test_every_rule_reading_the_date_says_so() -> None:
    """The date enters the signature only for rules with ``reads_today``."""
    for rule in all_rules().values():
        reads = '"today"' in inspect.getsource(rule)
        assert rule.reads_today == reads, rule.code


def test_a_run_that_leaves_lycees_alone_counts_them_as_a_whole_run_would(session, make) -> None:  # type: ignore[no-untyped-def]
    sites = _lycees(session, make)
    run_rules(session, today=TODAY)
    dismissed = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "PURCHASE_AMOUNT_INVALID", Anomaly.site_id == sites[0].id
        )
    )
    dismissed.status, dismissed.dismiss_reason = "dismissed", "false_positive"
    session.flush()
    skipped = run_rules(session, today=TODAY)
    whole = run_rules(session, today=TODAY, full=True)
    assert skipped.sites_checked == 0 < whole.sites_checked
    for code, count in whole.counts.items():
        assert (skipped.counts[code].failing, skipped.counts[code].unchanged) == (
            count.failing,
            count.unchanged,
        ), code


def test_a_mark_locked_by_a_concurrent_change_is_skipped_not_waited_for(app, session) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: a transaction changing a lycée holds its mark; the run neither waits for it
    nor removes it."""
    from workbench.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no mark can be locked by another transaction")
    site_id = 987_654
    with db.engine.connect() as other:
        other.execute(sa.insert(RuleSiteMark).values(site_id=site_id, version=1))
        other.commit()
        try:
            other.execute(
                sa.select(RuleSiteMark).where(RuleSiteMark.site_id == site_id).with_for_update()
            )
            session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            marks.consume(session, {site_id: 1})  # no wait, no lock error
            assert marks.read(session)[site_id] == 1
        finally:
            other.rollback()
            other.execute(sa.delete(RuleSiteMark).where(RuleSiteMark.site_id == site_id))
            other.commit()
