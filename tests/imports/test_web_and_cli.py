"""Upload page (admin and canteen scope), report download, size limit, CLI exit codes."""

from __future__ import annotations

import io

import sqlalchemy as sa

from tests.imports.conftest import OTHER_UAI, SIRET, UAI, purchases
from tests.imports.test_purchases import MACANTINE
from workbench.imports.models import ImportBatch
from workbench.records.models import PurchaseLine

LINE = f"{UAI};2026-03-02;{SIRET};Laiterie;YA;YAOURT NATURE;48;pièce;21,60;;;;"


def upload(client, content: str, name: str = "achats.csv", **fields):  # type: ignore[no-untyped-def]
    data = {"kind": "purchases", "file_format": "", "site": "", **fields}
    data["file"] = (io.BytesIO(content.encode("utf-8")), name)
    return client.post_form("/imports/", data, content_type="multipart/form-data")


def test_admin_uploads_a_file_and_sees_the_counts_on_the_batch_page(client, login_as, sites):
    login_as("admin")
    response = upload(client, purchases(LINE))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Importé" in page and "achats.csv" in page and 'id="counts"' in page
    assert "Import terminé : 1 ajout(s)" in page


def test_upload_page_lists_recent_batches(client, login_as, sites):
    login_as("admin")
    upload(client, purchases(LINE))
    page = client.get("/imports/").get_data(as_text=True)
    assert 'id="batches"' in page and "achats.csv" in page


def test_rejected_upload_shows_every_problem_and_offers_the_csv_report(
    client, login_as, session, sites
):
    login_as("admin")
    bad = purchases(
        f"{UAI};demain;;;;=HYPERLINK(1);1;kg;1;;;;", f"{UAI};2026-01-01;;;;L;-1;kg;1;;;;"
    )
    response = upload(client, bad)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Refusé" in page and "Date illisible" in page and "supérieure ou égale à 0" in page
    batch = session.scalar(sa.select(ImportBatch))
    csv_text = client.get(f"/imports/{batch.id}/rapport.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].lstrip("\ufeff") == "ligne;colonne;valeur;message;niveau"
    assert "'-1" in csv_text  # a value starting with "-" cannot run as a formula
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0


def test_dry_run_checkbox_writes_nothing(client, login_as, session, sites):
    login_as("admin")
    upload(client, purchases(LINE), dry_run="y")
    assert session.scalar(sa.select(ImportBatch.status)) == "dry_run"
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0


def test_canteen_user_cannot_import_another_lycees_lines(client, login_as, session, sites):
    login_as("canteen", sites=[sites[0]])
    mine_and_other = purchases(LINE, LINE.replace(UAI, OTHER_UAI))
    response = upload(client, mine_and_other)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Refusé" in page and OTHER_UAI in page
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0
    response = upload(client, purchases(LINE))
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1


def test_canteen_user_can_only_choose_purchases_and_own_sites(client, login_as, session, sites):
    login_as("canteen", sites=[sites[0]])
    page = client.get("/imports/").get_data(as_text=True)
    assert 'value="suppliers"' not in page and OTHER_UAI not in page and UAI in page
    response = upload(client, "siret;raison_sociale\n1;A\n", kind="suppliers")
    assert response.status_code == 200
    response = upload(client, purchases(LINE), site=OTHER_UAI)
    assert response.status_code == 200
    assert session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0


def test_canteen_user_cannot_read_another_users_batch(client, login_as, session, sites, write):
    from workbench.imports.operations import import_file

    path = write("s.csv", "siret;raison_sociale\n55204599900869;A\n")
    result = import_file(session, "suppliers", path)
    login_as("canteen", sites=[sites[0]])
    assert client.get(f"/imports/{result.batch.id}").status_code == 404
    assert client.get(f"/imports/{result.batch.id}/rapport.csv").status_code == 404


def test_direction_users_have_no_upload_page(client, login_as):
    login_as("direction")
    assert client.get("/imports/").status_code == 403


def test_too_large_upload_gets_a_clear_message(app, client, login_as, sites):
    login_as("admin")
    original = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    try:
        response = upload(client, purchases(*([LINE] * 100)))
    finally:
        app.config["MAX_CONTENT_LENGTH"] = original
    assert response.status_code == 413
    assert "taille maximale" in response.get_data(as_text=True)


def test_cli_imports_then_recognises_the_same_file(app, session, sites, write):
    path = write("achats.csv", purchases(LINE))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "purchases", path])
    assert result.exit_code == 0, result.output
    assert "1 ajout(s)" in result.output
    result = runner.invoke(args=["import", "purchases", path])
    assert result.exit_code == 0 and "déjà été importé" in result.output
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1


def test_cli_exits_1_and_prints_the_report_when_the_file_is_rejected(app, session, sites, write):
    path = write("achats.csv", purchases(f"{UAI};31/02/2026;;;;L;1;kg;1;;;;"))
    result = app.test_cli_runner().invoke(args=["import", "purchases", path])
    assert result.exit_code == 1
    assert "ligne 2, colonne date" in result.output and "Fichier refusé" in result.output


def test_cli_dry_run_and_site_option_for_macantine(app, session, sites, write):
    text = "siret,description,date,prix_ht,famille_produits\n21010034300016,Pommes,2022-05-02,9.5,AUTRES\n"
    path = write("mc.csv", text)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "purchases", path, "--site", UAI, "--dry-run"])
    assert result.exit_code == 0 and "Simulation" in result.output
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0
    result = runner.invoke(
        args=["import", "purchases", path, "--site", UAI, "--format", "macantine"]
    )
    assert result.exit_code == 0, result.output
    assert session.scalar(sa.select(PurchaseLine.site_id)) == sites[0].id


def test_the_batch_page_names_the_format_once(client, login_as, sites):  # type: ignore[no-untyped-def]
    login_as("admin")
    bad = (MACANTINE / "purchases_bad.csv").read_text(encoding="utf-8")
    response = upload(client, bad, file_format="macantine")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Achats des cantines · format national ma-cantine, CSV ·" in page
    assert "format format" not in page
