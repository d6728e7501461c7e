"""A DECP v2 record mapped to the ``contracts`` columns and to its holder and modification rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.imports.decp import schema_errors
from workbench.records.models import current_state


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def contract_columns(record: dict[str, Any], kind: str = "marche") -> dict[str, Any]:
    """The ``contracts`` columns of a DECP v2 record (``raw`` is the record itself)."""
    columns = _contract_columns(record, kind)
    columns["current_amount"], columns["current_duration_months"] = current_state(
        columns.get("amount"), columns.get("duration_months"), modification_rows(record, kind)
    )
    return columns


def _contract_columns(record: dict[str, Any], kind: str) -> dict[str, Any]:
    social = record.get("considerationsSociales", {}).get("considerationSociale")
    environmental = record.get("considerationsEnvironnementales", {}).get(
        "considerationEnvironnementale"
    )
    common = {
        "kind": kind,
        "contract_id": record.get("id"),
        "nature": record.get("nature"),
        "object": record.get("objet"),
        "procedure": record.get("procedure"),
        "duration_months": record.get("dureeMois"),
        "publication_date": _date(record.get("datePublicationDonnees")),
        "social_considerations": social,
        "environmental_considerations": environmental,
        "source_format": "decp_v2",
        "raw": record,
        # the same validation as an imported file: the DECP_SCHEMA_ERROR rule reads it
        "schema_errors": schema_errors(record, "decp_v2", kind) or None,
    }
    if kind == "concession":
        return {
            **common,
            "buyer_id": record.get("autoriteConcedante", {}).get("id"),
            "signature_date": _date(record.get("dateSignature")),
            "start_date": _date(record.get("dateDebutExecution")),
            "amount": record.get("valeurGlobale"),
            "public_subsidy": record.get("montantSubventionPublique"),
        }
    place = record.get("lieuExecution", {})
    return {
        **common,
        "buyer_id": record.get("acheteur", {}).get("id"),
        "cpv_code": record.get("codeCPV"),
        "techniques": record.get("techniques", {}).get("technique"),
        "execution_modes": record.get("modalitesExecution", {}).get("modaliteExecution"),
        "is_innovative": record.get("marcheInnovant"),
        "ccag": record.get("ccag"),
        "offers_received": record.get("offresRecues"),
        "has_advance": record.get("attributionAvance"),
        "advance_rate": record.get("tauxAvance"),
        "grouping_type": record.get("typeGroupementOperateurs"),
        "framework_id": record.get("idAccordCadre"),
        "place_code": place.get("code"),
        "place_type": place.get("typeCode"),
        "notification_date": _date(record.get("dateNotification")),
        "amount": record.get("montant"),
        "price_form": record.get("formePrix"),
        "price_types": record.get("typesPrix", {}).get("typePrix"),
        "subcontracting_declared": record.get("sousTraitanceDeclaree"),
        "origin_eu": record.get("origineUE"),
        "origin_france": record.get("origineFrance"),
    }


def holder_rows(
    record: dict[str, Any], kind: str = "marche", names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """ContractHolder rows (holders, then subcontractors) of a DECP v2 record."""
    names = names or {}
    wrapped = record.get("concessionnaires" if kind == "concession" else "titulaires", [])
    inner = "concessionnaire" if kind == "concession" else "titulaire"
    rows = [
        {
            "role": "holder",
            "position": i,
            "id_type": h[inner].get("typeIdentifiant"),
            "identifier": h[inner].get("id"),
            "name": names.get(h[inner].get("id")),
            "amount": None,
            "details": None,
        }
        for i, h in enumerate(wrapped)
    ]
    for i, act in enumerate(record.get("actesSousTraitance", [])):
        acte = act["acteSousTraitance"]
        sub = acte.get("sousTraitant", {})
        rows.append(
            {
                "role": "subcontractor",
                "position": i,
                "id_type": sub.get("typeIdentifiant"),
                "identifier": sub.get("id"),
                "name": names.get(sub.get("id")),
                "amount": acte.get("montant"),
                "details": {k: v for k, v in acte.items() if k not in ("sousTraitant", "montant")},
            }
        )
    return rows


def modification_rows(record: dict[str, Any], kind: str = "marche") -> list[dict[str, Any]]:
    """ContractModification rows of a DECP v2 record."""
    rows = []
    for wrapped in record.get("modifications", []):
        m = wrapped["modification"]
        rows.append(
            {
                "position": m.get("id"),
                "object": None,
                "duration_months": m.get("dureeMois"),
                "amount": m.get("valeurGlobale" if kind == "concession" else "montant"),
                "notification_date": _date(
                    m.get(
                        "dateSignatureModification"
                        if kind == "concession"
                        else "dateNotificationModification"
                    )
                ),
                "publication_date": _date(m.get("datePublicationDonneesModification")),
                "holders": m.get("titulaires"),
            }
        )
    return rows
