"""Sessions that end: logout, password change or reset, deactivation and role change invalidate
every other session of the account; authenticated pages and downloads are never cached; forms
expire."""

from __future__ import annotations

import sqlalchemy as sa
from itsdangerous import TimestampSigner

from tests.auth.conftest import clone_cookies
from tests.conftest import PASSWORD
from workbench.audit.models import AuditEntry
from workbench.auth import operations
from workbench.auth.loader import load_user


def _opens(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/").status_code == 200


def test_a_cookie_saved_before_logout_no_longer_opens_pages(client, app, login_as):
    user = login_as("legal")
    saved = clone_cookies(client, app)
    assert _opens(saved), "the saved cookie works while the session lives (control)"
    assert client.post_form("/deconnexion").status_code == 302
    assert not _opens(client)
    assert not _opens(saved)
    assert saved.get("/").headers["Location"].startswith("/connexion")
    assert user.session_version == 2


def test_logout_in_one_browser_ends_the_session_in_the_other(client, other_client, login_as):
    user = login_as("canteen")
    assert other_client.login(user.email).status_code == 302
    assert _opens(client) and _opens(other_client)
    client.post_form("/deconnexion")
    assert not _opens(other_client)


def test_a_cookie_from_before_an_admin_reset_the_password_is_dead(client, other_client, app, make):
    canteen = make.user(role="canteen", password=PASSWORD)
    admin = make.user(role="admin", password=PASSWORD)
    assert client.login(canteen.email).status_code == 302
    saved = clone_cookies(client, app)
    assert other_client.login(admin.email).status_code == 302
    response = other_client.post_form(
        f"/admin/utilisateurs/{canteen.id}",
        {
            "email": canteen.email,
            "role": "canteen",
            "sites": [s.uai for s in canteen.sites],
            "password": "nouveau-mot-de-passe",
            "is_active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert not _opens(client)
    assert not _opens(saved)
    assert _opens(other_client), "the admin's own session is not touched"
    assert client.login(canteen.email, "nouveau-mot-de-passe").status_code == 302


def test_an_admin_editing_their_own_account_keeps_this_session(client, login_as, make):
    admin = login_as("admin")
    response = client.post_form(
        f"/admin/utilisateurs/{admin.id}",
        {"email": admin.email, "role": "admin", "password": "mon-nouveau-secret", "is_active": "y"},
    )
    assert response.status_code == 302
    assert _opens(client)
    assert admin.session_version == 2


def _update(session, user, **changes):  # type: ignore[no-untyped-def]
    values = {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "site_uais": [s.uai for s in user.sites],
        "direction": user.direction_code,
        "is_active": user.is_active_account,
    }
    values.update(changes)
    return operations.update_user(session, user, **values)


def test_deactivation_role_and_scope_changes_end_sessions_a_name_change_does_not(session, make):
    user = make.user(role="canteen")
    other_site = make.site()
    old = user.get_id()
    assert load_user(old) is user
    _update(session, user, name="Nouveau nom")
    assert load_user(old) is user, "a cosmetic change keeps the session"
    for changes in (
        {"site_uais": [other_site.uai]},
        {"role": "viewer", "site_uais": []},
        {"is_active": False},
    ):
        current = user.get_id()
        _update(session, user, **changes)
        assert load_user(current) is None, changes
    entry = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "user.update")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.after["sessions_ended"] is True


def test_the_session_id_carries_the_version_and_a_bare_id_is_refused(make):
    user = make.user(role="viewer")
    assert user.get_id() == f"{user.id}:1"
    assert load_user(str(user.id)) is None, "a cookie from before session versions"
    assert load_user(f"{user.id}:abc") is None
    assert load_user("x:1") is None


def test_authenticated_pages_and_downloads_are_not_stored(client, login_as):
    anonymous = client.get("/connexion")
    assert anonymous.headers["Cache-Control"] == "no-store"
    login_as("legal")
    for url in ("/", "/journal", "/journal/export.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Pragma"] == "no-cache", url


def test_csrf_tokens_expire_after_the_configured_time(client, login_as, app, monkeypatch):
    assert app.config["WTF_CSRF_TIME_LIMIT"] == app.config["CSRF_TIME_LIMIT_HOURS"] * 3600 > 0
    login_as("viewer")
    token = client.fetch_token("/")
    real = TimestampSigner.get_timestamp
    later = app.config["WTF_CSRF_TIME_LIMIT"] + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + later)
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 400, "an expired form is refused"
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert _opens(client), "and the session is untouched"
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
