"""Setting up an instance from nothing: first admin, directions, sites, accounts, admin pages."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.auth.models import User
from workbench.reference.models import Direction, Site


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_init_creates_the_first_admin_once(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init", "chef@region.example", "--password", "motdepasse-admin"])
    assert result.exit_code == 0, result.output
    admin = session.scalar(sa.select(User).where(User.email == "chef@region.example"))
    assert admin is not None and admin.role == "admin" and admin.check_password("motdepasse-admin")
    assert session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "user.create")), (
        "the account creation is journaled"
    )
    again = runner.invoke(args=["init", "autre@region.example", "--password", "motdepasse-admin"])
    assert again.exit_code != 0 and "existent déjà" in again.output
    assert session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_init_prompts_for_the_password_and_refuses_a_short_one(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init", "chef@region.example"], input="court\ncourt\n")
    assert result.exit_code != 0 and "10 caractères" in result.output
    assert session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_directions_then_sites_with_a_direction_column_import_from_the_cli(app, session, tmp_path):
    runner = app.test_cli_runner()
    directions = _write(
        tmp_path,
        "directions.csv",
        "code;nom;divisions_cpv\ndlyc;Direction des lycées;15,55\nDIMM;Direction de l'immobilier;45\n",
    )
    result = runner.invoke(args=["import", "directions", directions])
    assert result.exit_code == 0, result.output
    assert "2 ajout(s)" in result.output
    lycees = session.get(Direction, "DLYC")
    assert lycees.name == "Direction des lycées" and lycees.cpv_divisions == "15,55"
    sites = _write(
        tmp_path,
        "sites.csv",
        "uai;nom;commune;departement;direction\n0350001A;Lycée Chateaubriand;Rennes;35;DLYC\n",
    )
    result = runner.invoke(args=["import", "sites", sites])
    assert result.exit_code == 0, result.output
    assert session.scalar(sa.select(Site.direction_code).where(Site.uai == "0350001A")) == "DLYC"
    # the same directions file again: nothing changes; a changed name updates
    assert "déjà été importé" in runner.invoke(args=["import", "directions", directions]).output
    renamed = _write(tmp_path, "d2.csv", "code;nom\nDLYC;Lycées\n")
    assert "1 mise(s) à jour" in runner.invoke(args=["import", "directions", renamed]).output
    assert session.get(Direction, "DLYC").cpv_divisions == "15,55", "absent column kept"


def test_a_directions_file_with_duplicates_or_missing_names_is_refused(app, session, tmp_path):
    path = _write(tmp_path, "d.csv", "code;nom\nDLYC;A\nDLYC;B\nDX;\n")
    result = app.test_cli_runner().invoke(args=["import", "directions", path])
    assert result.exit_code == 1
    assert "Doublon" in result.output and "ligne 4, colonne nom" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Direction)) == 0


def test_users_import_creates_accounts_with_generated_passwords_shown_once(
    app, session, make, tmp_path
):
    make.site(uai="0350001A", direction_code="DLYC")
    path = _write(
        tmp_path,
        "comptes.csv",
        "email;nom;role;lycees;direction\n"
        "Cantine.A@region.example;Cantine A;canteen;0350001A;\n"
        "direction@region.example;Direction;direction;;DLYC\n"
        "obs@region.example;Observatoire;viewer;;\n",
    )
    result = app.test_cli_runner().invoke(args=["import", "users", path])
    assert result.exit_code == 0, result.output
    lines = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    assert set(lines) == {
        "cantine.a@region.example",
        "direction@region.example",
        "obs@region.example",
    }
    canteen = session.scalar(sa.select(User).where(User.email == "cantine.a@region.example"))
    assert canteen.role == "canteen" and [s.uai for s in canteen.sites] == ["0350001A"]
    assert canteen.check_password(lines["cantine.a@region.example"])
    director = session.scalar(sa.select(User).where(User.email == "direction@region.example"))
    assert director.direction_code == "DLYC"
    # the report stored with the batch never holds a password
    from workbench.imports.models import ImportBatch

    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.kind == "users"))
    assert lines["obs@region.example"] not in repr(batch.report)
    journal = session.scalars(
        sa.select(AuditEntry.target_label).where(AuditEntry.action == "user.create")
    ).all()
    assert len(journal) == 3


def test_users_import_is_refused_whole_on_an_unknown_lycee_or_direction(
    app, session, make, tmp_path
):
    make.site(uai="0350001A")
    path = _write(
        tmp_path,
        "comptes.csv",
        "email;role;lycees;direction\n"
        "a@region.example;canteen;0350001A;\n"
        "b@region.example;canteen;0999999Z;\n"
        "c@region.example;direction;;NOPE\n"
        "pas-une-adresse;viewer;;\n"
        "d@region.example;chef;;\n",
    )
    result = app.test_cli_runner().invoke(args=["import", "users", path])
    assert result.exit_code == 1
    out = result.output
    assert "0999999Z" in out and "Direction inconnue : NOPE" in out
    assert "Adresse électronique invalide" in out and "ligne 6, colonne role" in out
    assert session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_users_import_updates_existing_accounts_without_touching_passwords(
    app, session, make, tmp_path
):
    make.site(uai="0350001A")
    user = make.user(role="viewer", email="x@region.example", password="ancien-mot-de-passe")
    path = _write(tmp_path, "c.csv", "email;nom;role;lycees\nx@region.example;X;canteen;0350001A\n")
    result = app.test_cli_runner().invoke(args=["import", "users", path])
    assert result.exit_code == 0, result.output
    assert "1 mise(s) à jour" in result.output and "\t" not in result.output
    assert user.role == "canteen" and user.check_password("ancien-mot-de-passe")


def test_the_web_upload_form_does_not_offer_accounts(client, login_as):
    login_as("admin")
    html = client.get("/imports/").get_data(as_text=True)
    assert 'value="directions"' in html and 'value="users"' not in html


def test_admin_creates_and_edits_directions_and_sites_journaled(client, login_as, session):
    login_as("admin")
    response = client.post_form(
        "/admin/directions/nouvelle", {"code": "dlyc", "name": "Lycées", "cpv_divisions": "15, 55"}
    )
    assert response.status_code == 302
    assert session.get(Direction, "DLYC").cpv_divisions == "15,55"
    response = client.post_form(
        "/admin/directions/DLYC", {"code": "DLYC", "name": "Direction des lycées"}
    )
    assert response.status_code == 302 and session.get(Direction, "DLYC").name.startswith(
        "Direction"
    )
    response = client.post_form(
        "/admin/sites/nouveau",
        {"uai": "0350001a", "name": "Lycée A", "kind": "lycee", "direction_code": "DLYC"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    site = session.scalar(sa.select(Site).where(Site.uai == "0350001A"))
    assert site.direction_code == "DLYC"
    bad = client.post_form(
        f"/admin/sites/{site.id}", {"uai": "123", "name": "Lycée A", "direction_code": ""}
    )
    assert bad.status_code == 400 and "Code UAI invalide" in bad.get_data(as_text=True)
    actions = session.scalars(
        sa.select(AuditEntry.action).where(
            AuditEntry.action.like("direction.%") | AuditEntry.action.like("site.%")
        )
    ).all()
    assert actions == ["direction.create", "direction.update", "site.create"]
    listing = client.get("/admin/sites").get_data(as_text=True)
    assert "0350001A" in listing and "DLYC" in listing
    assert "Direction des lycées" in client.get("/admin/directions").get_data(as_text=True)


def test_reference_pages_are_for_administrators_only(client, login_as):
    login_as("canteen")
    for url in ("/admin/directions", "/admin/sites", "/admin/sites/nouveau"):
        assert client.get(url).status_code == 403, url
