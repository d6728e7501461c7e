"""Small things of the daily loop: favicon, one charset, « Annuler » while a revert is pending,
the role change that drops a direction is announced."""

from __future__ import annotations

from workbench.review import operations


def test_every_page_links_a_favicon_that_is_served(client, login_as):
    login_as("viewer")
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
    response = client.get("/static/favicon.svg")
    try:
        assert response.status_code == 200 and b"<svg" in response.data
    finally:
        response.close()


def test_csv_downloads_say_charset_once(client, login_as, session):
    from workbench.imports.models import ImportBatch

    admin = login_as("admin")
    batch = ImportBatch(
        kind="suppliers",
        file_format="csv",
        file_name="f.csv",
        sha256="1" * 64,
        status="rejected",
        created_by_id=admin.id,
        report=[{"row": 2, "column": "siret", "value": "x", "message": "m", "level": "error"}],
    )
    session.add(batch)
    from workbench.audit.operations import record

    record(session, "import.rejected", target_kind="import_batch", target_id=0)
    session.flush()
    for url in (f"/imports/{batch.id}/rapport.csv", "/journal/export.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"].lower().count("charset") == 1, url


def test_revert_is_not_offered_again_while_one_is_pending(client, session, make):
    site = make.site()
    canteen = make.user(role="canteen", sites=[site])
    line = make.purchase_line(site, labels="BIO")
    legal = make.user(role="legal")
    correction = operations.propose_correction(
        session, canteen, "purchase_line", line.id, "labels", "", "Facture sans label"
    )
    operations.decide(session, legal, correction, True, "ok")
    client.login(canteen.email)
    page = f"/dossiers/purchase_line/{line.id}"
    assert f"/corrections/{correction.id}/annuler" in client.get(page).get_data(as_text=True)
    operations.revert_correction(session, canteen, correction, "Erreur de ma part")
    html = client.get(page).get_data(as_text=True)
    assert f"/corrections/{correction.id}/annuler" not in html
    assert "annulation en attente de validation" in html


def test_user_form_says_a_role_change_drops_the_direction(client, login_as, make):
    login_as("admin")
    direction_user = make.user(role="direction")
    html = client.get(f"/admin/utilisateurs/{direction_user.id}").get_data(as_text=True)
    assert "data-scope-note" in html and "perdra la direction DLYC" in html
