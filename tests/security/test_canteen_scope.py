"""A canteen user of one lycée can neither read nor change another lycée's data, even by id."""

from __future__ import annotations

import io

import pytest

from tests.security.conftest import OWN_SIRET, SECRET, assert_unchanged, snapshot


def test_canteen_cannot_open_another_lycees_line_or_its_history(client, session, world, as_canteen):
    before = snapshot(session)
    assert client.get(f"/dossiers/purchase_line/{world.other_line.id}").status_code == 404
    assert client.get(f"/historique/purchase_line/{world.other_line.id}").status_code == 404
    assert client.get(f"/dossiers/purchase_line/{world.own_line.id}").status_code == 200
    assert_unchanged(session, before)


def test_canteen_cannot_correct_another_lycees_line(client, session, world, as_canteen):
    before = snapshot(session)
    response = client.post_form(
        f"/dossiers/purchase_line/{world.other_unmapped.id}/corriger",
        {"field": "nomenclature_code", "value": world.code, "reason": "forgé"},
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


@pytest.mark.parametrize("action", ["prendre", "ecarter"])
def test_canteen_cannot_claim_or_dismiss_another_lycees_anomaly(
    client, session, world, as_canteen, action
):
    before = snapshot(session)
    response = client.post_form(
        f"/anomalies/{world.line_anomaly.id}/{action}",
        {"reason_code": "false_positive", "comment": "forgé"},
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


def test_canteen_cannot_revert_another_lycees_correction(client, session, world, as_canteen):
    before = snapshot(session)
    response = client.post_form(
        f"/corrections/{world.line_applied.id}/annuler", {"reason": "forgé"}
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


def test_canteen_cannot_read_another_lycees_import_batch(client, session, world, as_canteen):
    before = snapshot(session)
    assert client.get(f"/imports/{world.other_batch.id}").status_code == 404
    assert client.get(f"/imports/{world.other_batch.id}/rapport.csv").status_code == 404
    assert "achats-voisin.csv" not in client.get("/imports/").get_data(as_text=True)
    assert_unchanged(session, before)


def test_canteen_queue_ignores_a_forged_site_filter(client, session, world, as_canteen):
    html = client.get(f"/files/purchases?site={world.other_site.id}").get_data(as_text=True)
    assert "YAOURT VOISIN" not in html
    html = client.get(f"/articles?site={world.other_site.id}").get_data(as_text=True)
    assert SECRET not in html and "ARTICLE REF" not in html


def test_canteen_exports_and_indicators_hold_only_its_lycee(client, world, as_canteen):
    body = client.get("/exports/achats.csv").get_data(as_text=True)
    assert "YAOURT MAISON" in body and "VOISIN" not in body and SECRET not in body
    body = client.get("/exports/achats-ma-cantine.csv").get_data(as_text=True)
    assert "VOISIN" not in body  # own lycée has no SIRET: withheld, and listed on /exports
    html = client.get("/exports").get_data(as_text=True)
    assert 'data-sites-without-siret="1"' in html and "Lycée Voisin" not in html
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "Lycée Voisin" not in html


@pytest.mark.parametrize("group", ["label", "reference"])
@pytest.mark.parametrize("forged_site", [True, False])
def test_canteen_cannot_map_another_lycees_article_group(
    client, session, world, as_canteen, group, forged_site
):
    before = snapshot(session)
    data = {
        "group": world.other_group if group == "label" else world.other_ref_group,
        "code": world.code,
    }
    if forged_site:
        data["site"] = str(world.other_site.id)
    response = client.post_form("/articles/rattacher", data)
    assert response.status_code == 302
    assert_unchanged(session, before)


def test_canteen_cannot_map_a_group_in_every_lycee(client, session, world, make, login_as):
    make.purchase_line(world.own_site, label=SECRET)  # the same group exists in its own lycée
    login_as("canteen", sites=[world.own_site])
    before = snapshot(session)
    response = client.post_form(
        "/articles/rattacher", {"group": world.other_group, "code": world.code, "all_sites": "y"}
    )
    assert response.status_code == 302
    assert_unchanged(session, before)


@pytest.mark.parametrize("forged_site", [True, False])
def test_canteen_cannot_reject_suggestions_for_another_lycees_group(
    client, session, world, as_canteen, forged_site
):
    before = snapshot(session)
    data = {"group": world.other_group, "code": world.code}
    if forged_site:
        data["site"] = str(world.other_site.id)
    response = client.post_form("/articles/refuser", data)
    assert response.status_code == 302
    assert_unchanged(session, before)


def test_canteen_cannot_read_or_correct_contracts_and_suppliers(client, session, world, as_canteen):
    before = snapshot(session)
    for kind, record in (("contract", world.own_contract), ("supplier", world.own_supplier)):
        assert client.get(f"/dossiers/{kind}/{record.id}").status_code == 404
        assert client.get(f"/historique/{kind}/{record.id}").status_code == 404
        response = client.post_form(
            f"/dossiers/{kind}/{record.id}/corriger",
            {"field": "name" if kind == "supplier" else "object", "value": "x", "reason": "r"},
        )
        assert response.status_code == 404
    assert client.get("/exports/marches-decp-v2.json").status_code == 403
    assert client.get("/indicateurs/marches").status_code == 403
    assert_unchanged(session, before)


def test_canteen_reads_but_cannot_correct_a_supplier_matrix(client, session, world, as_canteen):
    before = snapshot(session)
    assert client.get(f"/dossiers/matrix_entry/{world.matrix_entry.id}").status_code == 200
    response = client.post_form(
        f"/dossiers/matrix_entry/{world.matrix_entry.id}/corriger",
        {"field": "origin", "value": "FRANCE", "reason": "forgé"},
    )
    assert response.status_code == 403
    assert_unchanged(session, before)


def _upload(client, data: dict, uai: str):  # type: ignore[no-untyped-def]
    from tests.imports.conftest import HEADER

    row = f"{uai};02/03/2026;{OWN_SIRET};Fournisseur;R1;INTRUS;10;kg;12,50;;;France;"
    return client.post_form(
        "/imports/",
        {**data, "file": (io.BytesIO(f"{HEADER}\n{row}\n".encode()), "achats.csv")},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "contracts", "file_format": "", "site": ""},
        {"kind": "suppliers", "file_format": "", "site": ""},
        {"kind": "purchases", "file_format": "macantine", "site": "OTHER"},
    ],
    ids=["contracts-kind", "suppliers-kind", "other-lycee-site"],
)
def test_canteen_upload_with_forged_kind_or_site_is_refused(
    client, session, world, as_canteen, data
):
    if data["site"] == "OTHER":
        data = {**data, "site": world.other_site.uai}
    before = snapshot(session)
    response = _upload(client, data, world.own_site.uai)
    assert response.status_code == 200  # the form refuses the choice and is shown again
    assert_unchanged(session, before)


def test_canteen_upload_of_another_lycees_lines_inserts_none(client, session, world, as_canteen):
    data = {"kind": "purchases", "file_format": "", "site": ""}
    before = snapshot(session)["purchase_lines"]
    assert _upload(client, data, world.other_site.uai).status_code == 302
    assert snapshot(session)["purchase_lines"] == before
    # the control: the same file for its own lycée is imported
    assert _upload(client, data, world.own_site.uai).status_code == 302
    assert len(snapshot(session)["purchase_lines"]) == len(before) + 1


def test_canteen_cannot_touch_another_lycees_anomaly_through_its_own_line(
    client, session, world, as_canteen
):
    """A correction of its own line naming another lycée's anomaly must not move that anomaly."""
    before = snapshot(session)
    response = client.post_form(
        f"/dossiers/purchase_line/{world.own_line.id}/corriger",
        {
            "field": "labels",
            "value": "BIO",
            "reason": "forgé",
            "anomaly_id": str(world.line_anomaly.id),
        },
    )
    assert response.status_code == 302
    assert_unchanged(session, before)


def test_canteen_cannot_report_the_matrix_of_another_lycees_line(client, session, world, login_as):
    login_as("canteen", sites=[world.own_site])
    before = snapshot(session)
    response = client.post_form(
        f"/dossiers/purchase_line/{world.matrix_line.id}/signaler-matrice",
        {"field": "labels", "comment": "faux"},
    )
    assert response.status_code == 404
    assert_unchanged(session, before)
