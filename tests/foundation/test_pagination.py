"""One pagination (workbench.core.pagination + templates/_pager.html), ``PAGE_SIZE`` everywhere.

Each paginated list, with ``PAGE_SIZE = 2`` and five items: page 1 shows two, the pager's
« Page suivante » keeps the filters, page 3 shows the last one and no next link.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import pathlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from workbench.audit.operations import record
from workbench.auth.models import AccountRequest
from workbench.core.pagination import Page
from workbench.imports.models import ImportBatch
from workbench.jobs import operations as jobs
from workbench.review import operations as review

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return htmllib.unescape(found.group(1)) if found else None


@pytest.fixture
def small_pages(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)


def walk(client, url: str, kept: dict[str, str] | None = None, total: str = "5") -> list[str]:  # type: ignore[no-untyped-def]
    """Pages 1 → 3 of a five-item list by the pager's links; returns their HTML."""
    pages = []
    for first, last in ((1, 2), (3, 4), (5, 5)):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert f"{first}–{last} sur {total}" in _text(html), (url, _text(html)[-600:])
        assert 'class="pager"' in html
        assert (_link(html, "prev") is not None) == (first > 1)
        pages.append(html)
        url = _link(html, "next")  # type: ignore[assignment]
        if last == 5:
            assert url is None, "no next page after the last item"
            break
        assert url is not None
        query = parse_qs(urlsplit(url).query)
        assert query["page"] == [str(len(pages) + 1)]
        for name, value in (kept or {}).items():
            assert query.get(name) == [value], (name, url)
    return pages


# -- the Page itself ------------------------------------------------------------------------
def test_page_counts_and_says_where_it_is_in_french():
    page = Page.of(list("ab"), 1234, 2, 2)
    assert (page.first, page.last, page.pages) == (3, 4, 617)
    assert page.has_previous and page.has_next
    assert page.summary.replace("\u202f", " ").replace("\xa0", " ") == "3–4 sur 1 234"
    assert Page.of([], 0, 1, 50).summary == "Aucun élément"
    last = Page.from_list(list("abcde"), 3, 2)
    assert last.items == ["e"] and not last.has_next and last.summary == "5–5 sur 5"


def test_a_capped_total_reads_10_000_plus_and_always_offers_the_next_page():
    from workbench.review.queries import COUNT_CAP, QueueTotal

    page = Page.keyset(list(range(50)), QueueTotal.of(COUNT_CAP, capped=True), 200, 50, "c~9")
    assert page.capped and page.has_next and page.next_cursor == "c~9"
    assert page.total_label.replace("\u202f", " ").replace("\xa0", " ") == "10 000+"


def test_links_keep_the_filters_and_carry_the_cursor_forward_only(app):
    page = Page.keyset(["x", "y"], 5, 2, 2, "2026-01-01T00:00:00+00:00~7")
    with app.test_request_context("/files/matrix?regle=R&page=2&apres=old~1&q=yaourt"):
        forward = page.link_args(3)
        back = page.link_args(1)
    assert forward == {"regle": "R", "q": "yaourt", "page": 3, "apres": page.next_cursor}
    assert back == {"regle": "R", "q": "yaourt", "page": 1}


#: Fixed lengths that are not pages of a list.
NOT_PAGES = {
    "home/views.py: .limit(5",  # the home tile of the five latest imports
    "matching/views.py: per_page = 1",  # the bulk accept's window (BULK_MAX_GROUPS groups)
}


