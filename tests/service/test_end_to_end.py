"""The issue's "done when" path, on a fresh database without the demo, through the CLI and HTTP."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import upgrade

from workbench import create_app
from workbench.extensions import db

SIRET = "55204599900869"


def test_a_fresh_instance_is_set_up_fed_by_the_api_and_the_drop_folder(tmp_path):
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'neuve.sqlite3'}"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    cli = app.test_cli_runner()

    def run(*args: str, input: str | None = None) -> str:
        result = cli.invoke(args=list(args), input=input)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    # 1. directions, sites and a direction account, from the command line
    run("init", "admin@region.example", "--password", "motdepasse-admin")
    (tmp_path / "directions.csv").write_text("code;nom\nDLYC;Direction des lycées\n")
    (tmp_path / "sites.csv").write_text("uai;nom;direction\n0350001A;Lycée Chateaubriand;DLYC\n")
    (tmp_path / "fournisseurs.csv").write_text(f"siret;raison_sociale\n{SIRET};Laiterie\n")
    run("import", "directions", str(tmp_path / "directions.csv"))
    run("import", "sites", str(tmp_path / "sites.csv"))
    run("import", "suppliers", str(tmp_path / "fournisseurs.csv"))
    run(
        "users", "create", "direction@region.example", "--role", "direction",
        "--direction", "DLYC", "--password", "motdepasse-direction",
    )  # fmt: skip
    (tmp_path / "comptes.csv").write_text(
        "email;role;lycees\ncantine@region.example;canteen;0350001A\n"
    )
    accounts = run("import", "users", str(tmp_path / "comptes.csv"))
    canteen_password = accounts.strip().splitlines()[-1].split("\t")[1]

    # 2. a token
    token = run("tokens", "create", "logiciel-achats", "--kinds", "purchases").strip()
    token = token.splitlines()[-1]

    # 3. purchase lines posted to /api/v1/purchases
    client = app.test_client()
    line = {
        "uai": "0350001A",
        "date": "2026-03-02",
        "siret_fournisseur": SIRET,
        "fournisseur": "Laiterie",
        "reference_article": "YA125",
        "libelle": "YAOURT NATURE 125G",
        "quantite": 48,
        "unite": "pièce",
        "prix_ht": 21.6,
    }
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/purchases", json={"lines": [line]}, headers=headers)
    assert response.status_code == 201, response.get_json()
    batch = response.get_json()
    assert batch["status"] == "applied" and batch["inserted"] == 1

    # 4. their anomalies appear (in the canteen's queue of articles to map)
    assert batch["anomalies"] >= 1
    status = client.get(f"/api/v1/batches/{batch['id']}", headers=headers).get_json()
    assert status["status"] == "applied" and status["anomalies"] == batch["anomalies"]
    with app.app_context():
        from workbench.rules.models import Anomaly

        rules = set(db.session.scalars(sa.select(Anomaly.rule_code)))
        db.session.remove()
    assert "ARTICLE_UNMAPPED" in rules
    browser = app.test_client()
    login = browser.get("/connexion").get_data(as_text=True)
    csrf = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    browser.post(
        "/connexion",
        data={"email": "cantine@region.example", "password": canteen_password, "csrf_token": csrf},
    )
    assert "YAOURT NATURE 125G" in browser.get("/articles").get_data(as_text=True)

    # 5. a wrong or revoked token gets 401
    wrong = {"Authorization": "Bearer wb_pas-le-bon"}
    assert (
        client.post("/api/v1/purchases", json={"lines": [line]}, headers=wrong).status_code == 401
    )
    run("tokens", "revoke", "logiciel-achats")
    assert (
        client.post("/api/v1/purchases", json={"lines": [line]}, headers=headers).status_code == 401
    )

    # 6. the OpenAPI document is served
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/purchases" in spec["paths"]

    # 7. workbench collect DIR imports a dropped file and moves it to done/
    drop = tmp_path / "depot" / "purchases"
    drop.mkdir(parents=True)
    (drop / "achats-mars.csv").write_text(
        "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht\n"
        f"0350001A;03/03/2026;{SIRET};Laiterie;CR1;CREME 1L;2;l;3,10\n"
    )
    output = run("collect", str(tmp_path / "depot"))
    assert "purchases/achats-mars.csv : applied" in output
    assert (drop / "done" / "achats-mars.csv").exists()
    report = json.loads((drop / "done" / "achats-mars.csv.report.json").read_text())
    assert report["inserted"] == 1
    with app.app_context():
        db.engine.dispose()
