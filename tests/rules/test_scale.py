"""Rule runs at scale: lycée by lycée in bounded chunks, re-checks proportional to the change,
nothing written for anomalies still failing, the time of the run kept once (``rule_runs``)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.rules.fixture import TODAY, build
from workbench.core.signals import records_changed
from workbench.records.models import PurchaseLine
from workbench.rules import frames
from workbench.rules.models import Anomaly, RuleRun
from workbench.rules.operations import run, run_rules

DAY = dt.date(2026, 3, 2)


def _state(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    return session.execute(
        sa.select(
            Anomaly.rule_code,
            Anomaly.record_id,
            Anomaly.field,
            Anomaly.status,
            Anomaly.message,
            Anomaly.site_id,
        ).order_by(Anomaly.rule_code, Anomaly.record_id, Anomaly.field)
    ).all()


def _status(session, code: str, record_id: int) -> str | None:  # type: ignore[no-untyped-def]
    return session.scalar(
        sa.select(Anomaly.status).where(Anomaly.rule_code == code, Anomaly.record_id == record_id)
    )


@pytest.fixture
def tiny_chunks(monkeypatch):  # type: ignore[no-untyped-def]
    """One lycée per chunk, and anomalies read by lycée rather than by id."""
    monkeypatch.setattr(run, "LINE_CHUNK", 1)
    monkeypatch.setattr(run, "BY_ID_MAX", 0)


def test_a_chunked_run_finds_what_a_whole_run_finds(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    for _ in range(3):  # more lycées, each with a duplicate and an unmapped line
        site = make.site()
        make.purchase_line(site, label="POMME", amount_ht=5.0)
        make.purchase_line(site, label="POMME", amount_ht=5.0)
    whole = run_rules(session, today=TODAY)
    expected = _state(session)
    session.execute(sa.delete(Anomaly))
    monkeypatch.setattr(run, "LINE_CHUNK", 1)
    monkeypatch.setattr(run, "BY_ID_MAX", 0)
    chunked = run_rules(session, today=TODAY)
    assert _state(session) == expected
    assert chunked.total("opened") == whole.total("opened")
    assert chunked.peak_lines < whole.peak_lines, "one lycée at a time, not the whole table"


def test_a_run_where_nothing_changed_writes_no_anomaly(session, make) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    run_rules(session, today=TODAY)
    before = session.execute(
        sa.select(Anomaly.id, Anomaly.last_seen_at, Anomaly.version).order_by(Anomaly.id)
    ).all()
    runs = session.scalar(sa.select(sa.func.count()).select_from(RuleRun))
    second = run_rules(session, today=TODAY)
    after = session.execute(
        sa.select(Anomaly.id, Anomaly.last_seen_at, Anomaly.version).order_by(Anomaly.id)
    ).all()
    assert after == before, "last_seen_at is not rewritten on anomalies still failing"
    assert session.scalar(sa.select(sa.func.count()).select_from(RuleRun)) == runs + 1
    latest = session.get(RuleRun, second.run_id)
    assert latest.opened == latest.closed == 0
    assert latest.failing == second.total("failing") > 0
    assert latest.finished_at >= latest.started_at
    assert run.last_run(session).id == latest.id


def test_bulk_inserted_anomalies_carry_the_run_time_as_the_orm_reads_it(session, make) -> None:  # type: ignore[no-untyped-def]
    """The run's time is written once for every new anomaly (as text on SQLite, the very text
    the driver's adapter gives): it reads back as the aware time of the run, to the
    microsecond, on both databases."""
    build(session, make)
    moment = dt.datetime(2026, 7, 14, 9, 30, 5, 123456, tzinfo=dt.UTC)
    run._insert_new(session, _one_new(session), moment)
    row = session.execute(
        sa.select(Anomaly.first_seen_at, Anomaly.last_seen_at).where(Anomaly.rule_code == "X")
    ).one()
    assert row == (moment, moment)
    if session.get_bind().dialect.name == "sqlite":
        raw = session.execute(
            sa.text("SELECT first_seen_at FROM anomalies WHERE rule_code = 'X'")
        ).scalar()
        assert raw == "2026-07-14 09:30:05.123456"
    # a whole second: six zero digits, as SQLAlchemy writes it (a keyset cursor compares the
    # text), not the adapter's shorter form
    whole = moment.replace(microsecond=0)
    run._insert_new(session, _one_new(session, "Y"), whole)
    found = session.scalar(sa.select(Anomaly.first_seen_at).where(Anomaly.rule_code == "Y"))
    assert found == whole
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(
                Anomaly.rule_code == "Y", Anomaly.first_seen_at == whole
            )
        )
        == 1
    )


def _one_new(session, code: str = "X"):  # type: ignore[no-untyped-def]
    import pandas as pd

    line = session.scalar(sa.select(PurchaseLine).limit(1))
    return pd.DataFrame(
        [
            {
                "rule_code": code,
                "record_kind": "purchase_line",
                "record_id": line.id,
                "field": "",
                "severity": "warning",
                "owner_role": "canteen",
                "site_id": line.site_id,
                "direction_code": None,
                "supplier_id": None,
                "group_key": None,
                "value": None,
                "message": "m",
                "fingerprint": 1,
                "details": None,
            }
        ]
    )


def test_a_recheck_judges_the_duplicates_of_the_same_lycee_and_day(
    session, make, tiny_chunks
) -> None:  # type: ignore[no-untyped-def]
    site, other_site = make.site(), make.site()
    first = make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=DAY)
    second = make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=DAY)
    elsewhere = make.purchase_line(other_site, label="POMME", amount_ht=5.0, line_date=DAY)
    make.purchase_line(other_site, label="POMME", amount_ht=5.0, line_date=DAY)
    run_rules(session, today=TODAY)
    assert _status(session, "PURCHASE_DUPLICATE", second.id) == "open"

    # the first line changes: the second is no longer its duplicate (it was not changed itself)
    first.amount_ht = 6.0
    session.flush()
    result = run_rules(session, record_kind="purchase_line", record_ids=[first.id])
    assert _status(session, "PURCHASE_DUPLICATE", second.id) == "resolved"
    assert result.peak_lines == 2, "only the lines of that lycée and day are loaded"
    assert _status(session, "PURCHASE_DUPLICATE", elsewhere.id + 1) == "open", (
        "another lycée's duplicate is untouched"
    )


def test_without_the_duplicate_rule_a_recheck_loads_only_the_changed_lines(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    lines = [make.purchase_line(site, label=f"ARTICLE {i}", line_date=DAY) for i in range(5)]
    run_rules(session, today=TODAY)
    result = run_rules(
        session,
        rule_codes=["ARTICLE_UNMAPPED", "PURCHASE_AMOUNT_INVALID"],
        record_kind="purchase_line",
        record_ids=[lines[0].id],
    )
    assert result.peak_lines == 1


def test_a_deleted_line_has_its_anomalies_closed_by_the_recheck(session, make, tiny_chunks) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    line = make.purchase_line(site, label="POMME", amount_ht=0.0)
    run_rules(session, today=TODAY)
    assert _status(session, "PURCHASE_AMOUNT_INVALID", line.id) == "open"
    line_id = line.id
    session.execute(sa.delete(PurchaseLine).where(PurchaseLine.id == line_id))
    records_changed.send(session, record_kind="purchase_line", record_ids=[line_id])
    assert _status(session, "PURCHASE_AMOUNT_INVALID", line_id) == "resolved"


def test_a_full_run_closes_the_anomalies_of_lycees_without_lines(
    session, make, tiny_chunks
) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    line = make.purchase_line(site, label="POMME", amount_ht=0.0)
    keep = make.purchase_line(make.site(), label="POIRE", amount_ht=0.0)
    run_rules(session, today=TODAY)
    line_id = line.id
    session.execute(sa.delete(PurchaseLine).where(PurchaseLine.id == line_id))
    result = run_rules(session, today=TODAY)
    assert _status(session, "PURCHASE_AMOUNT_INVALID", line_id) == "resolved"
    assert _status(session, "PURCHASE_AMOUNT_INVALID", keep.id) == "open"
    assert result.total("closed") >= 1


def test_a_big_recheck_is_chunked_by_lycee(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sites = [make.site() for _ in range(4)]
    ids = [
        make.purchase_line(s, label=f"ART {i}", amount_ht=0.0 if i % 2 else 3.0).id
        for s in sites
        for i in range(3)
    ]
    monkeypatch.setattr(run, "LINE_CHUNK", 3)
    monkeypatch.setattr(frames, "SITE_DAYS_PER_QUERY", 1)  # one lycée-day per query
    result = run_rules(session, record_kind="purchase_line", record_ids=ids, today=TODAY)
    assert result.peak_lines == 3
    assert result.counts["PURCHASE_AMOUNT_INVALID"].opened == 4
    assert result.counts["ARTICLE_UNMAPPED"].opened == 12


def _recount(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    key = (
        Anomaly.rule_code,
        Anomaly.status,
        Anomaly.owner_role,
        sa.func.coalesce(Anomaly.site_id, 0),
        sa.func.coalesce(Anomaly.direction_code, ""),
    )
    rows = session.execute(sa.select(*key, sa.func.count()).group_by(*key)).all()
    return {tuple(r[:5]): int(r[5]) for r in rows}


def _recount_days(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    """``{(opened day, closed day): n}`` grouped live (UTC days, ``''``: not closed)."""
    rows = session.execute(sa.select(Anomaly.first_seen_at, Anomaly.closed_at, Anomaly.id)).all()
    out: dict[tuple, int] = {}
    for opened, closed, _ in rows:
        key = (opened.date().isoformat(), closed.date().isoformat() if closed else "")
        out[key] = out.get(key, 0) + 1
    return out


def _exact(session) -> bool:  # type: ignore[no-untyped-def]
    """The maintained counts, days and groups (settled, as at a commit) are a recount's; the
    searched texts hold every combination of the anomalies."""
    from workbench.rules import group_counts, search_texts
    from workbench.rules.counts import stored_counts, stored_days

    group_counts.settle(session)
    return (
        stored_counts(session) == _recount(session)
        and stored_days(session) == _recount_days(session)
        and group_counts.stored(session) == group_counts.recount(session)
        and search_texts.actual(session) <= search_texts.stored(session)
    )


def test_the_maintained_counts_follow_every_write(session, make) -> None:  # type: ignore[no-untyped-def]
    from workbench.rules.counts import rebuild_counts, stored_counts, stored_days

    built = build(session, make)
    run_rules(session, today=TODAY)
    assert stored_counts(session) == _recount(session) != {}
    # a transition, a bulk close, a deletion
    anomaly = session.scalar(sa.select(Anomaly).where(Anomaly.status == "open").limit(1))
    anomaly.status = "claimed"
    session.flush()
    line = next(iter(built.lines.values()))
    line.amount_ht = 1.0
    session.flush()
    run_rules(session, record_kind="purchase_line", record_ids=[line.id], today=TODAY)
    session.execute(sa.delete(Anomaly).where(Anomaly.rule_code == "ARTICLE_UNMAPPED"))
    assert _exact(session)
    # closed another day, then reopened: the days follow
    anomaly = session.scalar(sa.select(Anomaly).where(Anomaly.status == "open").limit(1))
    anomaly.status, anomaly.closed_at = "resolved", dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC)
    session.flush()
    assert _exact(session)
    assert stored_days(session).get((anomaly.first_seen_at.date().isoformat(), "2026-07-14"))
    anomaly.status, anomaly.closed_at = "open", None
    session.flush()
    assert _exact(session)
    rebuild_counts(session)
    assert _exact(session)


@pytest.mark.parametrize("bulk_rows", [1, 10**9], ids=["counted-in-bulk", "row-triggers"])
def test_bulk_writes_keep_the_counts_exact(session, make, monkeypatch, bulk_rows) -> None:  # type: ignore[no-untyped-def]
    """A rule run writing many anomalies counts them with grouped statements (the SQLite row
    triggers paused in its transaction): the counts are those of a recount either way, and the
    triggers count again after the run (the pause never outlives the writes)."""
    from workbench.rules import counts
    from workbench.rules.counts import stored_counts

    monkeypatch.setattr(counts, "BULK_ROWS", bulk_rows)
    built = build(session, make)
    run_rules(session, today=TODAY)  # inserts
    assert _exact(session) and stored_counts(session) != {}
    for line in built.lines.values():  # closes, reopens and value changes on the next runs
        line.amount_ht = -1.0 if line.amount_ht and line.amount_ht > 0 else 3.0
    session.flush()
    run_rules(session, today=TODAY)
    assert _exact(session)
    for line in built.lines.values():
        line.amount_ht = 3.0
    session.flush()
    run_rules(
        session,
        record_kind="purchase_line",
        record_ids=[i.id for i in built.lines.values()],
        today=TODAY,
    )
    assert _exact(session)
    paused = session.execute(sa.text("SELECT count(*) FROM anomaly_counts_paused")).scalar()
    assert paused == 0
    anomaly = session.scalar(sa.select(Anomaly).where(Anomaly.status == "open").limit(1))
    anomaly.status = "claimed"  # a row-by-row write after the run: the triggers count it
    session.flush()
    assert _exact(session)


def _found(**overrides):  # type: ignore[no-untyped-def]
    import pandas as pd

    row = {
        "severity": "warning",
        "value": "12,5",
        "message": "Écart de prix.",
        "group_key": "ref:1|A",
        "site_id": 3.0,
        "direction_code": None,
        "supplier_id": float("nan"),
    }
    row.update(overrides)
    return pd.DataFrame([row])


def test_fingerprints_follow_every_compared_value_and_not_the_dtype() -> None:
    import subprocess
    import sys

    base = run.fingerprints(_found())[0]
    assert run.fingerprints(_found(site_id=3))[0] == base  # int or float, same lycée
    for column, other in [
        ("severity", "blocking"),
        ("value", "12,6"),
        ("message", "Écart de prix !"),
        ("group_key", "ref:1|B"),
        ("site_id", 4.0),
        ("direction_code", "DLYC"),
        ("supplier_id", 7.0),
    ]:
        assert run.fingerprints(_found(**{column: other}))[0] != base, column
    # the same in another process (no per-process hash seed)
    code = (
        "from tests.rules.test_scale import _found; from workbench.rules.operations import run;"
        "print(int(run.fingerprints(_found())[0]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert int(other) == int(base)


def test_a_run_rewrites_only_anomalies_whose_fingerprint_moved(session, make) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    run_rules(session, today=TODAY)
    assert run_rules(session, today=TODAY).total("updated") == 0
    active = session.scalar(
        sa.select(sa.func.count())
        .select_from(Anomaly)
        .where(Anomaly.status.in_(["open", "claimed", "proposed"]))
    )
    # anomalies written without a fingerprint (before it existed) are refreshed once
    session.execute(sa.update(Anomaly).values(fingerprint=None))
    # (every lycée evaluated: the migration adding the fingerprints left no signature either)
    assert run_rules(session, today=TODAY, full=True).total("updated") == active > 0
    assert run_rules(session, today=TODAY, full=True).total("updated") == 0
    assert session.scalar(sa.select(sa.func.count()).where(Anomaly.fingerprint.is_(None))) == 0


def test_stored_fingerprints_are_read_exactly_beside_missing_ones(
    session, make, tiny_chunks
) -> None:  # type: ignore[no-untyped-def]
    """A lycée's anomalies read together, some without a fingerprint (a closed one written
    elsewhere): the 64-bit hashes of the others are read exactly (not through floats), so a
    run with nothing changed rewrites nothing."""
    built = build(session, make)
    run_rules(session, today=TODAY)
    line = next(iter(built.lines.values()))
    make.anomaly(line, rule_code="PURCHASE_AMOUNT_INVALID", field="amount_ht", status="resolved")
    assert session.scalar(sa.select(sa.func.count()).where(Anomaly.fingerprint.is_(None))) == 1
    again = run_rules(session, today=TODAY)
    assert again.total("updated") == 0
    assert again.total("opened") == again.total("closed") == 0


def test_a_lycee_bigger_than_a_chunk_is_read_by_ranges_of_whole_days(
    session, make, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Memory stays bounded whatever one lycée holds: a full run and a re-check read it by
    ranges of days of at most LINE_CHUNK lines, and find what a whole read finds (a day's
    duplicates always lie in one range)."""
    site = make.site()
    for offset in range(6):  # six days, a duplicate pair on each
        day = DAY + dt.timedelta(days=offset)
        make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=day)
        make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=day)
        make.purchase_line(site, label=f"POIRE {offset}", amount_ht=4.0, line_date=day)
    whole = run_rules(session, today=TODAY)
    expected = _state(session)
    assert whole.total("opened") > 0 and whole.peak_lines == 18
    session.execute(sa.delete(Anomaly))
    monkeypatch.setattr(run, "LINE_CHUNK", 7)  # two days (6 lines) per range
    ranged = run_rules(session, today=TODAY)
    assert _state(session) == expected
    assert ranged.peak_lines == 6
    # the re-check of every line of the lycée: by ranges too, nothing changes
    monkeypatch.setattr(frames, "RANGE_READ_DAYS", 2)
    ids = list(session.scalars(sa.select(PurchaseLine.id).where(PurchaseLine.site_id == site.id)))
    again = run_rules(session, record_kind="purchase_line", record_ids=ids, today=TODAY)
    assert _state(session) == expected
    assert again.total("opened") == again.total("closed") == 0
    assert again.peak_lines <= 2 * 7


