"""``anomaly_group_counts``: the region-wide groups of the active anomalies, kept by triggers.

Every write (insert, claim, dismiss, reopen, a value or key changed, a deletion) leaves the
groups a transaction reads — the stored ones, and the dirty ones computed from their
anomalies — equal to a live grouping; a commit settles the dirty ones; on PostgreSQL two
transactions changing one group at once leave it exact.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit import guard
from workbench.extensions import db
from workbench.rules import group_counts
from workbench.rules.models import Anomaly

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _seen(session: Any) -> dict[tuple[str, str, str], tuple]:
    """The groups as the grouped view reads them: the clean stored ones, and the dirty ones
    computed from their anomalies."""
    stored = group_counts.stored(session)
    dirty = group_counts.dirty_keys(session)
    for key in dirty:
        stored.pop(key, None)
    for r in session.execute(group_counts.computed(dirty)):
        stored[(r.rule_code, r.key, r.severity)] = (r.n, r.oldest, r.newest, r.sample_id, r.field)
    return stored


def _exact(session: Any) -> None:
    session.flush()
    expected = group_counts.recount(session)
    if len(group_counts.dirty_keys(session)) <= group_counts.FEW_DIRTY:
        assert _seen(session) == expected
    group_counts.settle(session)
    assert group_counts.dirty_keys(session) == []
    assert group_counts.stored(session) == expected


def _shapes(make: Any) -> list[Anomaly]:
    """Anomalies of every key shape, some sharing one key across shapes: a ``group_key``, a
    value at a supplier (a value holding an ``@``, an empty value), a supplier alone, nothing;
    a ``group_key`` spelled like a value key or a supplier id."""
    site = make.site()
    supplier, other = make.supplier(), make.supplier(siret=None)
    lines = [make.purchase_line(site, supplier=supplier) for _ in range(14)]
    rule = "MATRIX_ARTICLE_ABSENT"
    shapes = [
        {"group_key": "ref:1|A", "field": "reference"},
        {"group_key": "ref:1|A", "field": "labels", "severity": "blocking", "days_old": 9},
        {"value": "V1", "supplier_id": supplier.id},
        {"group_key": f"V1@{supplier.id}", "days_old": 4},
        {"group_key": "", "value": "V1", "supplier_id": supplier.id, "field": ""},
        {"value": "a@b", "supplier_id": other.id},
        {"value": "a@b", "supplier_id": None},
        {"group_key": "a@b@", "days_old": 2},
        {"supplier_id": supplier.id},
        {"value": "", "supplier_id": supplier.id, "days_old": 1},
        {"group_key": str(supplier.id)},
        {},
        {"group_key": "", "value": ""},
        {"group_key": "ref:1|A", "status": "dismissed", "dismiss_reason": "other"},
    ]
    made = []
    for line, shape in zip(lines, shapes, strict=True):
        values = {"field": "reference", "severity": "warning", **shape}
        made.append(make.anomaly(line, rule, **values))
    return made


def test_every_write_keeps_the_groups_exact(session, make) -> None:  # type: ignore[no-untyped-def]
    made = _shapes(make)
    _exact(session)
    stored = group_counts.stored(session)
    assert stored[("MATRIX_ARTICLE_ABSENT", "ref:1|A", "warning")][0] == 1
    assert stored[("MATRIX_ARTICLE_ABSENT", "ref:1|A", "blocking")][0] == 1
    # a claim moves nothing; a dismissal, a reopening, a change of value, of key, of severity,
    # of first seen, of rule; a deletion; each alone, then all together before one settle
    steps: list[tuple[int, dict[str, Any]]] = [
        (0, {"status": "claimed"}),
        (1, {"status": "dismissed", "dismiss_reason": "other"}),
        (13, {"status": "open", "dismiss_reason": None}),
        (2, {"value": "V2"}),
        (3, {"group_key": None, "value": "V1"}),
        (5, {"severity": "blocking"}),
        (6, {"first_seen_at": T0}),
        (8, {"rule_code": "MATRIX_PRICE_GAP"}),
        (10, {"field": "zzz"}),
        (11, {"status": "resolved"}),
    ]
    for index, values in steps:
        for name, value in values.items():
            setattr(made[index], name, value)
        _exact(session)
    session.delete(made[4])
    _exact(session)
    for anomaly in made[5:9]:
        anomaly.status = "dismissed"
        anomaly.dismiss_reason = "other"
    made[9].value = "V1"
    session.execute(sa.delete(Anomaly).where(Anomaly.id == made[12].id))
    _exact(session)
    assert ("MATRIX_ARTICLE_ABSENT", "a@b@", "warning") not in group_counts.stored(session)


@pytest.mark.parametrize("few", [200, 0], ids=["group-by-group", "whole-rules"])
def test_bulk_statements_keep_the_groups_exact(session, make, monkeypatch, few) -> None:  # type: ignore[no-untyped-def]
    """Settled group by group (index ranges), or, above ``FEW_DIRTY`` dirty groups, by
    grouping their rules whole."""
    monkeypatch.setattr(group_counts, "FEW_DIRTY", few)
    made = _shapes(make)
    ids = [a.id for a in made]
    session.execute(
        sa.update(Anomaly)
        .where(Anomaly.id.in_(ids[::2]))
        .values(status="dismissed", dismiss_reason="other"),
        execution_options={"synchronize_session": False},
    )
    _exact(session)
    session.execute(
        sa.update(Anomaly).where(Anomaly.id.in_(ids)).values(value="W", group_key=None),
        execution_options={"synchronize_session": False},
    )
    _exact(session)
    session.execute(sa.delete(Anomaly).where(Anomaly.id.in_(ids[:5])))
    _exact(session)
    group_counts.rebuild(session)
    _exact(session)


def test_a_commit_settles_the_dirty_groups(session, make) -> None:  # type: ignore[no-untyped-def]
    made = _shapes(make)
    made[0].status = "dismissed"
    made[0].dismiss_reason = "other"
    session.flush()
    assert group_counts.dirty_keys(session) == [("MATRIX_ARTICLE_ABSENT", "ref:1|A", "warning")]
    session.info[guard.AUDITED] = True  # the factories journal nothing
    session.commit()  # the test's SAVEPOINT: the session's before_commit runs all the same
    assert group_counts.dirty_keys(session) == []
    assert group_counts.stored(session) == group_counts.recount(session)


def test_a_savepoint_that_wrote_nothing_does_not_skip_the_settle(session, make) -> None:  # type: ignore[no-untyped-def]
    """On SQLite a commit settles when its transaction wrote: a savepoint opened after the
    write (and writing nothing) must not hide the write."""
    made = _shapes(make)
    session.info[guard.AUDITED] = True
    session.commit()
    made[0].status = "dismissed"
    made[0].dismiss_reason = "other"
    session.flush()
    with session.begin_nested():
        session.execute(sa.select(Anomaly.id).limit(1))
    session.info[guard.AUDITED] = True
    session.commit()
    assert group_counts.dirty_keys(session) == []
    assert group_counts.stored(session) == group_counts.recount(session)


def test_the_view_counts_changes_not_yet_flushed(session, make) -> None:  # type: ignore[no-untyped-def]
    from workbench.review.groups import grouped_queue
    from workbench.review.queries import QueueFilter

    admin = make.user(role="admin")
    made = _shapes(make)
    group_counts.settle(session)
    made[2].status = "dismissed"  # pending: not flushed (one of the three of « V1@supplier »)
    made[2].dismiss_reason = "other"
    found, _ = grouped_queue(session, admin, "matrix", QueueFilter(), per_page=50)
    counts = {g.key: g.count for g in found}
    assert counts[f"V1@{made[2].supplier_id}"] == 2


def test_members_are_index_ranges_of_the_covering_index(session) -> None:  # type: ignore[no-untyped-def]
    """The members of a dirty group are read through ``ix_anomalies_cover_rule`` (no scan of
    the anomalies: a dirty group costs a few index seeks)."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    stmt = group_counts.computed(
        [("R", "ref:1|A", "warning"), ("R", "V@12", "x"), ("R", "12", "x")]
    )
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = [r[3] for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql))]
    reads = [s for s in plan if s.startswith(("SEARCH anomalies", "SCAN anomalies"))]
    assert reads and all("INDEX ix_anomalies_cover_rule" in s for s in reads), plan
    # each range a seek past the rule (the whole rule read for each group was the slow way)
    assert all("rule_code=? AND group_key=?" in s for s in reads), plan


