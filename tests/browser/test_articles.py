"""The "Articles à rattacher" queue in a real browser: home tile, keyboard accept, search box."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.browser.conftest import login, shot
from workbench.audit.operations import Actor, acting_as, record
from workbench.demo import factories
from workbench.extensions import db
from workbench.reference.models import Site, Supplier


@pytest.fixture(scope="module")
def articles_data(live_app):  # type: ignore[no-untyped-def]
    """Nomenclature items and unmapped lines for the queue (added to the shared live database)."""
    with live_app.app_context(), acting_as(Actor(email="tests", role="admin")):
        s = db.session
        brest = s.scalar(sa.select(Site).where(Site.uai == "0290010B"))
        supplier = s.scalar(sa.select(Supplier).where(Supplier.name == "Laiterie de l'Ouest"))
        for code, label, family in (
            ("B-CAROTTE-RAPEE", "Carotte râpée", "FRUITS_ET_LEGUMES"),
            ("B-CAROTTE", "Carotte, crue", "FRUITS_ET_LEGUMES"),
            ("B-YAOURT", "Yaourt nature", "PRODUITS_LAITIERS"),
            ("B-YAOURT-FR", "Yaourt aux fruits", "PRODUITS_LAITIERS"),
        ):
            factories.make_nomenclature_item(s, code=code, label=label, family=family)
        for _ in range(3):
            factories.make_purchase_line(
                s, brest, label="CAROTTES RAPEES BIO 5KG", supplier=supplier, reference="CR5"
            )
        factories.make_matrix_entry(
            s,
            supplier,
            reference="CR5",
            label="CAROTTE RAPEE BIO SEAU 5KG",
            labels="BIO",
            origin="FRANCE",
        )
        factories.make_purchase_line(s, brest, label="YRT FRUITS MIXES X24")
        record(s, "test.fixture", target_kind="test", target_label="articles_data")
        s.commit()
    return live_app


def test_canteen_user_maps_a_group_with_one_key_and_searches_the_nomenclature(page, articles_data):
    login(page, "cantine@test.example")
    page.wait_for_url("**/")
    page.click("a[data-queue=articles]")
    page.wait_for_url("**/articles")
    first = page.locator("[data-group]").first
    assert "CAROTTES RAPEES BIO 5KG" in first.inner_text()
    assert "Matrice fournisseur" in first.inner_text()
    assert first.locator("tbody tr").first.get_attribute("data-code") == "B-CAROTTE-RAPEE"
    assert "Lycée Chateaubriand" not in page.content()
    shot(page, "articles-queue")

    with page.expect_navigation():
        page.keyboard.press("1")  # accept the first suggestion of the focused group
    assert "3 ligne(s) rattachée(s) à « Carotte râpée »" in page.content()
    assert "CAROTTES RAPEES" not in page.locator("[data-article-groups]").inner_text()

    group = page.locator("[data-group]", has_text="YRT FRUITS MIXES").first
    group.locator("[data-nomenclature-search]").fill("yaourt fruits")
    result = group.locator("[data-search-results] button", has_text="Yaourt aux fruits")
    result.first.click()
    assert group.locator("[data-code-input]").input_value() == "B-YAOURT-FR"
    shot(page, "articles-search")
