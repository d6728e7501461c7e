"""A direction user reaches the contracts and suppliers of its own direction only."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import assert_unchanged, snapshot


def _targets(world):  # type: ignore[no-untyped-def]
    return (("contract", world.other_contract), ("supplier", world.other_supplier))


def test_direction_cannot_open_another_directions_contract_or_supplier(
    client, session, world, as_direction
):
    before = snapshot(session)
    for kind, record in _targets(world):
        assert client.get(f"/dossiers/{kind}/{record.id}").status_code == 404, kind
        assert client.get(f"/historique/{kind}/{record.id}").status_code == 404, kind
    assert client.get(f"/dossiers/contract/{world.own_contract.id}").status_code == 200
    assert client.get(f"/dossiers/supplier/{world.own_supplier.id}").status_code == 200
    assert_unchanged(session, before)


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("contract", "object", "Objet forgé"), ("supplier", "name", "Nom forgé")],
)
def test_direction_cannot_correct_another_directions_record(
    client, session, world, as_direction, kind, field, value
):
    record = world.other_contract if kind == "contract" else world.other_supplier
    before = snapshot(session)
    response = client.post_form(
        f"/dossiers/{kind}/{record.id}/corriger",
        {"field": field, "value": value, "reason": "forgé", "base_version": str(record.version)},
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


@pytest.mark.parametrize("anomaly", ["contract_anomaly", "supplier_anomaly", "line_anomaly"])
@pytest.mark.parametrize("action", ["prendre", "ecarter"])
def test_direction_cannot_claim_or_dismiss_an_anomaly_outside_its_direction(
    client, session, world, as_direction, anomaly, action
):
    before = snapshot(session)
    response = client.post_form(
        f"/anomalies/{getattr(world, anomaly).id}/{action}",
        {"reason_code": "false_positive", "comment": "forgé"},
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


def test_direction_cannot_revert_another_directions_correction(
    client, session, world, as_direction
):
    before = snapshot(session)
    response = client.post_form(
        f"/corrections/{world.contract_applied.id}/annuler", {"reason": "forgé"}
    )
    assert response.status_code == 404
    assert_unchanged(session, before)


def test_direction_cannot_read_or_correct_purchase_lines(client, session, world, as_direction):
    before = snapshot(session)
    assert client.get(f"/dossiers/purchase_line/{world.own_line.id}").status_code == 404
    assert client.get(f"/historique/purchase_line/{world.own_line.id}").status_code == 404
    response = client.post_form(
        f"/dossiers/purchase_line/{world.own_line.id}/corriger",
        {"field": "nomenclature_code", "value": world.code, "reason": "forgé"},
    )
    assert response.status_code == 404
    for url in ("/exports/achats.csv", "/exports/achats-ma-cantine.csv", "/articles", "/imports/"):
        assert client.get(url).status_code == 403, url
    for url in ("/articles/rattacher", "/articles/refuser"):
        response = client.post_form(url, {"group": world.other_group, "code": world.code})
        assert response.status_code == 403, url
    assert_unchanged(session, before)


def test_direction_export_queue_and_indicators_hold_only_its_direction(client, world, as_direction):
    response = client.get("/exports/marches-decp-v2.json")
    document = json.loads(response.get_data(as_text=True))
    # one contract considered (its own; the factory's is not schema-complete, so excluded)
    assert (
        len(document["marches"].get("marche", [])) + int(response.headers["X-Workbench-Excluded"])
        == 1
    )
    assert world.other_contract.contract_id not in json.dumps(document)
    for queue in ("contracts", "suppliers"):
        html = client.get(f"/files/{queue}").get_data(as_text=True)
        assert "Marché secret" not in html and "Fournisseur Voisin" not in html, queue
    assert client.get("/files/purchases").status_code == 403
