"""Each role's home shows what it can act on, and each tile counts what its queue lists."""

from __future__ import annotations

import re

from workbench.rules.queries import queue_counts


def _tiles(html: str) -> dict[str, int]:
    found = re.findall(
        r'data-queue="([\w-]+)">\s*<span class="count">([\d\u202f\u00a0 ]+)</span>', html
    )
    return {k: int(re.sub(r"\D", "", v)) for k, v in found}


def test_legal_home_shows_approvals_and_no_canteen_or_direction_queue(client, login_as, make):
    site = make.site()
    line = make.purchase_line(site)
    make.anomaly(line, "ARTICLE_UNMAPPED", field="nomenclature_code")
    login_as("legal")
    tiles = _tiles(client.get("/").get_data(as_text=True))
    assert set(tiles) == {"approvals"}


def test_direction_home_shows_its_two_queues(client, login_as):
    login_as("direction")
    tiles = _tiles(client.get("/").get_data(as_text=True))
    assert set(tiles) == {"suppliers", "contracts"}


def test_canteen_articles_tile_counts_what_the_articles_page_lists(client, session, make):
    site = make.site()
    canteen = make.user(role="canteen", sites=[site])
    unmapped = [make.purchase_line(site, label=f"ARTICLE {i}") for i in range(3)]
    for line in unmapped:
        make.anomaly(line, "ARTICLE_UNMAPPED", field="nomenclature_code")
    bad = make.purchase_line(site, label="CODE PERIME", nomenclature_code="NOM-XXXX")
    make.anomaly(bad, "NOMENCLATURE_CODE_INVALID", field="nomenclature_code", value="NOM-XXXX")
    client.login(canteen.email)
    tiles = _tiles(client.get("/").get_data(as_text=True))
    page = client.get("/articles").get_data(as_text=True)
    listed = int(re.search(r'data-total-lines="(\d+)"', page).group(1))
    assert tiles["articles"] == listed == 4
    assert "CODE PERIME" in page and "code nomenclature inconnu ou inactif" in page
    # the rules' own count (anomalies of the queue) agrees once the rules have run
    counts = {q["key"]: q["count"] for q in queue_counts(session, canteen)}
    assert counts["articles"] == 4


def test_admin_home_labels_imports_in_french(client, login_as, session, make):
    from workbench.imports.models import ImportBatch

    admin = login_as("admin")
    session.add(
        ImportBatch(
            kind="contracts",
            file_format="canonique-csv",
            file_name="marches.json",
            sha256="0" * 64,
            status="applied",
            created_by_id=admin.id,
        )
    )
    session.flush()
    from workbench.audit.operations import record

    record(session, "import.applied", target_kind="import_batch", target_id=1)
    html = client.get("/").get_data(as_text=True)
    assert "Marchés (DECP)" in html and "Importé" in html
    assert "export du logiciel de gestion, CSV" in html
    for raw in (">contracts<", ">applied<", "canonique-csv<"):
        assert raw not in html
