"""The JSON API: tokens, batches of purchases / matrix / contracts, journal, 401, scope."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.api.conftest import OTHER_UAI, SIRET, UAI, bearer, line
from workbench.api.models import ApiToken
from workbench.audit.models import AuditEntry
from workbench.imports.models import ImportBatch
from workbench.records.models import Contract, PurchaseLine
from workbench.reference.models import MatrixEntry
from workbench.rules.models import Anomaly

DECP = Path(__file__).resolve().parents[1] / "data" / "marches_avec_modifications.json"


def _actions(session, prefix: str) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.like(prefix + "%"))
            .order_by(AuditEntry.id)
        )
    )


def test_posted_purchase_lines_are_imported_with_provenance_and_their_anomalies_open(
    client, session, token
):
    secret = token(kinds=["purchases"])
    response = client.post(
        "/api/v1/purchases",
        json={"lines": [line(), line(reference_article="CR1", libelle="CREME 1L", prix_ht=3)]},
        headers=bearer(secret),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "applied" and body["inserted"] == 2 and body["report"] == []
    batch = session.get(ImportBatch, body["id"])
    assert batch.kind == "purchases" and batch.file_name.startswith("api systeme-1")
    lines = session.scalars(sa.select(PurchaseLine).order_by(PurchaseLine.source_row)).all()
    assert [pl.import_batch_id for pl in lines] == [batch.id, batch.id]
    assert [pl.source_row for pl in lines] == [2, 3]
    # the lines have no nomenclature code: the re-check of the import opened their anomalies
    opened = session.scalars(
        sa.select(Anomaly.rule_code).where(
            Anomaly.record_kind == "purchase_line",
            Anomaly.record_id.in_([pl.id for pl in lines]),
        )
    ).all()
    assert "ARTICLE_UNMAPPED" in opened
    assert body["anomalies"] == len(opened)
    assert _actions(session, "import.") == ["import.applied"]
    assert _actions(session, "api.") == ["api.call"]


def test_the_same_batch_posted_twice_is_imported_once(client, session, token):
    headers = bearer(token(kinds=["purchases"]))
    first = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=headers)
    again = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1


def test_a_batch_with_bad_lines_is_refused_with_a_report_by_line(client, session, token):
    headers = bearer(token(kinds=["purchases"]))
    response = client.post(
        "/api/v1/purchases",
        json={"lines": [line(), line(date="31/02/2026"), line(uai="0999999Z")]},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "rejected" and body["inserted"] == 0
    by_line = {(p["line"], p["column"]) for p in body["report"] if p["level"] == "error"}
    assert (2, "date") in by_line and (3, "uai") in by_line
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0
    # partial: the valid line goes in, the others are reported
    response = client.post(
        "/api/v1/purchases",
        json={"lines": [line(), line(date="31/02/2026")], "partial": True},
        headers=headers,
    )
    assert response.get_json()["status"] == "applied" and response.get_json()["rejected"] == 1
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1


def test_get_batch_returns_its_status_and_report_to_its_token_only(client, session, token):
    mine, other = bearer(token(kinds=["purchases"])), bearer(token(kinds=["purchases"]))
    posted = client.post(
        "/api/v1/purchases", json={"lines": [line(date="bad")]}, headers=mine
    ).get_json()
    response = client.get(f"/api/v1/batches/{posted['id']}", headers=mine)
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["report"][0]["line"] == 1
    assert client.get(f"/api/v1/batches/{posted['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/batches/999999", headers=mine).status_code == 404


def test_a_wrong_missing_or_revoked_token_gets_401_and_is_journaled(app, client, session, token):
    secret = token(kinds=["purchases"], name="logiciel-cantine")
    for headers in ({}, bearer("wb_faux"), {"Authorization": "Basic abc"}):
        response = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.is_json and "Jeton" in response.get_json()["message"]
    result = app.test_cli_runner().invoke(args=["tokens", "revoke", "logiciel-cantine"])
    assert result.exit_code == 0, result.output
    response = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=bearer(secret))
    assert response.status_code == 401 and "révoqué" in response.get_json()["message"]
    refused = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "api.refused").order_by(AuditEntry.id)
    ).all()
    assert [e.after["reason"] for e in refused] == ["missing", "unknown", "missing", "revoked"]
    assert refused[-1].target_label == "logiciel-cantine"
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0


def test_a_token_is_limited_to_its_kinds_and_lycees(client, session, token):
    headers = bearer(token(kinds=["purchases"], sites=[UAI]))
    response = client.post("/api/v1/matrix", json={"lines": [{}]}, headers=headers)
    assert response.status_code in (403, 422)
    response = client.post(
        "/api/v1/matrix",
        json={"lines": [{"siret_fournisseur": SIRET, "reference_article": "A", "libelle": "A"}]},
        headers=headers,
    )
    assert response.status_code == 403 and "matrix" in response.get_json()["message"]
    response = client.post(
        "/api/v1/purchases", json={"lines": [line(uai=OTHER_UAI)]}, headers=headers
    )
    body = response.get_json()
    assert body["status"] == "rejected"
    assert "ne pouvez pas importer" in body["report"][0]["message"]
    ok = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=headers)
    assert ok.get_json()["status"] == "applied"
    assert _actions(session, "api.call") == ["api.call"] * 4


def test_malformed_bodies_get_422_without_touching_anything(client, session, token):
    headers = bearer(token())
    for body in (
        {},
        {"lines": []},
        {"lines": [{"colonne_inconnue": "x"}]},
        {"lines": [line(quantite="douze")]},
        {"lines": [line(libelle=12)]},
        {"lines": "pas une liste"},
    ):
        response = client.post("/api/v1/purchases", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.is_json
    assert client.post("/api/v1/contracts", json={"x": 1}, headers=headers).status_code == 422
    assert session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0


def test_matrix_entries_and_decp_contracts_are_posted_the_same_way(client, session, token):
    headers = bearer(token(kinds=["matrix", "contracts"]))
    response = client.post(
        "/api/v1/matrix",
        json={
            "lines": [
                {
                    "siret_fournisseur": SIRET,
                    "reference_article": "YA125",
                    "libelle": "YAOURT NAT BIO 125G",
                    "categories_egalim": "BIO",
                    "prix_unitaire_ht": 0.45,
                    "debut_validite": "2026-01-01",
                }
            ]
        },
        headers=headers,
    )
    assert response.status_code == 201 and response.get_json()["status"] == "applied"
    assert session.scalar(sa.select(MatrixEntry.unit_price)) == 0.45
    document = json.loads(DECP.read_text(encoding="utf-8"))
    response = client.post("/api/v1/contracts", json=document, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "applied"
    assert session.scalar(sa.select(sa.func.count(Contract.id))) >= 1
    marches = document["marches"]
    items = marches["marche"] if isinstance(marches, dict) else marches
    again = client.post("/api/v1/contracts", json={"marches": marches}, headers=headers)
    assert again.get_json()["status"] == "duplicate"
    assert isinstance(items, list)


def test_tokens_cli_prints_the_token_last_and_stores_only_its_hash(app, session, reference):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["tokens", "create", "gestion-achats", "--kinds", "purchases,matrix", "--site", UAI]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("wb_") and len(secret) > 40
    stored = session.scalar(sa.select(ApiToken).where(ApiToken.name == "gestion-achats"))
    assert stored.kind_list == ["purchases", "matrix"] and stored.site_uais == [UAI]
    assert secret not in repr(session.execute(sa.select(ApiToken.__table__)).all()), (
        "the secret is not stored"
    )
    import hashlib

    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    listing = runner.invoke(args=["tokens", "list"]).output
    assert "gestion-achats" in listing and secret not in listing and "actif" in listing
    bad = runner.invoke(args=["tokens", "create", "x", "--kinds", "purchases,sites"])
    assert bad.exit_code != 0 and "sites" in bad.output
    assert runner.invoke(args=["tokens", "revoke", "gestion-achats"]).exit_code == 0
    assert "révoqué" in runner.invoke(args=["tokens", "list"]).output
    assert _actions(session, "api_token.") == ["api_token.create", "api_token.revoke"]


def test_the_api_needs_no_csrf_token_and_never_redirects_to_the_login_page(app, client, token):
    assert app.config.get("WTF_CSRF_ENABLED", True) is not False
    response = client.post("/api/v1/purchases", json={"lines": [line()]})
    assert response.status_code == 401 and "Location" not in response.headers
    response = client.post("/api/v1/purchases", json={"lines": [line()]}, headers=bearer(token()))
    assert response.status_code == 201


def test_the_openapi_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/purchases", "/api/v1/contracts", "/api/v1/matrix"} <= set(spec["paths"])
    assert "/api/v1/batches/{batch_id}" in spec["paths"]
    line_schema = spec["components"]["schemas"]["LigneAchat"]
    assert {"uai", "date", "libelle", "prix_ht"} <= set(line_schema["properties"])
    assert spec["components"]["securitySchemes"]["jeton"]["scheme"] == "bearer"


def test_other_pages_keep_their_french_error_pages(client, login_as):
    login_as("canteen")
    response = client.get("/admin/utilisateurs")
    assert response.status_code == 403 and "<html" in response.get_data(as_text=True).lower()