# -- PostgreSQL: two transactions on one group ---------------------------------------------------
def _raw_anomaly(connection: Any, **values: Any) -> int:
    row = {
        "rule_code": "MATRIX_LABEL_MISMATCH",
        "record_kind": "purchase_line",
        "record_id": 0,
        "field": "labels",
        "severity": "warning",
        "status": "open",
        "owner_role": "canteen",
        "message": "",
        "value": "TÉMOIN",
        "first_seen_at": T0,
        "last_seen_at": T0,
        "version": 1,
        **values,
    }
    return connection.execute(
        sa.insert(Anomaly.__table__).values(**row).returning(Anomaly.__table__.c.id)
    ).scalar_one()


@pytest.fixture
def shared_group(app):  # type: ignore[no-untyped-def]
    """Four committed anomalies of one group (removed at the end, their group with them)."""
    with app.app_context():
        with db.engine.connect() as other:
            ids = [
                _raw_anomaly(other, record_id=-1 - i, first_seen_at=T0 + dt.timedelta(days=i))
                for i in range(4)
            ]
            other.commit()
        yield ids
        with db.engine.connect() as other:
            other.execute(sa.delete(Anomaly.__table__).where(Anomaly.__table__.c.id.in_(ids)))
            other.commit()
        with Session(db.engine) as cleanup:
            group_counts.settle(cleanup)
            cleanup.commit()


