"""Contracts as DECP v2 JSON (pure): the record as received, with corrections applied on top.

A record that still fails the official JSON Schema is left out of the file and listed in the
report, so the published file always validates.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator

from workbench import PACKAGE_DIR

SCHEMA_PATH = PACKAGE_DIR / "imports" / "schemas" / "decp_v2.0.3.json"


@functools.cache
def validator() -> Draft7Validator:
    return Draft7Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _wrapped(items: list[str] | None, inner: str) -> dict[str, list[str]] | None:
    return {inner: list(items)} if items else None


def _holder_list(holders: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [
        {key: {"typeIdentifiant": h.get("id_type") or "SIRET", "id": h.get("identifier") or ""}}
        for h in holders
    ]


def contract_record(contract: dict[str, Any], holders: list[dict[str, Any]]) -> dict[str, Any]:
    """The DECP v2 ``marche`` (or ``contrat-concession``) dict for one contract row.

    ``contract`` holds the columns of :class:`~workbench.records.models.Contract` (current,
    corrected values) and ``raw``; ``holders`` the holder rows (role, position, id_type, identifier).
    """
    raw = contract.get("raw") if contract.get("source_format") == "decp_v2" else None
    record: dict[str, Any] = copy.deepcopy(raw) if isinstance(raw, dict) else {}
    titular = sorted((h for h in holders if h["role"] == "holder"), key=lambda h: h["position"])
    if contract.get("kind") == "concession":
        values = {
            "id": contract["contract_id"],
            "autoriteConcedante": {"id": contract["buyer_id"]},
            "nature": contract.get("nature"),
            "objet": contract.get("object"),
            "procedure": contract.get("procedure"),
            "dureeMois": contract.get("duration_months"),
            "dateSignature": _iso(contract.get("signature_date")),
            "dateDebutExecution": _iso(contract.get("start_date")),
            "datePublicationDonnees": _iso(contract.get("publication_date")),
            "valeurGlobale": contract.get("amount"),
            "montantSubventionPublique": contract.get("public_subsidy"),
            "concessionnaires": _holder_list(titular, "concessionnaire") or None,
            "considerationsSociales": _wrapped(
                contract.get("social_considerations"), "considerationSociale"
            ),
            "considerationsEnvironnementales": _wrapped(
                contract.get("environmental_considerations"), "considerationEnvironnementale"
            ),
        }
    else:
        values = {
            "id": contract["contract_id"],
            "acheteur": {"id": contract["buyer_id"]},
            "nature": contract.get("nature"),
            "objet": contract.get("object"),
            "codeCPV": contract.get("cpv_code"),
            "techniques": _wrapped(contract.get("techniques"), "technique"),
            "modalitesExecution": _wrapped(contract.get("execution_modes"), "modaliteExecution"),
            "marcheInnovant": contract.get("is_innovative"),
            "ccag": contract.get("ccag"),
            "offresRecues": contract.get("offers_received"),
            "attributionAvance": contract.get("has_advance"),
            "tauxAvance": contract.get("advance_rate"),
            "typeGroupementOperateurs": contract.get("grouping_type"),
            "idAccordCadre": contract.get("framework_id"),
            "procedure": contract.get("procedure"),
            "lieuExecution": (
                {"code": contract["place_code"], "typeCode": contract.get("place_type")}
                if contract.get("place_code")
                else None
            ),
            "dureeMois": contract.get("duration_months"),
            "dateNotification": _iso(contract.get("notification_date")),
            "datePublicationDonnees": _iso(contract.get("publication_date")),
            "montant": contract.get("amount"),
            "typesPrix": _wrapped(contract.get("price_types"), "typePrix"),
            "formePrix": contract.get("price_form"),
            "sousTraitanceDeclaree": contract.get("subcontracting_declared"),
            "origineUE": contract.get("origin_eu"),
            "origineFrance": contract.get("origin_france"),
            "titulaires": _holder_list(titular, "titulaire") or None,
            "considerationsSociales": _wrapped(
                contract.get("social_considerations"), "considerationSociale"
            ),
            "considerationsEnvironnementales": _wrapped(
                contract.get("environmental_considerations"), "considerationEnvironnementale"
            ),
        }
    for key, value in values.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def record_errors(record: dict[str, Any], kind: str) -> list[str]:
    """The schema errors of one record, in French where the schema's wording is generic."""
    key = "contrat-concession" if kind == "concession" else "marche"
    document = {"marches": {key: [record]}}
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    messages = []
    for error in errors:
        path = "/".join(str(p) for p in list(error.absolute_path)[3:]) or "(enregistrement)"
        if error.validator == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else error.message
            messages.append(f"champ obligatoire absent : {missing}")
        else:
            messages.append(f"{path} : {error.message}")
    return messages


#: Reasons a record is withheld from the DECP v2 file.
REASON_BLOCKING = "anomalie bloquante ouverte"
REASON_SCHEMA = "non conforme au schéma DECP v2"
REASON_V15 = "DECP 1.5 non convertible en v2"
WITHHELD_COLUMNS = ("acheteur", "id", "type", "format_source", "motif", "details")


@dataclass
class DecpExport:
    document: dict[str, Any]
    exported: int = 0
    withheld: list[dict[str, Any]] = field(default_factory=list)

    @property
    def excluded(self) -> list[dict[str, Any]]:  # the former name
        return self.withheld

    @property
    def total(self) -> int:
        return self.exported + len(self.withheld)


def build_export(
    contracts: list[dict[str, Any]],
    holders_by_contract: dict[int, list[dict[str, Any]]],
    blocking: dict[int, list[str]] | None = None,
    include_blocked: bool = False,
) -> DecpExport:
    """The DECP v2 document of every publishable contract; every other one is withheld with why.

    A contract is withheld when it is under an open blocking anomaly (unless
    ``include_blocked``), or when its record does not validate against the official schema
    (a DECP 1.5 record lacks fields that v2 requires: those are named).
    """
    blocking = blocking or {}
    marches: list[dict[str, Any]] = []
    concessions: list[dict[str, Any]] = []
    withheld = []
    for contract in contracts:
        kind = contract.get("kind") or "marche"
        entry = {
            "id": contract["contract_id"],
            "buyer_id": contract["buyer_id"],
            "kind": kind,
            "source_format": contract.get("source_format") or "",
        }
        rules = blocking.get(contract["id"])
        if rules and not include_blocked:
            withheld.append({**entry, "reason": REASON_BLOCKING, "errors": sorted(set(rules))})
            continue
        record = contract_record(contract, holders_by_contract.get(contract["id"], []))
        errors = record_errors(record, kind)
        if errors:
            reason = REASON_V15 if contract.get("source_format") == "decp_1.5" else REASON_SCHEMA
            withheld.append({**entry, "reason": reason, "errors": errors})
            continue
        (concessions if kind == "concession" else marches).append(record)
    body: dict[str, Any] = {}
    if marches or not concessions:  # an empty file is {"marches": {"marche": []}} (valid)
        body["marche"] = marches
    if concessions:
        body["contrat-concession"] = concessions
    return DecpExport(
        {"marches": body}, exported=len(marches) + len(concessions), withheld=withheld
    )


def withheld_rows(export: DecpExport) -> list[list[Any]]:
    """Rows of ``FILE.withheld.csv`` (columns :data:`WITHHELD_COLUMNS`)."""
    return [
        [
            w["buyer_id"],
            w["id"],
            "concession" if w["kind"] == "concession" else "marché",
            w["source_format"],
            w["reason"],
            " ; ".join(w["errors"]),
        ]
        for w in export.withheld
    ]
