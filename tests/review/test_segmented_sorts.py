"""Line views sorted by gravité or état: pages are the full sort (rank, then rule, age and id)
cut in pages, in every scope and under every filter, read segment by segment — one value of
one rule at a time, walked on the partial indexes — never a sort of the queue's anomalies."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from workbench.review import queries
from workbench.review.labels import field_sort_key
from workbench.review.queries import (
    FIELD_KEY,
    FIELD_SORTS,
    SEGMENT_VALUES,
    QueueFilter,
    queue_page,
)
from workbench.rules.models import ACTIVE_STATUSES, Anomaly

SORTS = ("gravite", "-gravite", "etat", "-etat", "champ", "-champ", "valeur", "-valeur")


def _build(make):  # type: ignore[no-untyped-def]
    """Three matrix rules on two lycées: one rule of several severities, anomalies of every
    active status (and a closed one), ages repeated so that ties fall to the id."""
    sites = [make.site(), make.site()]
    supplier = make.supplier()
    made = []
    statuses = itertools.cycle(["open", "open", "claimed", "open", "proposed", "open", "open"])
    for n in range(42):
        site = sites[n % 2]
        rule = ("MATRIX_LABEL_MISMATCH", "MATRIX_PRICE_GAP", "MATRIX_ARTICLE_ABSENT")[n % 3]
        line = make.purchase_line(site, supplier=supplier, reference=f"R{n % 5}")
        severity = "info" if rule == "MATRIX_ARTICLE_ABSENT" else "warning"
        if rule == "MATRIX_LABEL_MISMATCH" and n % 4 == 0:
            severity = "blocking"
        anomaly = make.anomaly(
            line,
            rule,
            # « Montant HT » sorts after « Labels déclarés », « amount_ht » before « labels »
            field=("labels", "amount_ht")[n % 2] if n % 5 else "origin",
            severity=severity,
            value=(None, "BIO", "AOP", "bio", "")[n % 5] if n % 7 else "AOP",
            supplier_id=supplier.id,
            days_old=n % 4,
        )
        anomaly.status = next(statuses)
        made.append(anomaly)
    for n in (0, 4, 8, 9, 13, 20, 27):  # closed ones, of every rule and severity
        made[n].status, made[n].dismiss_reason = "dismissed", "other"
    return sites, made


def _expected(anomalies: list[Anomaly], sort: str, dialect: str = "sqlite") -> list[int]:
    key = sort.lstrip("-")
    active = [a for a in anomalies if a.status in ACTIVE_STATUSES]
    if key in FIELD_SORTS:  # every term in one direction, NULLs as the database sorts them
        nulls_first = dialect == "sqlite"

        def term(a: Anomaly):  # type: ignore[no-untyped-def]
            return tuple(
                ((a.value is not None) == nulls_first, a.value or "")
                if name == "value"
                else field_sort_key(a.record_kind, a.field)
                if name == FIELD_KEY
                else getattr(a, name)
                for name in FIELD_SORTS[key]
            )

        return [a.id for a in sorted(active, key=term, reverse=sort.startswith("-"))]
    column = queries.SORT_COLUMNS[key].key
    rank = SEGMENT_VALUES[key].index
    ordered = sorted(active, key=lambda a: (a.rule_code, a.first_seen_at, a.id))
    ordered.sort(key=lambda a: rank(getattr(a, column)), reverse=sort.startswith("-"))
    return [a.id for a in ordered]


def _pages(session, user, filt: QueueFilter, sort: str, per_page: int = 5):  # type: ignore[no-untyped-def]
    seen, totals = [], set()
    for page in range(1, 12):
        rows, total = queue_page(session, user, "matrix", filt, page, per_page, sort=sort)
        seen += [a.id for a in rows]
        totals.add(int(total))
    return seen, totals


def test_pages_sorted_by_severity_or_state_are_the_full_sort(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queries, "FIELD_WALKS_FROM", 0)  # the walks, however small the view
    sites, made = _build(make)
    session.flush()
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=[sites[0]])
    both = make.user(role="canteen", sites=sites)
    cases = [
        (admin, QueueFilter(), made),
        (canteen, QueueFilter(), [a for a in made if a.site_id == sites[0].id]),
        (both, QueueFilter(), made),
        (both, QueueFilter(site_id=sites[1].id), [a for a in made if a.site_id == sites[1].id]),
        (admin, QueueFilter(status="claimed"), [a for a in made if a.status == "claimed"]),
        (admin, QueueFilter(status="open"), [a for a in made if a.status == "open"]),
        (admin, QueueFilter(severity="blocking"), [a for a in made if a.severity == "blocking"]),
        (admin, QueueFilter(severity="info"), [a for a in made if a.severity == "info"]),
        (admin, QueueFilter(search="bio"), [a for a in made if (a.value or "").lower() == "bio"]),
        (
            admin,
            QueueFilter(rule_code="MATRIX_PRICE_GAP"),
            [a for a in made if a.rule_code == "MATRIX_PRICE_GAP"],
        ),
    ]
    dialect = session.get_bind().dialect.name
    for (user, filt, mine), sort in itertools.product(cases, SORTS):
        expected = _expected(mine, sort, dialect)
        assert expected, (filt, sort)
        seen, totals = _pages(session, user, filt, sort)
        assert seen == expected, (user.role, filt, sort)
        assert totals == {len(expected)}, (filt, sort)
    # too many anomalies in hand: the whole view sorted in SQL, the very same order
    monkeypatch.setattr(queries, "IN_HAND_MAX", 1)
    monkeypatch.setattr(queries, "FIELD_WALKS_MAX", 1)
    for sort in SORTS:
        assert _pages(session, admin, QueueFilter(), sort)[0] == _expected(made, sort, dialect)
    # closed anomalies (no partial index, no segment): sorted in SQL, in the same orders
    closed = [a for a in made if a.status == "dismissed"]
    assert len({(a.rule_code, a.severity) for a in closed}) >= 4
    for a in closed:
        a.status = "open"  # as _expected reads the active ones
    expected = {sort: _expected(closed, sort, dialect) for sort in SORTS}
    for a in closed:
        a.status = "dismissed"
    for sort in SORTS:
        found = _pages(session, admin, QueueFilter(status="dismissed"), sort)[0]
        assert found == expected[sort], sort


def test_sorted_pages_walk_indexes_and_never_sort_the_queue(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name != "sqlite":
        return  # the plans are SQLite's; the orders are checked on both databases above
    monkeypatch.setattr(queries, "FIELD_WALKS_FROM", 0)
    sites, _ = _build(make)
    session.flush()
    session.execute(sa.text("ANALYZE"))
    admin = make.user(role="admin")
    both = make.user(role="canteen", sites=sites)
    statements: list[tuple[str, object]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM anomalies" in statement:
            statements.append((statement, parameters))

    connection = session.connection()

    def plans_of(user, sorts):  # type: ignore[no-untyped-def]
        statements.clear()
        engine = session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", spy)
        try:
            for sort in sorts:
                queue_page(session, user, "matrix", QueueFilter(), 2, 5, sort=sort)
        finally:
            sa.event.remove(engine, "before_cursor_execute", spy)
        return [
            (s, [r[3] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + s, tuple(p))])
            for s, p in statements
        ]

    # region-wide, every sort: index walks only; the one sort is the merge of the walks (a few
    # pages of keys), never the queue's anomalies through a covering index
    plans = plans_of(admin, SORTS)
    assert plans
    for statement, plan in plans:
        assert not any(step.startswith("SCAN anomalies") for step in plan), (statement, plan)
        assert not any("ix_anomalies_cover" in step for step in plan), (statement, plan)
        if any("TEMP B-TREE FOR ORDER BY" in step for step in plan):
            assert "walks" in statement, (statement, plan)
    # a canteen's lycées, by gravité or état: the walks of its lycées, no sort at all
    for statement, plan in plans_of(both, SORTS[:4]):
        assert not any(step.startswith("SCAN anomalies") for step in plan), (statement, plan)
        assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), (statement, plan)
    # by rule (in the titles' order): each rule's walk of the active index, no sort at all
    for user in (admin, both):
        plans = plans_of(user, ("regle", "-regle"))
        assert plans
        for statement, plan in plans:
            assert not any(step.startswith("SCAN anomalies") for step in plan), (statement, plan)
            assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), (statement, plan)
            walked = ("ix_anomalies_active_", "PRIMARY KEY")  # the walks, then the page's rows
            assert any(w in step for step in plan for w in walked), (statement, plan)
    plans = plans_of(admin, ("etat", "-etat"))
    # the anomalies in hand come from their own small index
    held = [p for s, p in plans if queries.IN_HAND_WHERE in s]
    assert held and all(any("ix_anomalies_in_hand" in step for step in p) for p in held), held


def test_postgresql_merges_the_stored_groups_of_a_rule_of_several_severities_only(
    session, make
) -> None:  # type: ignore[no-untyped-def]
    """The region-wide grouped view reads the maintained groups; on PostgreSQL each rule's
    severities are read within the view's statement, and only a rule of several severities
    has its groups merged (the other merge branches are never executed)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite decides it with a first statement (one snapshot per read transaction)
    from workbench.review import groups as groups_module
    from workbench.rules import group_counts

    sites, made = _build(make)
    session.flush()
    group_counts.settle(session)
    admin = make.user(role="admin")
    found = groups_module._stored_groups(
        session, admin, ["MATRIX_LABEL_MISMATCH", "MATRIX_PRICE_GAP"], QueueFilter()
    )
    sql = str(sa.select(found).compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = [r[0] for r in session.execute(sa.text("EXPLAIN (ANALYZE, COSTS OFF) " + sql))]
    # each rule's groups are read twice in the plan, as they are and merged, behind one-time
    # conditions on its severities (the seeks of ix_anomaly_group_counts_severity): for
    # MATRIX_LABEL_MISMATCH (blocking and warning groups) only the merged read runs, for
    # MATRIX_PRICE_GAP (warning only) only the plain one
    # the reads of the groups (not the severity seeks): the scan nodes that filter the rows
    # the view keeps, whatever their kind (index, bitmap heap or sequential scan)
    reads = []
    for i, line in enumerate(plan):
        if "Filter:" in line and "NOT dirty" in line and "n > 0" in line:
            reads.append(
                next(p for p in reversed(plan[:i]) if "Scan" in p and "Bitmap Index" not in p)
            )
    assert len(reads) == 4, plan
    assert sum("never executed" in line for line in reads) == 2, plan
    merges = [
        i for i, line in enumerate(plan) if "HashAggregate" in line or "GroupAggregate" in line
    ]
    assert len(merges) == 2, plan
    rows = session.execute(sa.select(found.c.rule_code, found.c.key, found.c.n)).all()
    expected: dict[tuple[str, str], int] = {}
    for a in made:
        if a.status in ACTIVE_STATUSES and a.rule_code != "MATRIX_ARTICLE_ABSENT":
            key = (a.rule_code, groups_module.group_token(a).split("|", 1)[1])
            expected[key] = expected.get(key, 0) + 1
    assert {(r.rule_code, r.key): r.n for r in rows} == expected
