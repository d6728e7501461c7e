"""Imports and exports in a real browser: a file with errors is refused with its report, the
corrected file imports; an export downloads."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import login, shot

BAD = (
    "siret;raison_sociale;categorie_entreprise\n"
    "73282932000074;Minoterie du Léon;PME\n"
    "12345678901234;Siret faux;PME\n"
    "35600000000048;;XXL\n"
)
GOOD = (
    "siret;raison_sociale;categorie_entreprise\n"
    "73282932000074;Minoterie du Léon;PME\n"
    "35600000000048;Conserverie de Douarnenez;ETI\n"
)


def _upload(page, tmp_path, name: str, content: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    page.goto("/imports/")
    page.select_option("select[name=kind]", "suppliers")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("#upload-form button[type=submit]")


def test_upload_with_errors_then_a_clean_one(page, tmp_path):
    login(page, "admin@test.example")
    page.wait_for_url("**/")
    _upload(page, tmp_path, "fournisseurs-erreurs.csv", BAD)
    assert page.locator("#batch-status").inner_text() == "Refusé"
    report = page.locator("#report").inner_text()
    assert "Valeur obligatoire manquante" in report and "« XXL » inconnue" in report
    assert "Traceback" not in page.content()
    shot(page, "import-refused")

    _upload(page, tmp_path, "fournisseurs.csv", GOOD)
    assert page.locator("#batch-status").inner_text() == "Importé"
    assert "Fournisseurs" in page.content() and "suppliers" not in page.locator("main").inner_text()
    shot(page, "import-applied")
    page.goto("/imports/")
    batches = page.locator("#batches").inner_text()
    assert "Refusé" in batches and "Importé" in batches and "applied" not in batches


def test_an_export_downloads(page):
    login(page, "admin@test.example")
    page.wait_for_url("**/")
    page.goto("/exports")
    shot(page, "exports")
    with page.expect_download() as info:
        page.locator("a.button", has_text="Télécharger").nth(1).click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    header = content.splitlines()[0]
    assert "libelle" in header.lower() or "label" in header.lower(), header
    assert "YAOURT NAT BIO 125G X48" in content
