"""Region-wide views sorted by field or value, filtered on « ouverte » or on a gravité, are
read from merged walks of ``ix_anomalies_active_field`` when every walk stays dense (a rule of
one gravité, the open ones of a rule), and their pages are the full sort's."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from tests.review.test_segmented_sorts import _expected, _pages
from workbench.review import queries
from workbench.review.queries import QueueFilter, queue_page

SORTS = ("champ", "-champ", "valeur", "-valeur")


def _made(make):  # type: ignore[no-untyped-def]
    site, supplier = make.site(), make.supplier()
    made = []
    statuses = itertools.cycle(["open", "claimed", "open", "proposed", "open"])
    for n in range(36):
        # two rules of one gravité each, one of two
        rule, severity = (
            ("MATRIX_PRICE_GAP", "warning"),
            ("MATRIX_ARTICLE_ABSENT", "info"),
            ("MATRIX_LABEL_MISMATCH", "blocking" if n % 2 else "warning"),
        )[n % 3]
        line = make.purchase_line(site, supplier=supplier, reference=f"R{n % 4}")
        anomaly = make.anomaly(
            line,
            rule,
            field=("labels", "amount_ht", "origin")[n % 4 % 3],
            severity=severity,
            value=(None, "BIO", "aop", "", "Label")[n % 5],
            supplier_id=supplier.id,
            days_old=n % 3,
        )
        anomaly.status = next(statuses)
        made.append(anomaly)
    return made


def test_filtered_views_walked_when_dense_are_the_full_sort(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queries, "FIELD_WALKS_FROM", 0)
    made = _made(make)
    session.flush()
    admin = make.user(role="admin")
    walked: list[object] = []
    real = queries._merged_walks

    def spy(walks, sort, page, per_page, extra=()):  # type: ignore[no-untyped-def]
        walked.append((tuple(sorted({code for code, _ in walks})), len(extra)))
        return real(walks, sort, page, per_page, extra)

    monkeypatch.setattr(queries, "_merged_walks", spy)
    dialect = session.get_bind().dialect.name
    cases = [
        # the open ones: every rule walked, each walk without the anomalies in hand
        (QueueFilter(status="open"), lambda a: a.status == "open", 3, 1),
        # warning: the rule of warnings only is walked; the one of two gravités is not…
        (QueueFilter(severity="info"), lambda a: a.severity == "info", None, 0),
        # …unless the rule filter leaves it out
        (
            QueueFilter(rule_code="MATRIX_PRICE_GAP", severity="warning"),
            lambda a: a.rule_code == "MATRIX_PRICE_GAP",
            1,
            0,
        ),
    ]
    for (filt, keep, rules, extra), sort in itertools.product(cases, SORTS):
        walked.clear()
        expected = _expected([a for a in made if keep(a)], sort, dialect)
        seen, totals = _pages(session, admin, filt, sort)
        assert expected and seen == expected, (filt, sort)
        if rules is None:  # several gravités in the view: sorted as a whole
            assert not walked, (filt, sort)
        else:
            assert walked and {n for _, n in walked} == {extra}, walked
            assert all(len(codes) == rules for codes, _ in walked), walked


def test_a_gravite_no_rule_has_is_not_looked_for_row_by_row(session, make) -> None:  # type: ignore[no-untyped-def]
    made = _made(make)
    made[0].status, made[0].dismiss_reason = "dismissed", "other"  # a warning, closed
    site = make.site()
    for n in range(3):  # the purchases' queue: warnings only…
        make.anomaly(make.purchase_line(site), "PURCHASE_DUPLICATE", value=f"L{n}")
    closed = make.anomaly(  # …but for one written closed, never active: in no group
        make.purchase_line(site),
        "PURCHASE_DUPLICATE",
        severity="info",
        status="dismissed",
        dismiss_reason="other",
    )
    session.flush()
    admin = make.user(role="admin")
    read: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM anomalies" in statement:
            read.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        # the purchases' rules: none of « information » (their groups' bounds say so)
        assert queue_page(session, admin, "purchases", QueueFilter(), 1, 20)[1] == 3
        read.clear()
        for sort in (None, "valeur", "champ", "gravite", "etat"):
            rows, total = queue_page(
                session, admin, "purchases", QueueFilter(severity="info"), 1, 20, sort=sort
            )
            assert rows == [] and int(total) == 0
        assert read == []
        # the matrix's rules of warnings hold the active warnings, found as before
        rows, total = queue_page(session, admin, "matrix", QueueFilter(severity="warning"), 1, 50)
        active = [a for a in made if a.severity == "warning" and a.status != "dismissed"]
        assert sorted(a.id for a in rows) == sorted(a.id for a in active) and int(total) == len(
            active
        )
        # a closed state: the groups (active anomalies) say nothing of it, the rows are read
        dismissed = QueueFilter(status="dismissed", severity="info")
        rows, total = queue_page(session, admin, "purchases", dismissed, 1, 20)
        assert [a.id for a in rows] == [closed.id] and int(total) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
