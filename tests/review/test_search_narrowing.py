"""A precise region-wide search reads only the anomalies its matching texts single out.

``searched_view`` narrows a line view to the anomalies whose ``group_key`` (or, without one,
whose value) is that of a combination of texts the search matches: whatever the sort, the
status filter or the shape of the anomalies, the page and the total are those of the walk of
every anomaly (narrowing off: ``SEARCH_TEXTS_MAX = 0``).
"""

from __future__ import annotations

import pytest

from workbench.review import queries
from workbench.review.queries import QueueFilter, queue_page
from workbench.rules.models import ACTIVE_STATUSES

SEARCHES = ("yaourt", "YAOURT", "Brebis", "ref:", "vanille", "lait", "nulle part", "@")
SORTS = (None, "-depuis", "valeur", "-gravite", "etat", "champ", "regle")


def _made(make):  # type: ignore[no-untyped-def]
    site, other = make.site(), make.site()
    supplier = make.supplier()
    shapes = [
        # (rule, group_key, value, message, status)
        ("ARTICLE_UNMAPPED", "ref:1|YA1", None, "Article « YAOURT NATURE » sans code", "open"),
        ("ARTICLE_UNMAPPED", "ref:1|YA1", None, "Article « YAOURT NATURE » sans code", "claimed"),
        ("ARTICLE_UNMAPPED", "ref:1|YA2", None, "Article « YAOURT VANILLE » sans code", "open"),
        ("ARTICLE_UNMAPPED", "lib:lait demi", None, "Article « LAIT DEMI » sans code", "open"),
        ("ARTICLE_UNMAPPED", "lib:lait demi", None, "Article « LAIT DEMI » sans code", "dismissed"),
        (
            "ARTICLE_UNMAPPED",
            "ref:1|BR",
            None,
            "Article « Fromage de brebis » sans code",
            "resolved",
        ),
        ("ARTICLE_UNMAPPED", None, "yaourt brebis", "Article sans référence", "open"),
        ("ARTICLE_UNMAPPED", "", "yaourt brebis", "Article sans référence", "open"),
        ("ARTICLE_UNMAPPED", None, None, "Article sans code (yaourt)", "open"),
        ("ARTICLE_UNMAPPED", "", "", "Article sans code (yaourt)", "proposed"),
        ("NOMENCLATURE_CODE_INVALID", "ref:1|YA1", "X99", "Code X99 inconnu (yaourt)", "open"),
        ("NOMENCLATURE_CODE_INVALID", None, "LAIT", "Code LAIT inconnu", "open"),
    ]
    made = []
    for i, (rule, group_key, value, message, status) in enumerate(shapes):
        line = make.purchase_line(site if i % 3 else other, supplier=supplier)
        extra = {"dismiss_reason": "other"} if status == "dismissed" else {}
        made.append(
            make.anomaly(
                line, rule, field="nomenclature_code", group_key=group_key, value=value,
                message=message, status=status, days_old=20 - i,
                severity="blocking" if i % 4 == 0 else "warning", supplier_id=supplier.id,
                **extra,
            )
        )  # fmt: skip
    return made


def _pages(session, user, filt, sort):  # type: ignore[no-untyped-def]
    pages, total = [], None
    for page in (1, 2, 3):
        rows, found = queue_page(session, user, "articles", filt, page, 4, sort)
        pages.append([a.id for a in rows])
        total = int(found) if total is None else total
    return pages, total


@pytest.mark.parametrize("ranged", [True, False], ids=["group-ranges", "messages-first"])
@pytest.mark.parametrize("status", [None, "dismissed", "claimed"])
def test_a_narrowed_search_reads_the_pages_of_the_whole_walk(  # type: ignore[no-untyped-def]
    session, make, monkeypatch, status, ranged
):
    """Narrowed by the groups' ranges, or walking every anomaly with the matching messages
    tested first (groups too big to read by range)."""
    made = _made(make)
    admin = make.user(role="admin")
    session.flush()
    monkeypatch.setattr(queries, "SEARCH_ANOMALIES_MAX", 20_000 if ranged else 0)
    for search in SEARCHES:
        for sort in SORTS:
            filt = QueueFilter(search=search, status=status)
            monkeypatch.setattr(queries, "SEARCH_TEXTS_MAX", 500)
            narrowed = _pages(session, admin, filt, sort)
            monkeypatch.setattr(queries, "SEARCH_TEXTS_MAX", 0)
            walked = _pages(session, admin, filt, sort)
            assert narrowed == walked, (search, sort)
            kept = {
                a.id
                for a in made
                if (a.status == status if status else a.status in ACTIVE_STATUSES)
                and any(
                    search.lower() in (t or "").lower() for t in (a.group_key, a.value, a.message)
                )
            }
            assert {i for page in narrowed[0] for i in page} == kept, (search, sort)
            assert narrowed[1] == len(kept), (search, sort)


def test_a_precise_search_is_narrowed_and_a_broad_or_big_one_is_not(
    session, make, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _made(make)
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=[make.site()])
    session.flush()

    def narrowed(user, search):  # type: ignore[no-untyped-def]
        codes, filt = queries.searched_view(session, user, "articles", QueueFilter(search=search))
        return codes, filt.hits is not None and filt.hits.ranged

    assert narrowed(admin, "vanille") == (["ARTICLE_UNMAPPED"], True)
    assert narrowed(admin, "nulle part") == ([], True)
    assert narrowed(canteen, "vanille") == (queries.queue_rule_codes("articles"), False)
    monkeypatch.setattr(queries, "SEARCH_TEXTS_MAX", 2)  # « yaourt » matches more texts
    assert narrowed(admin, "yaourt")[1] is False
    monkeypatch.setattr(queries, "SEARCH_TEXTS_MAX", 500)
    monkeypatch.setattr(queries, "SEARCH_ANOMALIES_MAX", 0)  # its groups hold anomalies
    assert narrowed(admin, "vanille") == (["ARTICLE_UNMAPPED"], False)


def test_a_view_reading_again_reuses_the_texts_it_read(session, make) -> None:  # type: ignore[no-untyped-def]
    """A sort that falls back to another reading passes on its narrowed filter: the texts are
    not read a second time, and the rules are those of the hits."""
    import sqlalchemy as sa

    _made(make)
    admin = make.user(role="admin")
    session.flush()
    codes, filt = queries.searched_view(session, admin, "articles", QueueFilter(search="vanille"))
    assert filt.hits is not None
    statements: list[str] = []
    engine = session.get_bind().engine

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        again = queries.searched_view(session, admin, "articles", filt)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert again == (codes, filt) and codes == ["ARTICLE_UNMAPPED"]
    assert not [s for s in statements if "anomaly_texts" in s]