def _dismiss(connection: Any, anomaly_id: int) -> None:
    table = Anomaly.__table__
    connection.execute(
        sa.update(table)
        .where(table.c.id == anomaly_id)
        .values(status="dismissed", dismiss_reason="other")
    )


def test_two_transactions_dismissing_in_one_group_leave_it_exact(app, shared_group) -> None:  # type: ignore[no-untyped-def]
    """The second waits for the first's lock on the group, then reads the group again with
    the first's change committed: neither change is lost."""
    first_id, second_id = shared_group[0], shared_group[1]
    key = ("MATRIX_LABEL_MISMATCH", "TÉMOIN@", "warning")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer")
        first, second = Session(db.engine), Session(db.engine)
        try:
            _dismiss(first.connection(), first_id)
            group_counts.settle(first)
            done = threading.Event()

            def run_second() -> None:
                _dismiss(second.connection(), second_id)  # waits for the group's lock
                group_counts.settle(second)
                second.commit()
                done.set()

            thread = threading.Thread(target=run_second)
            thread.start()
            assert not done.wait(0.5)  # blocked on the group
            first.commit()
            thread.join(10)
            assert done.is_set()
        finally:
            first.close()
            second.close()
        with Session(db.engine) as reader:
            stored = group_counts.stored(reader)
            assert stored[key] == group_counts.recount(reader)[key]
            assert stored[key][:3] == (2, T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=3))
            assert group_counts.dirty_keys(reader) == []


def test_a_dirty_group_left_by_a_raw_writer_is_read_exactly_then_settled(app, shared_group) -> None:  # type: ignore[no-untyped-def]
    """A writer outside the session commits a dismissal without settling: readers compute the
    group from its anomalies; on PostgreSQL a settle running while another transaction holds
    the group skips it, and the next commit settles it; on SQLite a commit that wrote nothing
    leaves it (settling would take the write lock in a read), the next writer settles it."""
    key = ("MATRIX_LABEL_MISMATCH", "TÉMOIN@", "warning")
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as raw:
            _dismiss(raw, shared_group[0])
            raw.commit()
        with Session(db.engine) as reader:
            assert group_counts.dirty_keys(reader) == [key]
            assert _seen(reader)[key][:2] == (3, T0 + dt.timedelta(days=1))
            reader.commit()
        with Session(db.engine) as reader:
            assert group_counts.dirty_keys(reader) == ([] if postgres else [key])
        if not postgres:
            with Session(db.engine) as writer:
                writer.execute(
                    sa.update(Anomaly.__table__)
                    .where(Anomaly.__table__.c.id == shared_group[1])
                    .values(message="relu")
                )
                writer.commit()
        with Session(db.engine) as reader:
            assert group_counts.dirty_keys(reader) == []
            assert group_counts.stored(reader)[key][:2] == (3, T0 + dt.timedelta(days=1))


def test_a_settle_skips_the_groups_another_transaction_holds(app, shared_group) -> None:  # type: ignore[no-untyped-def]
    key = ("MATRIX_LABEL_MISMATCH", "TÉMOIN@", "warning")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer")
        with db.engine.connect() as raw:
            _dismiss(raw, shared_group[0])
            raw.commit()
        with db.engine.connect() as holder, Session(db.engine) as settler:
            holder.execute(sa.text("SELECT 1 FROM anomaly_group_counts WHERE dirty FOR UPDATE"))
            assert group_counts.settle(settler) == 0  # skipped, not waited for
            settler.rollback()
            holder.rollback()
        with Session(db.engine) as settler:
            assert group_counts.settle(settler) == 1
            settler.commit()
            assert group_counts.stored(settler)[key][0] == 3


def test_a_bulk_action_finds_each_group_by_its_index_ranges(session, make) -> None:  # type: ignore[no-untyped-def]
    """``group_anomalies`` (what a bulk action on a group touches) looks each group up through
    :func:`group_counts.members`: every key shape, colliding ones included, finds exactly the
    active anomalies whose group token it is."""
    from workbench.review.groups import group_anomalies, group_token
    from workbench.review.queries import QueueFilter

    admin = make.user(role="admin")
    made = _shapes(make)
    active = [a for a in made if a.status in ("open", "claimed", "proposed")]
    for token in sorted({group_token(a) for a in active}):
        found = group_anomalies(session, admin, "matrix", QueueFilter(), [token])
        assert [a.id for a in found] == sorted(a.id for a in active if group_token(a) == token)