def test_a_code_mapped_leaves_the_duplicates_unread_and_as_they_were(session, make) -> None:  # type: ignore[no-untyped-def]
    """Mapping articles changes only their code: the re-check judges those lines without the
    duplicate rule (its verdict reads other columns) and without their (lycée, day) context,
    and a full run afterwards finds nothing to change."""
    site = make.site()
    first = make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=DAY)
    second = make.purchase_line(site, label="POMME", amount_ht=5.0, line_date=DAY)
    for offset in range(1, 4):  # the same day's other lines and other days
        make.purchase_line(site, label=f"POIRE {offset}", amount_ht=4.0, line_date=DAY)
    run_rules(session, today=TODAY)
    assert _status(session, "PURCHASE_DUPLICATE", second.id) == "open"
    code = make.nomenclature_item().code
    for line in (first, second):
        line.nomenclature_code = code
    session.flush()
    result = run_rules(
        session,
        record_kind="purchase_line",
        record_ids=[first.id, second.id],
        fields=("nomenclature_code",),
        today=TODAY,
    )
    assert "PURCHASE_DUPLICATE" not in result.counts
    assert result.peak_lines == 2  # the changed lines only, not their day
    assert _status(session, "ARTICLE_UNMAPPED", first.id) == "resolved"
    assert _status(session, "PURCHASE_DUPLICATE", second.id) == "open"
    expected = _state(session)
    again = run_rules(session, today=TODAY)
    assert again.total("opened") == again.total("closed") == again.total("updated") == 0
    assert _state(session) == expected
    # another column changed: the duplicates are judged again, with their day
    second.amount_ht = 6.0
    session.flush()
    moved = run_rules(
        session,
        record_kind="purchase_line",
        record_ids=[second.id],
        fields=("amount_ht",),
        today=TODAY,
    )
    assert moved.counts["PURCHASE_DUPLICATE"].closed == 1


def test_mapping_a_group_says_only_the_code_changed(session, make) -> None:  # type: ignore[no-untyped-def]
    from workbench.matching.operations import map_group

    sent: list[dict] = []

    def listen(sender, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(kwargs)

    site = make.site()
    line = make.purchase_line(site, label="YAOURT NATURE", reference="Y1")
    item = make.nomenclature_item()
    admin = make.user(role="admin")
    run_rules(session, today=TODAY)
    anomaly = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "ARTICLE_UNMAPPED", Anomaly.record_id == line.id
        )
    )
    with records_changed.connected_to(listen):
        map_group(session, admin, anomaly.group_key, item.code, all_sites=True)
    assert {
        "record_kind": "purchase_line",
        "record_ids": [line.id],
        "fields": ("nomenclature_code",),
    } in sent
    assert session.get(PurchaseLine, line.id).nomenclature_code == item.code
