"""Browser tests: a live server on a committed SQLite database, driven by Debian's Chromium.

Each test module gets its own database and server (``live_app`` and ``live_url`` are module
scoped): a module adds its data in a module fixture and looks ids up (:func:`id_of`), never
hard-codes them. Screenshots go to ``screenshots/`` (gitignored), or ``WORKBENCH_SCREENSHOTS``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from workbench import create_app
from workbench.audit.operations import Actor, acting_as
from workbench.demo import factories
from workbench.extensions import db

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "motdepasse-test"
SCREENSHOTS = Path(
    os.environ.get("WORKBENCH_SCREENSHOTS", Path(__file__).parents[2] / "screenshots")
)


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):  # type: ignore[no-untyped-def]
    from workbench.matching.queries import clear_matcher_cache

    # the matcher cache is keyed by table counts, not by database: a new database, a new cache
    clear_matcher_cache()
    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    app = create_app(
        {"ENV": "testing", "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "live-secret"}
    )
    with app.app_context():
        upgrade()
        with acting_as(Actor(email="tests", role="admin")):
            s = db.session
            brest = factories.make_site(s, uai="0290010B", name="Lycée de l'Iroise")
            rennes = factories.make_site(s, uai="0350020C", name="Lycée Chateaubriand")
            factories.make_user(s, "admin@test.example", "admin", PASSWORD)
            factories.make_user(s, "legal@test.example", "legal", PASSWORD)
            factories.make_user(s, "cantine@test.example", "canteen", PASSWORD, sites=[brest])
            factories.make_user(
                s, "direction@test.example", "direction", PASSWORD, direction="DLYC"
            )
            factories.make_user(s, "viewer@test.example", "viewer", PASSWORD)
            supplier = factories.make_supplier(s, name="Laiterie de l'Ouest")
            # a code the record-page test maps to (codes must be active nomenclature items)
            factories.make_nomenclature_item(s, code="N-YAOURT", label="Yaourt nature")
            factories.make_purchase_line(
                s, brest, label="YAOURT NAT BIO 125G X48", supplier=supplier
            )
            factories.make_purchase_line(
                s, rennes, label="STEAK HACHE 15% MG VBF 10X1KG", supplier=supplier
            )
            s.commit()
        db.engine.dispose()
    return app


@pytest.fixture(scope="module")
def live_url(live_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"Chromium absent ({CHROMIUM}): apt-get install chromium")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_url, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


def login(page, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def id_of(app, model, **where) -> int:  # type: ignore[no-untyped-def]
    """The id of the one row of ``model`` matching ``where`` in the live database."""
    import sqlalchemy as sa

    with app.app_context():
        found = db.session.scalars(sa.select(model.id).filter_by(**where)).all()
        db.session.remove()
    assert len(found) == 1, (model.__name__, where, found)
    return found[0]


def logout(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("form[action$='/deconnexion'] button").click()
    page.wait_for_url("**/connexion**")