def test_no_list_hard_codes_its_page_size():
    """Page lengths come from PAGE_SIZE: no ``per_page=50`` in a view, no hand-made pager."""
    offenders = []
    for path in (ROOT / "workbench").rglob("views.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"per_page\s*=\s*\d", r"\.limit\(\s*\d", r"\.offset\("):
            for found in re.finditer(pattern, text):
                where = f"{path.parent.name}/{path.name}: {found.group(0)}"
                if where not in NOT_PAGES:
                    offenders.append(where)
    for path in (ROOT / "templates").rglob("*.html"):
        relative = path.relative_to(ROOT / "templates").as_posix()
        if relative == "_pager.html":
            continue
        text = path.read_text(encoding="utf-8")
        if 'class="pager"' in text or "// per_page" in text:
            offenders.append(relative)
    assert offenders == [], offenders


def test_offset_paging_is_written_once():
    """OFFSET … LIMIT pages come from core.pagination (``window``/``paginate``) only."""
    found = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "workbench").rglob("*.py")
        if ".offset(" in path.read_text(encoding="utf-8")
    ]
    assert found == ["workbench/core/pagination.py"], found


# -- every paginated list -------------------------------------------------------------------
def test_users(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    for _ in range(4):
        make.user(role="viewer")
    walk(client, "/admin/utilisateurs")


def test_account_request_decisions(client, login_as, make, session, small_pages):  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    other = make.user(role="legal")
    for _ in range(5):
        target = make.user(role="viewer")
        session.add(
            AccountRequest(
                kind="grant_role",
                role="legal",
                status="rejected",
                user_id=target.id,
                requested_by_id=other.id,
                decided_by_id=admin.id,
                decided_at=dt.datetime.now(dt.UTC),
            )
        )
    session.flush()
    walk(client, "/admin/utilisateurs/demandes")


def test_jobs(client, login_as, session, small_pages):  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    for i in range(5):
        jobs.create_job(session, "rules", f"Contrôle {i}", {}, admin)
    session.flush()
    walk(client, "/travaux/")


def test_imports(client, login_as, session, small_pages):  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    for i in range(5):
        session.add(
            ImportBatch(
                kind="purchases",
                file_name=f"achats-{i}.csv",
                sha256=f"{i:064d}",
                status="applied",
                created_by_id=admin.id,
            )
        )
    session.flush()
    walk(client, "/imports/")


def test_an_import_report(client, login_as, session, small_pages):  # type: ignore[no-untyped-def]
    admin = login_as("admin")
    batch = ImportBatch(
        kind="purchases",
        file_name="achats.csv",
        sha256="f" * 64,
        status="rejected",
        created_by_id=admin.id,
        report=[
            {
                "row": i + 2,
                "column": "montant",
                "value": "x",
                "level": "error",
                "message": "Montant",
            }
            for i in range(5)
        ],
    )
    session.add(batch)
    session.flush()
    walk(client, f"/imports/{batch.id}")


def test_directions_and_sites(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    for i in range(5):
        make.site(direction_code=f"DP{i}")
    walk(client, "/admin/directions")
    walk(client, "/admin/sites")


def test_nomenclature_items_keep_the_search(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    for i in range(5):
        make.nomenclature_item(code=f"ZPAG{i}", label=f"Quenelle paginée {i}")
    walk(client, "/admin/nomenclature?q=ZPAG", kept={"q": "ZPAG"})


def test_journal_keeps_its_filters(client, login_as, session, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    for i in range(5):
        record(session, "site.update", target_kind="site", target_id=900 + i, target_label="X")
    session.flush()
    walk(client, "/journal?action=site.update&type=site", kept={"action": "site.update"})


def test_record_history(client, login_as, make, session, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    supplier = make.supplier(name="Fournisseur paginé")
    for i in range(5):
        record(
            session,
            "supplier.update",
            target_kind="supplier",
            target_id=supplier.id,
            after={"n": i},
        )
    session.flush()
    walk(client, f"/historique/supplier/{supplier.id}")


def _proposals(session, make, user):  # type: ignore[no-untyped-def]
    for i in range(5):
        supplier = make.supplier(siret=None, name=f"Fournisseur {i}", direction_code="DLYC")
        review.propose_correction(
            session, user, "supplier", supplier.id, "company_category", "PME", f"Raison {i}"
        )
    session.flush()


def test_approvals_keep_the_filters(client, login_as, make, session, small_pages):  # type: ignore[no-untyped-def]
    direction = make.user(role="direction")
    _proposals(session, make, direction)
    login_as("legal")
    walk(client, "/a-valider?type=supplier", kept={"type": "supplier"})


def test_my_proposals_keep_the_view(client, make, session, small_pages):  # type: ignore[no-untyped-def]
    direction = make.user(role="direction")
    _proposals(session, make, direction)
    assert client.login(direction.email).status_code == 302
    walk(client, "/mes-propositions?vue=toutes", kept={"vue": "toutes"})


def _queue(make):  # type: ignore[no-untyped-def]
    site = make.site()
    codes = ["MATRIX_PRICE_GAP", "MATRIX_ORIGIN_MISMATCH"]
    for i in range(5):
        line = make.purchase_line(site, label=f"ARTICLE PAGINÉ {i}", reference=f"REF-{i}")
        make.anomaly(line, codes[i % 2], "amount_ht", days_old=20 - i, group_key=f"PAG-{i}")
    return site


def test_queue_lines_page_by_keyset_with_the_filters(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    site = _queue(make)
    login_as("admin")
    pages = walk(client, f"/files/matrix?site={site.id}", kept={"site": str(site.id)})
    assert "apres=" in pages[0] and "apres=" in pages[1]  # the next link carries the cursor
    seen = [set(re.findall(r"ARTICLE PAGINÉ \d", _text(html))) for html in pages]
    assert [len(s) for s in seen] == [2, 2, 1] and len(set().union(*seen)) == 5


def test_queue_lines_sorted_by_a_column_page_by_offset(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    _queue(make)
    login_as("admin")
    walk(client, "/files/matrix?ordre=regle", kept={"ordre": "regle"})


def test_queue_groups(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    _queue(make)
    login_as("admin")
    walk(client, "/files/matrix?vue=groupes", kept={"vue": "groupes"})


def test_a_queue_without_anomalies_shows_no_pager(client, login_as, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    html = client.get("/files/matrix").get_data(as_text=True)
    assert 'class="pager"' not in html


def test_a_page_number_that_is_not_a_number_is_page_one(client, login_as, make, small_pages):  # type: ignore[no-untyped-def]
    login_as("admin")
    for _ in range(4):
        make.user(role="viewer")
    html = client.get("/admin/utilisateurs?page=abc").get_data(as_text=True)
    assert "1–2 sur 5" in _text(html)


def test_the_articles_queue(client, login_as, make, session, small_pages):  # type: ignore[no-untyped-def]
    from workbench.rules.operations import run_rules

    login_as("admin")
    site = make.site()
    for i, label in enumerate(
        ["POMME GOLDEN", "CAROTTE RAPEE", "YAOURT NATURE", "BOEUF HACHE", "SARDINE HUILE"]
    ):
        make.purchase_line(site, label=label, reference=f"R{i}", nomenclature_code=None)
    run_rules(session)
    session.commit()
    walk(client, "/articles?tri=lignes", kept={"tri": "lignes"})
