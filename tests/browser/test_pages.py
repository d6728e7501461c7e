"""What a person sees: login, home per role, scope in the browser, a correction end to end."""

from __future__ import annotations

import pytest

from tests.browser.conftest import id_of, login, shot
from workbench.records.models import PurchaseLine


def test_login_page_is_french_and_refuses_a_wrong_password(page):
    page.goto("/connexion")
    assert page.locator("h1").inner_text() == "Connexion"
    login(page, "admin@test.example", "mauvais")
    assert "Identifiants incorrects" in page.content()
    shot(page, "login-refused")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("admin@test.example", "Utilisateurs"),
        ("legal@test.example", "À valider"),
        ("cantine@test.example", "Articles à rattacher"),
        ("direction@test.example", "Marchés"),
        ("viewer@test.example", "Observatoire"),
    ],
)
def test_each_role_lands_on_its_home(page, email, expected):
    login(page, email)
    page.wait_for_url("**/")
    assert expected in page.content()
    shot(page, f"home-{email.split('@')[0]}")


def test_canteen_user_cannot_open_another_lycees_line_by_id(page, live_app):
    own_id = id_of(live_app, PurchaseLine, label="YAOURT NAT BIO 125G X48")
    other_id = id_of(live_app, PurchaseLine, label="STEAK HACHE 15% MG VBF 10X1KG")
    login(page, "cantine@test.example")
    page.wait_for_url("**/")
    own = page.goto(f"/dossiers/purchase_line/{own_id}")
    assert own.status == 200 and "YAOURT NAT BIO" in page.content()
    other = page.goto(f"/dossiers/purchase_line/{other_id}")
    assert other.status == 404 and "introuvable" in page.content()
    shot(page, "canteen-404")


def test_canteen_user_maps_an_article_from_the_record_page(page, live_app):
    line_id = id_of(live_app, PurchaseLine, label="YAOURT NAT BIO 125G X48")
    login(page, "cantine@test.example")
    page.wait_for_url("**/")
    page.goto(f"/dossiers/purchase_line/{line_id}")
    row = page.locator("#champ-nomenclature_code")
    row.locator("summary").click()
    row.locator("input[name=value]").fill("N-YAOURT")
    row.locator("input[name=reason]").fill("yaourt nature")
    row.locator("button[type=submit]").click()
    assert "Correction appliquée" in page.content()
    assert "N-YAOURT" in page.locator("#champ-nomenclature_code").inner_text()
    shot(page, "record-corrected")
