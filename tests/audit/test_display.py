"""The journal and the history tab speak French: action labels, record names, field labels,
values formatted like the record page, times in Europe/Paris — never a raw code or escaped JSON."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from workbench.audit.display import ACTION_LABELS, action_label, describe
from workbench.audit.models import AuditEntry
from workbench.audit.operations import record
from workbench.core.formatting import format_date, format_number, format_points, plural
from workbench.review import operations


def _entries(session, action):
    return session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


def test_every_action_code_written_by_the_code_has_a_french_label(app):
    import pathlib

    root = pathlib.Path(__file__).parents[2] / "workbench"
    written = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(
            re.findall(
                r'"((?:auth|user|correction|dismissal|match|matrix|import|export|rule|rules|demo|account_request|api|api_token|contract|direction|site|job|nomenclature|purchase_line)\.[a-z_]+)"',
                text,
            )
        )
    written |= {f"anomaly.{s}" for s in ("open", "claimed", "proposed", "resolved", "dismissed")}
    not_actions = set(app.view_functions) | {"rules.md"}  # endpoints and file names
    missing = sorted(c for c in written - not_actions if c not in ACTION_LABELS)
    assert not missing, missing


def test_an_unknown_action_is_shown_as_words_not_as_its_code():
    label = action_label("correction.something_new")
    assert label == "Corrections : something new"
    assert "." not in label and "_" not in label


def test_a_proposed_contract_correction_reads_in_french(session, make):
    direction = make.user(role="direction")
    contract = make.contract(object="Restauration scolaire — lot 2", duration_months=365)
    operations.propose_correction(
        session, direction, "contract", contract.id, "duration_months", "12", "SIRET vérifié"
    )
    shown = describe(_entries(session, "correction.proposed")[-1])
    assert shown.action == "Correction proposée"
    assert shown.target_kind == "Marché" and shown.target_name == "Restauration scolaire — lot 2"
    change = shown.changes[0]
    assert (change.label, change.old, change.new) == ("Durée (mois)", "365", "12")
    assert "Raison : SIRET vérifié" in shown.note  # not "SIRET v\u00e9rifi\u00e9"


def test_a_holder_identifier_has_a_french_label(session, make):
    from workbench.review.labels import field_label

    assert field_label("contract", "titulaires[0].id") == "Titulaire n° 1 (identifiant)"
    assert field_label("purchase_line", "reference") == "Référence article fournisseur"
    assert field_label("contract", "dureeMois") == "Durée (mois)"
    assert field_label("contract", "some_new_column") == "Some new column"


def test_user_and_anomaly_entries_show_labels_not_codes(session, make):
    admin = make.user(role="admin")
    shown = describe(_entries(session, "user.create")[-1])
    role = next(c for c in shown.changes if c.label == "Rôle")
    assert role.new == "Administration" and role.old is None
    assert admin.email in shown.target_name
    record(
        session,
        "anomaly.claimed",
        target_kind="anomaly",
        target_id=1,
        target_label="SIRET_INVALID",
        before={"status": "open"},
        after={"status": "claimed"},
    )
    shown = describe(_entries(session, "anomaly.claimed")[-1])
    assert shown.target_name != "SIRET_INVALID" and "SIRET" in shown.target_name
    assert (shown.changes[0].old, shown.changes[0].new) == ("Ouverte", "Prise en charge")


def test_history_page_shows_labels_names_and_paris_time(client, login_as, session, make):
    legal = login_as("legal")
    direction = make.user(role="direction")
    supplier = make.supplier(name="Laiterie d'Armor", direction_code="DLYC")
    correction = operations.propose_correction(
        session, direction, "supplier", supplier.id, "company_category", "PME", "Vérifié sur Sirene"
    )
    operations.decide(session, legal, correction, True, "Conforme")
    html = client.get(f"/historique/supplier/{supplier.id}").get_data(as_text=True)
    for expected in (
        "Correction proposée",
        "Correction validée",
        "Correction appliquée",
        "Catégorie d&#39;entreprise",
        "Laiterie d&#39;Armor",
        "heure de Paris",
    ):
        assert expected in html, expected
    for raw in ("correction.proposed</", "company_category<", "None", "\\u00e9", "UTC"):
        assert raw not in html, raw
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "Catégorie d&#39;entreprise : — → PME" in text


def test_journal_page_filters_by_action_family_with_french_options(client, login_as, session):
    login_as("legal")
    record(
        session, "export.downloaded", target_kind="export", target_id="achats", after={"rows": 3}
    )
    html = client.get("/journal?action=export.").get_data(as_text=True)
    assert "Export téléchargé" in html and '<option value="export." selected' in html
    assert "Connexion</td>" not in html


def test_csv_export_has_one_charset(client, login_as):
    login_as("legal")
    response = client.get("/journal/export.csv")
    assert response.headers["Content-Type"].count("charset") == 1


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (dt.datetime(2026, 7, 1, 10, 30, tzinfo=dt.UTC), "01/07/2026 12:30"),  # CEST
        (dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC), "01/12/2026 11:30"),  # CET
        (dt.datetime(2026, 12, 1, 23, 30), "02/12/2026 00:30"),  # naive = UTC
        (dt.date(2026, 2, 3), "03/02/2026"),
    ],
)
def test_dates_are_shown_in_paris_time(value, shown):
    assert format_date(value) == shown


def test_numbers_never_show_a_negative_zero_and_plurals_agree():
    assert format_number(-0.04, 1) == "0,0"
    assert format_points(-0.0004) == "0,0\u00a0pt"
    assert format_points(1.25) == "+1,2\u00a0pt"
    assert plural(2, "ouverte") == "2 ouvertes"
    assert plural(1, "ouverte") == "1 ouverte"
    assert plural(3, "prise en charge", "prises en charge") == "3 prises en charge"


def test_learned_aliases_read_as_words(session, make):
    from workbench.audit.operations import record

    record(
        session,
        "match.alias_learned",
        target_kind="match_alias",
        target_id=1,
        target_label="reference:55204599900869|Y125",
        after={"kind": "reference", "key": "55204599900869|Y125", "code": "N-1"},
    )
    shown = describe(_entries(session, "match.alias_learned")[-1])
    assert shown.action == "Rattachement mémorisé"
    assert shown.target_name == "Référence Y125 (SIRET 55204599900869)"
    kind = next(c for c in shown.changes if c.label == "Type")
    assert kind.new == "Référence fournisseur"


def test_values_are_shown_like_the_record_page():
    from workbench.review.labels import shown_value

    assert shown_value("purchase_line", "labels", "BIO,PECHE_DURABLE") == "Bio, Pêche durable"
    assert shown_value("purchase_line", "family", "AUTRES") == "Autres produits"
    assert shown_value("purchase_line", "origin", "HORS_UE") == "Hors UE"
    assert shown_value("purchase_line", "amount_ht", 7.5) == "7,50\u00a0€"
    assert shown_value("contract", "notification_date", "2026-02-03") == "03/02/2026"
    assert shown_value("supplier", "company_category", None) == "—"
