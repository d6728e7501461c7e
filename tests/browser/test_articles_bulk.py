"""« Articles à rattacher » in a real browser: bulk accept of the top suggestions with a
preview and one confirmation, the progress counter, undo, and the place kept after a decision."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot
from workbench.audit.operations import Actor, acting_as, record
from workbench.demo import factories
from workbench.extensions import db
from workbench.reference.models import Site


@pytest.fixture(scope="module")
def queue(live_app):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    with live_app.app_context(), acting_as(Actor(email="tests", role="admin")):
        s = db.session
        brest = s.scalar(sa.select(Site).where(Site.uai == "0290010B"))
        for code, label, family in (
            ("B-CAROTTE", "Carotte râpée", "FRUITS_ET_LEGUMES"),
            ("B-POIRE", "Poire williams", "FRUITS_ET_LEGUMES"),
            ("B-EDAM", "Edam", "PRODUITS_LAITIERS"),
            ("B-YAOURT", "Yaourt nature", "PRODUITS_LAITIERS"),
        ):
            factories.make_nomenclature_item(s, code=code, label=label, family=family)
        for label, n in (
            ("CAROTTE RAPEE", 3),
            ("POIRE WILLIAMS", 2),
            ("EDAM", 2),
            ("QQCH SANS RAPPORT ZX", 1),
        ):
            for _ in range(n):
                factories.make_purchase_line(s, brest, label=label)
        record(s, "test.fixture", target_kind="test", target_label="articles bulk")
        s.commit()
        db.session.remove()
    return live_app


def test_bulk_accept_with_preview_then_undo(page, queue):
    login(page, "cantine@test.example")
    page.wait_for_url("**/")
    page.goto("/articles")
    remaining = int(page.locator("[data-remaining]").inner_text())
    page.select_option("form[data-bulk] select[name=seuil]", "95")
    with page.expect_navigation():
        page.click("form[data-bulk] button[type=submit]")
    preview = page.locator("table.bulk-preview").inner_text()
    assert "CAROTTE RAPEE" in preview and "EDAM" in preview
    assert "QQCH SANS RAPPORT" not in preview
    shot(page, "articles-bulk-preview")
    boxes = page.locator("input[name=choix]")
    chosen = boxes.count()
    assert chosen >= 2
    # untick one: it is not mapped
    page.locator("tr", has_text="EDAM").locator("input[name=choix]").uncheck()
    assert not page.locator("[data-select-page]").is_checked()
    with page.expect_navigation():
        page.click("[data-confirm-bulk]")
    assert f"{chosen - 1} article(s) rattaché(s)" in page.content()
    groups = page.locator("[data-article-groups]").inner_text()
    assert "CAROTTE RAPEE" not in groups and "EDAM" in groups
    assert int(page.locator("[data-remaining]").inner_text()) == remaining - (chosen - 1)
    assert int(page.locator("[data-decided-today]").inner_text()) == chosen - 1
    shot(page, "articles-after-bulk")

    with page.expect_navigation():
        page.click("form[data-undo] button")
    assert "Décision annulée" in page.content()
    assert int(page.locator("[data-remaining]").inner_text()) == remaining - (chosen - 2)


def test_after_a_decision_the_next_group_has_the_focus(page, queue):
    login(page, "cantine@test.example")
    page.wait_for_url("**/")
    page.goto("/articles")
    groups = page.locator("[data-group]")
    if groups.count() < 3:
        pytest.fail("the module's data should leave at least three groups")
    second_label = groups.nth(1).locator(".group-label").inner_text()
    third_label = groups.nth(2).locator(".group-label").inner_text()
    page.keyboard.press("j")  # focus the second group
    second = groups.nth(1)
    code_form = second.locator("form[data-code-form]")
    code_form.locator("input[name=code]").fill("B-YAOURT")
    with page.expect_navigation():
        code_form.locator("button[type=submit]").click()
    assert page.url.endswith("#groupe-2")
    focused = page.locator("[data-group].selected .group-label").inner_text()
    assert focused == third_label and focused != second_label
    shot(page, "articles-kept-place")
