"""Foundation: configuration, isolation, login, roles and scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench import create_app
from workbench.audit.models import AuditEntry
from workbench.audit.operations import record
from workbench.auth.models import User
from workbench.reference.models import Site


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("WORKBENCH_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": "sqlite://"})


def test_default_database_is_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"ENV": "testing"})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/workbench.sqlite3")


def test_postgres_url_uses_psycopg3():
    app = create_app({"ENV": "testing", "DATABASE_URL": "postgresql://u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("step", [1, 2])
def test_each_test_runs_in_a_rolled_back_transaction(session, make, step):
    """Both steps see an empty table although step 1 commits a row (savepoint, then rollback)."""
    assert (
        session.scalar(sa.select(sa.func.count()).select_from(Site).where(Site.uai == "0350001Z"))
        == 0
    )
    make.site(uai="0350001Z", name="Lycée isolé")
    record(session, "site.create", target_kind="site", target_label="0350001Z")
    session.commit()
    assert (
        session.scalar(sa.select(sa.func.count()).select_from(Site).where(Site.uai == "0350001Z"))
        == 1
    )


def test_login_page_is_public_and_everything_else_needs_a_session(client):
    assert client.get("/connexion").status_code == 200
    response = client.get("/")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_post_without_csrf_token_is_refused(client, make):
    user = make.user(role="admin")
    response = client.post("/connexion", data={"email": user.email, "password": "motdepasse-test"})
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["canteen", "direction", "legal", "admin", "viewer"])
def test_every_role_logs_in_and_lands_on_its_home(client, login_as, role):
    user = login_as(role)
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert user.role_label in html
    if role == "canteen":
        assert "Articles à rattacher" in html and "Marchés" not in html
    if role == "direction":
        assert "Fournisseurs" in html and "Articles à rattacher" not in html


def test_wrong_password_is_refused_journaled_and_throttled(client, make, session, app):
    user = make.user(role="legal")
    for _ in range(app.config["LOGIN_MAX_ATTEMPTS"]):
        assert client.login(user.email, "mauvais-mot-de-passe").status_code == 401
    # throttled now from this client, even with the right password (tests/auth: other clients)
    assert client.login(user.email).status_code == 429
    failures = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "auth.login_failed", AuditEntry.target_id == str(user.id))
    )
    assert failures == app.config["LOGIN_MAX_ATTEMPTS"]
    throttled = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "auth.login_throttled", AuditEntry.target_id == str(user.id))
    )
    assert throttled == 1


def test_next_redirect_stays_on_site(client, make):
    user = make.user(role="admin")
    client.token = client.fetch_token("/connexion?next=https://evil.example/")
    response = client.post_form(
        "/connexion?next=https://evil.example/",
        {"email": user.email, "password": "motdepasse-test"},
    )
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_admin_pages_are_refused_to_other_roles(client, login_as):
    login_as("legal")
    assert client.get("/admin/utilisateurs").status_code == 403


def test_admin_creates_a_canteen_user_scoped_to_a_site(client, login_as, make, session):
    login_as("admin")
    site = make.site(uai="0290001A", name="Lycée de Brest")
    response = client.post_form(
        "/admin/utilisateurs/nouveau",
        {
            "email": "chef@lycee.example",
            "role": "canteen",
            "sites": [site.uai],
            "direction": "",
            "password": "un-mot-de-passe-long",
            "is_active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    user = session.scalar(sa.select(User).where(User.email == "chef@lycee.example"))
    assert [s.uai for s in user.sites] == ["0290001A"]
    assert (
        session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(user.id)))
        == "user.create"
    )


def test_canteen_user_without_site_is_refused(client, login_as):
    login_as("admin")
    response = client.post_form(
        "/admin/utilisateurs/nouveau",
        {
            "email": "x@lycee.example",
            "role": "canteen",
            "direction": "",
            "password": "un-mot-de-passe-long",
        },
    )
    assert response.status_code == 400
    assert "au moins un lycée" in response.get_data(as_text=True)


def test_canteen_user_gets_404_on_another_lycees_purchase_line(client, login_as, make):
    own, other = make.site(), make.site()
    login_as("canteen", sites=[own])
    mine = make.purchase_line(own)
    theirs = make.purchase_line(other)
    assert client.get(f"/historique/purchase_line/{mine.id}").status_code == 200
    assert client.get(f"/historique/purchase_line/{theirs.id}").status_code == 404
    assert client.get("/historique/purchase_line/999999").status_code == 404


def test_direction_user_sees_only_its_contracts(client, login_as, make):
    make.direction("DIMM", "Direction de l'immobilier", "45")
    login_as("direction", direction="DIMM")
    mine = make.contract(direction_code="DIMM")
    theirs = make.contract(direction_code="DLYC")
    assert client.get(f"/historique/contract/{mine.id}").status_code == 200
    assert client.get(f"/historique/contract/{theirs.id}").status_code == 404


def test_security_headers_are_sent(client):
    response = client.get("/connexion")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_an_account_created_inactive_is_journaled_as_inactive(client, login_as, make, session):
    login_as("admin")
    site = make.site()
    response = client.post_form(
        "/admin/utilisateurs/nouveau",
        {
            "email": "inactif@lycee.example",
            "role": "canteen",
            "sites": [site.uai],
            "direction": "",
            "password": "un-mot-de-passe-long",
        },
    )
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.email == "inactif@lycee.example"))
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.target_id == str(user.id)))
    assert user.is_active_account is False and entry.after["active"] is False
