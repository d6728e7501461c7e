"""PostgreSQL's plans for the searched views: the case-insensitive match is ``lower() LIKE``
(the very rows ``ILIKE`` finds), and a region-wide searched grouped view runs without nested
loops (the groups it matches whole joined by hashing), the planner setting put back after."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.db import like_ci, like_escape
from workbench.review.groups import grouped_queue
from workbench.review.queries import QueueFilter

TEXTS = [
    "Yaourt BIO nature",
    "yaourt bio",
    "ÉLEVÉ en plein air",
    "élevé",
    "Pâté",
    "PÂTÉ",
    "50%",
    "a_b",
]


def _postgresql(session) -> bool:  # type: ignore[no-untyped-def]
    return session.get_bind().dialect.name == "postgresql"


def test_the_case_insensitive_match_finds_what_ilike_finds(session) -> None:  # type: ignore[no-untyped-def]
    if not _postgresql(session):
        return  # SQLite's LIKE: see tests of like_ci in the foundation suite
    texts = sa.values(sa.column("t", sa.Text), name="texts").data([(t,) for t in TEXTS])
    for search in ("bio", "BIO", "élevé", "ÉLEVÉ", "pâté", "50%", "%", "_"):
        pattern = f"%{like_escape(search)}%"
        ours = set(session.scalars(sa.select(texts.c.t).where(like_ci(texts.c.t, pattern))))
        ilike = set(
            session.scalars(sa.select(texts.c.t).where(texts.c.t.ilike(pattern, escape="\\")))
        )
        assert ours == ilike and ours, search


def test_a_searched_grouped_view_runs_without_nested_loops_then_puts_the_setting_back(
    session, make
) -> None:  # type: ignore[no-untyped-def]
    if not _postgresql(session):
        return
    site = make.site()
    supplier = make.supplier()
    for n in range(6):
        line = make.purchase_line(site, supplier=supplier, reference=f"R{n % 3}")
        make.anomaly(
            line, "MATRIX_LABEL_MISMATCH", field="labels", value="BIO", supplier_id=supplier.id
        )
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=[site])
    seen: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "set_config" in statement:
            seen.append(str(parameters))
        elif "anomaly_group_counts" in statement or "FROM anomalies" in statement:
            seen.append(conn.exec_driver_sql("SHOW enable_nestloop").scalar())

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        found, total = grouped_queue(session, admin, "matrix", QueueFilter(search="bio"))
        assert total == 1 and found[0].count == 6
        during = [s for s in seen if s in ("on", "off")]
        assert "off" in during, seen  # the view's statement ran without nested loops
        seen.clear()
        grouped_queue(session, canteen, "matrix", QueueFilter(search="bio"))
        assert not any("enable_nestloop" in s for s in seen), seen  # a lycée's ranges: as is
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    assert session.execute(sa.text("SHOW enable_nestloop")).scalar() == "on"
