"""Four eyes in a real browser: a direction proposes, legal approves one proposal and rejects
another from « À valider », the proposer sees both outcomes (badge, « Mes propositions »), and
the history tab tells the story in French."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import id_of, login, logout, shot
from workbench.audit.operations import Actor, acting_as, record
from workbench.demo import factories
from workbench.extensions import db
from workbench.reference.models import Supplier

NEW_SIRET = "73282932000074"


@pytest.fixture(scope="module")
def suppliers(live_app):  # type: ignore[no-untyped-def]
    with live_app.app_context(), acting_as(Actor(email="tests", role="admin")):
        s = db.session
        factories.make_supplier(s, siret=None, name="Boulangerie Keravel", direction_code="DLYC")
        factories.make_supplier(
            s, siret="35600000000048", name="Charcuterie Le Gall", direction_code="DLYC"
        )
        record(s, "test.fixture", target_kind="test", target_label="four eyes")
        s.commit()
        db.session.remove()
    return {
        "keravel": id_of(live_app, Supplier, name="Boulangerie Keravel"),
        "le_gall": id_of(live_app, Supplier, name="Charcuterie Le Gall"),
    }


def _propose(page, supplier_id: int, field: str, value: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/dossiers/supplier/{supplier_id}")
    row = page.locator(f"#champ-{field}")
    row.locator("summary").click()
    row.locator("input[name=value]").fill(value)
    row.locator("input[name=reason]").fill(reason)
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert "validation par le service juridique" in page.content()


def test_approval_and_rejection_reach_the_proposer(page, suppliers):
    login(page, "direction@test.example")
    page.wait_for_url("**/")
    _propose(page, suppliers["keravel"], "siret", "732 829 320 00074", "Avis d'attribution")
    _propose(page, suppliers["le_gall"], "company_category", "GE", "Lu sur Sirene")
    logout(page)

    login(page, "legal@test.example")
    page.wait_for_url("**/")
    page.click("a[data-queue=approvals]")
    page.wait_for_url("**/a-valider")
    rows = page.locator("table.approvals tbody tr")
    assert rows.count() == 2
    text = page.locator("table.approvals").inner_text()
    assert "Boulangerie Keravel" in text and "SIRET" in text and "— → 73282932000074" in text
    assert "Catégorie d'entreprise" in text and "None" not in text
    assert "company_category" not in text and "Décision individuelle" not in page.content()
    shot(page, "approvals-list")

    keravel = rows.filter(has_text="Boulangerie Keravel")
    keravel.locator("input[name=ids]").check()
    assert page.locator("[data-selection-count]").inner_text() == "1 sélectionnée"
    with page.expect_navigation():
        page.click("button[name=decision][value=approve]")
    assert "1 proposition(s) validée(s)" in page.content()

    page.fill("input[name=comment]", "Sirene indique une PME, pas une GE")
    le_gall = page.locator("table.approvals tbody tr", has_text="Charcuterie Le Gall")
    with page.expect_navigation():
        le_gall.locator("button[value=reject]").click()
    assert "Proposition refusée" in page.content()
    assert "Aucune proposition en attente" in page.content()
    logout(page)

    login(page, "direction@test.example")
    page.wait_for_url("**/")
    badge = page.locator("a[data-nav='review.my_proposals'] .nav-badge")
    assert badge.inner_text() == "2"
    shot(page, "proposer-badge")
    page.click("a[data-nav='review.my_proposals']")
    table = page.locator("table.my-proposals").inner_text()
    assert "Appliquée" in table and "Refusée" in table
    assert "« Sirene indique une PME, pas une GE »" in table
    assert page.locator("tr.is-new").count() == 2
    shot(page, "my-proposals")
    page.goto("/")
    assert page.locator(".nav-badge").count() == 0


def test_history_page_reads_in_french(page, suppliers):
    login(page, "legal@test.example")
    page.wait_for_url("**/")
    page.goto(f"/historique/supplier/{suppliers['keravel']}")
    journal = page.locator("table.journal").inner_text()
    for expected in ("Correction proposée", "Correction validée", "Correction appliquée"):
        assert expected in journal, expected
    assert "Boulangerie Keravel" in journal and "SIRET" in journal
    assert "Raison : Avis d'attribution" in journal
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", journal)
    for raw in ("correction.", "siret :", "None", "\\u00", "UTC"):
        assert raw not in journal, raw
    shot(page, "history")
