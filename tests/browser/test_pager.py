"""The one pager in a browser: a keyset queue walked with « n », the links and the filters."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login, shot
from workbench.audit.operations import Actor, acting_as, record
from workbench.demo import factories
from workbench.extensions import db
from workbench.reference.models import Site


@pytest.fixture(scope="module", autouse=True)
def five_anomalies(live_app):  # type: ignore[no-untyped-def]
    """Five anomalies of the « matrix » queue at the canteen's lycée; pages of two."""
    live_app.config["PAGE_SIZE"] = 2
    with live_app.app_context(), acting_as(Actor(email="tests", role="admin")):
        s = db.session
        site = s.query(Site).filter_by(uai="0290010B").one()
        codes = ["MATRIX_PRICE_GAP", "MATRIX_ORIGIN_MISMATCH"]
        for i in range(5):
            line = factories.make_purchase_line(s, site, label=f"ARTICLE PAGINÉ {i}")
            factories.make_anomaly(s, line, codes[i % 2], "amount_ht", days_old=20 - i)
        record(s, "test.fixture", target_kind="test", target_label="pager")
        s.commit()
        site_id = site.id
        db.session.remove()
    yield site_id
    live_app.config["PAGE_SIZE"] = 50


def _summary(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("nav.pager .pager-summary").inner_text().split())


def test_a_queue_is_walked_page_by_page_keeping_its_filter(page, five_anomalies):  # type: ignore[no-untyped-def]
    login(page, "cantine@test.example")
    page.goto(f"/files/matrix?site={five_anomalies}&tri=")
    assert _summary(page).startswith("1–2 sur 5")
    assert page.locator("nav.pager a[rel=prev]").count() == 0
    page.keyboard.press("n")  # the keyboard shortcut follows the pager's rel=next
    page.wait_for_url(re.compile(r"page=2"))
    assert f"site={five_anomalies}" in page.url and "apres=" in page.url
    assert _summary(page).startswith("3–4 sur 5")
    shot(page, "pager-queue-page-2")
    page.locator("nav.pager a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=3"))
    assert _summary(page).startswith("5–5 sur 5")
    assert page.locator("nav.pager a[rel=next]").count() == 0
    assert page.locator("table.grid tbody tr").count() == 1
    page.locator("nav.pager a[rel=prev]").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert _summary(page).startswith("3–4 sur 5") and "apres=" not in page.url
