"""Open-data exports: DECP v2 that validates, corrected purchase CSVs, formulas neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from pathlib import Path

from workbench.exports import decp
from workbench.review import operations

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "marches_avec_modifications.json"

COMPLETE = {
    "nature": "Marché",
    "object": "Fourniture de denrées pour les lycées",
    "cpv_code": "15000000-8",
    "procedure": "Appel d'offres ouvert",
    "techniques": ["Sans objet"],
    "execution_modes": ["Sans objet"],
    "is_innovative": False,
    "ccag": "Fournitures courantes et services",
    "offers_received": 3,
    "has_advance": False,
    "grouping_type": "Pas de groupement",
    "place_code": "35238",
    "place_type": "Code commune",
    "price_types": ["Définitif ferme"],
    "price_form": "Unitaire",
    "subcontracting_declared": False,
    "social_considerations": ["Clause sociale"],
    "environmental_considerations": ["Pas de considération environnementale"],
    "source_format": "decp_csv",
}


def _download_json(client, url):
    return json.loads(client.get(url).get_data(as_text=True))


def test_contracts_export_validates_and_excludes_what_cannot(client, login_as, make):
    login_as("admin")
    good = make.contract(contract_id="2025-OK", **COMPLETE)
    make.contract(contract_id="2025-KO", nature=None, source_format="decp_csv")
    response = client.get("/exports/marches-decp-v2.json")
    document = json.loads(response.get_data(as_text=True))
    assert [m["id"] for m in document["marches"]["marche"]] == [good.contract_id]
    assert response.headers["X-Workbench-Excluded"] == "1"
    assert not list(decp.validator().iter_errors(document))


def test_a_v2_record_is_exported_faithfully_with_its_correction(client, login_as, make, session):
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))["marches"]["marche"][0]
    contract = make.contract(
        contract_id=raw["id"],
        buyer_id=raw["acheteur"]["id"],
        **{**COMPLETE, "source_format": "decp_v2"},
        raw=raw,
        amount=raw["montant"],
        notification_date=dt.date(2024, 5, 15),
    )
    admin = login_as("admin")
    operations.propose_correction(
        session, admin, "contract", contract.id, "amount", "575 500,00", "erreur de saisie"
    )
    legal = make.user(role="legal")
    from workbench.review.models import Correction

    correction = session.query(Correction).filter_by(record_id=contract.id).one()
    operations.decide(session, legal, correction, True, "ok")
    # The official example's buyer SIRET fails its checksum: withheld while the anomaly is open
    html = client.get("/exports").get_data(as_text=True)
    assert 'data-withheld="TEST2022"' in html and "CONTRACT_SIRET_INVALID" in html
    from workbench.rules.models import Anomaly

    blocking = session.query(Anomaly).filter_by(rule_code="CONTRACT_SIRET_INVALID").one()
    blocking.status, blocking.dismiss_reason = "dismissed", "accepted_exception"
    session.flush()
    document = _download_json(client, "/exports/marches-decp-v2.json")
    exported = document["marches"]["marche"][0]
    assert exported["montant"] == 575500.0
    assert exported["modifications"] == raw["modifications"]  # kept from the source record
    assert not list(decp.validator().iter_errors(document))


def test_purchase_csv_is_scoped_and_neutralises_formulas(client, login_as, make):
    own, other = make.site(siret="19350029700014"), make.site()
    login_as("canteen", sites=[own])
    make.purchase_line(own, label='=HYPERLINK("x")', labels="BIO,FRANCE", family="AUTRES")
    make.purchase_line(other, label="AUTRE LYCEE")
    text = client.get("/exports/achats.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 and rows[0]["libelle"].startswith("'=")
    text = client.get("/exports/achats-ma-cantine.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["siret"] == "19350029700014"
    assert rows[0]["categories_egalim"] == "BIO" and rows[0]["origine"] == "FRANCE"


def test_direction_user_cannot_download_purchases(client, login_as):
    login_as("direction")
    assert client.get("/exports/achats.csv").status_code == 403
    assert client.get("/exports").status_code == 200


def test_a_purchase_export_refuses_a_bad_year_or_an_unknown_lycee(client, login_as, make, session):
    """A filter that cannot be honoured is refused in French, journals nothing and never falls
    back to « everything in scope »."""
    from sqlalchemy import func, select

    from workbench.audit.models import AuditEntry

    own, other = make.site(), make.site()
    make.purchase_line(own, label="LAIT 2026", line_date=dt.date(2026, 3, 2))
    make.purchase_line(own, label="LAIT 2025", line_date=dt.date(2025, 3, 2))
    make.purchase_line(other, label="AUTRE LYCEE", line_date=dt.date(2026, 3, 2))
    login_as("canteen", sites=[own])
    journal = session.scalar(select(func.count()).select_from(AuditEntry))
    for route in ("/exports/achats.csv", "/exports/achats-ma-cantine.csv"):
        for query, status, words in (
            ("annee=abc", 400, "L'année « abc » n'est pas valide"),
            ("annee=20266", 400, "n'est pas valide"),
            ("annee=２０２６", 400, "n'est pas valide"),
            ("site=ZZZ999", 404, "Le lycée « ZZZ999 » n'existe pas"),
            (f"site={other.uai}", 404, "vous n'y avez pas accès"),
        ):
            response = client.get(f"{route}?{query}")
            body = html.unescape(response.get_data(as_text=True))
            assert response.status_code == status, (route, query)
            assert words in body and "Aucun fichier n'a été exporté" in body, (route, query)
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == journal

    text = client.get(f"/exports/achats.csv?annee=2026&site={own.uai.lower()}").get_data(
        as_text=True
    )
    assert [r["libelle"] for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))] == [
        "LAIT 2026"
    ]
    assert client.post_form("/deconnexion").status_code == 302
    login_as("admin")
    text = client.get(f"/exports/achats.csv?site={other.uai}").get_data(as_text=True)
    assert [r["libelle"] for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))] == [
        "AUTRE LYCEE"
    ]
