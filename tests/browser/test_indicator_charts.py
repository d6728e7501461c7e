"""The indicator pages in headless Chromium: charts drawn, CSV links that download, no CSP error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot

pytestmark = pytest.mark.browser


def _console_errors(page):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_egalim_page_draws_its_charts_and_offers_csv(page):
    errors = _console_errors(page)
    login(page, "viewer@test.example")
    page.wait_for_url("**/")
    response = page.goto("/indicateurs?annee=2026")
    assert response.status == 200
    gauges = page.locator("svg.gauge")
    assert gauges.count() >= 3
    box = gauges.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 60  # drawn, not collapsed
    assert page.locator("svg.chart polyline, svg.chart circle").count() >= 1  # monthly trend
    assert page.locator("[data-excluded]").count() == 1
    links = page.locator("a[href*='/indicateurs/egalim.csv']")
    assert links.count() >= 5
    download = page.request.get(links.first.get_attribute("href"))
    assert download.status == 200 and "egalim_share" in download.text()
    shot(page, "indicators-egalim")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_exports_page_lists_lycees_without_siret_and_spaser_renders(page):
    login(page, "admin@test.example")
    page.wait_for_url("**/")
    page.goto("/exports")
    assert page.locator("[data-sites-without-siret]").count() == 1
    shot(page, "exports")
    assert page.goto("/indicateurs/marches").status == 200
    shot(page, "indicators-spaser")
