"""Queues at scale: keyset pages over several rule codes, totals from maintained counts (or
capped), the partial indexes of active anomalies used by each queue's query."""

from __future__ import annotations

import re

import sqlalchemy as sa

from workbench.review import queries
from workbench.review.queries import QueueFilter, queue_cursor, queue_page


def _lines(make, site, n):  # type: ignore[no-untyped-def]
    return [make.purchase_line(site, label=f"ARTICLE {i}") for i in range(n)]


def _mixed_queue(make, site):  # type: ignore[no-untyped-def]
    """Seven anomalies of two rules of the « matrix » queue, interleaved in age."""
    lines = _lines(make, site, 7)
    codes = ["MATRIX_PRICE_GAP", "MATRIX_ORIGIN_MISMATCH"]
    return [
        make.anomaly(line, codes[i % 2], "amount_ht", days_old=20 - i)
        for i, line in enumerate(lines)
    ]


def test_keyset_pages_walk_every_rule_code_in_order(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    expected = [a.id for a in _mixed_queue(make, site)]
    seen = []
    filt = QueueFilter()
    for _ in range(4):
        rows, total = queue_page(session, admin, "matrix", filt, 1, 3)
        assert total == 7 and not total.capped
        seen += [a.id for a in rows]
        if not rows:
            break
        filt = QueueFilter(after=queries.parse_cursor(queue_cursor(rows[-1])))
    assert seen == expected, "oldest first, across rule codes, no row twice or missed"
    # page numbers (no cursor) give the same pages
    numbered = [
        a.id
        for p in (1, 2, 3)
        for a in queue_page(session, admin, "matrix", QueueFilter(), p, 3)[0]
    ]
    assert numbered == expected
    newest = [
        a.id for a in queue_page(session, admin, "matrix", QueueFilter(newest_first=True), 1, 7)[0]
    ]
    assert newest == expected[::-1]


def test_a_canteen_sees_its_lycee_only_and_counts_follow_status(session, make) -> None:  # type: ignore[no-untyped-def]
    site, other = make.site(), make.site()
    mine = _mixed_queue(make, site)
    _mixed_queue(make, other)
    canteen = make.user(role="canteen", sites=[site])
    rows, total = queue_page(session, canteen, "matrix", QueueFilter(), 1, 50)
    assert {a.id for a in rows} == {a.id for a in mine} and total == 7
    mine[0].status = "resolved"
    session.flush()
    rows, total = queue_page(session, canteen, "matrix", QueueFilter(), 1, 50)
    assert total == 6 and mine[0].id not in {a.id for a in rows}
    resolved, total = queue_page(session, canteen, "matrix", QueueFilter(status="resolved"), 1, 50)
    assert [a.id for a in resolved] == [mine[0].id] and total == 1


def test_a_filtered_total_is_capped(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    _mixed_queue(make, site)
    monkeypatch.setattr(queries, "COUNT_CAP", 4)
    rows, total = queue_page(session, admin, "matrix", QueueFilter(severity="warning"), 1, 2)
    assert len(rows) == 2 and total == 4 and total.capped
    rows, total = queue_page(session, admin, "matrix", QueueFilter(), 1, 2)
    assert total == 7 and not total.capped, "unfiltered totals come from the maintained counts"


def test_the_next_link_carries_the_cursor(client, login_as, make, session) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    rows = _mixed_queue(make, site)
    login_as("admin")
    client.application.config["PAGE_SIZE"] = 3
    try:
        page = client.get("/files/matrix").get_data(as_text=True)
    finally:
        client.application.config["PAGE_SIZE"] = 50
    assert "apres=" in page
    cursor = queue_cursor(rows[2])
    from urllib.parse import unquote

    found = re.search(r"apres=([^&\"]+)", page)
    assert found and unquote(found.group(1)) == cursor, found


def test_sqlite_uses_the_partial_index_for_an_active_queue(session, make) -> None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name != "sqlite":
        return
    stmt = (
        sa.select(sa.text("id"))
        .select_from(sa.text("anomalies"))
        .where(sa.text("rule_code = 'X'"), queries.ACTIVE)
        .order_by(sa.text("first_seen_at, id"))
        .limit(5)
    )
    sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r) for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_anomalies_active_rule" in plan and "TEMP B-TREE" not in plan
