"""``next`` never sends the browser to another site (login, record actions, articles queue)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

TARGETS = [
    pytest.param("https://evil.example/", id="absolute"),
    pytest.param("//evil.example/", id="scheme-relative"),
    pytest.param("https:evil.example", id="scheme-only"),
    pytest.param("/\t/evil.example", id="tab"),
    # is_safe_next lets these through; Werkzeug then sends ``/%5Cevil.example`` (same site)
    pytest.param("/\\evil.example", id="backslash"),
    pytest.param("/\\/evil.example", id="backslash-slash"),
]


def _stays_here(location: str) -> bool:
    """Would a browser stay on this site? (it drops tabs/newlines and reads ``\\`` as ``/``)"""
    browser = location.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    parts = urlsplit(browser)
    return parts.netloc in ("", "localhost") and parts.scheme in ("", "http", "https")


def test_the_helper_sees_what_a_browser_sees():
    assert _stays_here("/dossiers/contract/1")
    assert not _stays_here("/\\evil.example") and not _stays_here("//evil.example")


@pytest.mark.parametrize("target", TARGETS)
def test_login_next_stays_on_the_site(client, make, target):
    user = make.user(role="viewer", password=PASSWORD)
    client.token = None
    response = client.post_form(
        "/connexion?next=" + target.replace("\t", "%09").replace("\\", "%5C"),
        {"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert _stays_here(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", TARGETS)
def test_record_action_next_stays_on_the_site(client, session, world, login_as, target):
    login_as("canteen", sites=[world.other_site])
    response = client.post_form(f"/anomalies/{world.line_anomaly.id}/prendre", {"next": target})
    assert response.status_code == 302
    assert _stays_here(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", TARGETS)
def test_articles_queue_next_stays_on_the_site(client, world, login_as, target):
    login_as("canteen", sites=[world.own_site])
    response = client.post_form("/articles/rattacher", {"group": "lbl:x", "next": target})
    assert response.status_code == 302
    assert _stays_here(response.headers["Location"]), response.headers["Location"]


def test_a_same_site_next_is_honoured(client, world, login_as):
    """The control: a relative ``next`` is followed (so the tests above can fail)."""
    login_as("canteen", sites=[world.other_site])
    response = client.post_form(
        f"/anomalies/{world.line_anomaly.id}/prendre", {"next": "/files/purchases?page=2"}
    )
    assert response.headers["Location"] == "/files/purchases?page=2"
