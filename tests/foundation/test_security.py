"""Safety nets over the whole URL map: login everywhere, roles on admin pages, upload limits."""

from __future__ import annotations

import io

import pytest

#: Public: the login page, static files, the health check and the OpenAPI document; the token
#: API answers 401 by itself (tests/api).
PUBLIC = {"auth.login", "static", "service.health", "api-docs.openapi_json"}
TOKEN_AUTHENTICATED = "api."
#: The public observatory needs no login by design; it answers 404 unless PUBLIC_OBSERVATORY.
OBSERVATORY = {"public.index", "public.egalim_csv", "public.spaser_csv", "public.decp"}


def _url_for_rule(rule) -> str:  # type: ignore[no-untyped-def]
    values = {arg: (1 if "id" in arg else "x") for arg in rule.arguments}
    if "kind" in rule.arguments:
        values["kind"] = "purchase_line"
    if "queue" in rule.arguments:
        values["queue"] = "articles"
    url = rule.rule
    for name, value in values.items():
        url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return url


def test_every_page_but_login_requires_a_session(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith(TOKEN_AUTHENTICATED):
            continue
        if rule.endpoint in OBSERVATORY:
            assert client.get(_url_for_rule(rule)).status_code == 404, rule.endpoint
            continue
        url = _url_for_rule(rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 400), (
                f"{method} {url} answered {response.status_code}"
            )
            if response.status_code == 302:
                assert "/connexion" in response.headers["Location"], url
            checked += 1
    assert checked > 30


@pytest.mark.parametrize("role", ["canteen", "direction", "viewer"])
def test_admin_pages_refuse_other_roles(client, login_as, role):
    login_as(role)
    for url in ("/admin/utilisateurs", "/admin/utilisateurs/nouveau", "/regles/", "/journal"):
        assert client.get(url).status_code == 403, url


def test_an_oversized_upload_gets_a_french_message(app, client, login_as):
    login_as("admin")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post_form(
            "/imports/",
            {"kind": "purchases", "file": (io.BytesIO(b"x" * 4096), "gros.csv")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "taille maximale" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/dossiers/contract/1", True),
        ("//evil.example", False),
        ("https://evil.example/", False),
        ("/\\evil.example", False),
        ("/ok\tx", False),
        ("", False),
        ("relative", False),
    ],
)
def test_next_redirect_targets(target, safe):
    from workbench.core.security import is_safe_next

    assert is_safe_next(target) is safe


def test_form_messages_are_french(client, login_as):
    login_as("admin")
    response = client.post_form("/imports/", {"kind": "n-importe-quoi"})
    html = response.get_data(as_text=True)
    assert "Not a valid choice" not in html and "pas un choix valide" in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (True, "Oui"),
        (False, "Non"),
        (138470.78, "138\u202f470,78"),
        (12.0, "12"),
        ("2024-02-23", "23/02/2024"),
        (["BIO", "HVE"], "BIO, HVE"),
        ("texte", "texte"),
    ],
)
def test_values_are_shown_the_french_way(value, shown):
    from workbench.core.formatting import format_value

    assert format_value(value) == shown
