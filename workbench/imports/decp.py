"""Contract records from DECP files: v2 JSON, 1.5 JSON and the flat DECP CSV. Pure Python.

Each record becomes a plain dict with the :class:`~workbench.records.models.Contract` fields, its
``holders`` (holders and subcontractors) and ``modifications``. JSON-Schema errors do not block
the import: they are kept in ``schema_errors`` (``[{"path": ..., "message": ...}]``) for the
rules. Only unreadable data (no identifier, no buyer, unparsable dates or numbers) is an import
error, reported with the record's position as its row.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.imports.parsing import ROW, Report, normalise_header, read_json

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
FORMATS = ("decp_v2", "decp_1.5", "decp_csv")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+)?(?:Z|[+-]\d{2}:?\d{2})?$")

CONTRACT_FIELDS = (
    "kind",
    "contract_id",
    "buyer_id",
    "buyer_name",
    "nature",
    "object",
    "cpv_code",
    "procedure",
    "techniques",
    "execution_modes",
    "is_innovative",
    "ccag",
    "offers_received",
    "has_advance",
    "advance_rate",
    "grouping_type",
    "framework_id",
    "place_code",
    "place_type",
    "place_name",
    "duration_months",
    "notification_date",
    "publication_date",
    "signature_date",
    "start_date",
    "amount",
    "public_subsidy",
    "price_form",
    "price_types",
    "subcontracting_declared",
    "origin_eu",
    "origin_france",
    "social_considerations",
    "environmental_considerations",
    "source_format",
    "raw",
    "schema_errors",
)


# -- schema validation --------------------------------------------------------------------------
@functools.cache
def _validators() -> dict[tuple[str, str], Any]:
    from jsonschema import Draft4Validator, Draft7Validator

    result = {}
    v2 = json.loads((SCHEMA_DIR / "decp_v2.0.3.json").read_text(encoding="utf-8"))
    v15 = json.loads((SCHEMA_DIR / "decp_v1.5.json").read_text(encoding="utf-8"))
    for kind, definition in (("marche", "marche"), ("concession", "contrat-concession")):
        result[("decp_v2", kind)] = Draft7Validator({**v2, "$ref": f"#/definitions/{definition}"})
        sub = {k: v for k, v in v15.items() if k not in ("properties", "type")}
        result[("decp_1.5", kind)] = Draft4Validator({**sub, "$ref": f"#/definitions/{definition}"})
    return result


def _french(error: Any) -> str:
    validator = error.validator
    value = error.instance
    shown = json.dumps(value, ensure_ascii=False)[:80]
    if validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return "Champ obligatoire manquant : " + (", ".join(missing) or error.message) + "."
    if validator == "enum":
        return f"Valeur {shown} hors de la liste autorisée."
    if validator == "type":
        return f"Type incorrect pour {shown} (attendu : {error.validator_value})."
    if validator == "pattern":
        return f"Valeur {shown} au format incorrect (motif {error.validator_value})."
    if validator in ("minimum", "exclusiveMinimum"):
        return f"Valeur {shown} inférieure au minimum autorisé ({error.validator_value})."
    if validator in ("maximum", "exclusiveMaximum"):
        return f"Valeur {shown} supérieure au maximum autorisé ({error.validator_value})."
    if validator in ("maxLength", "minLength"):
        bound = "maximale" if validator == "maxLength" else "minimale"
        return f"Longueur {bound} ({error.validator_value}) non respectée."
    if validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        return "Champ(s) non prévu(s) par le schéma : " + ", ".join(extra) + "."
    return f"Non conforme au schéma ({validator}) : {error.message}"


def schema_errors(record: dict[str, Any], source_format: str, kind: str) -> list[dict[str, str]]:
    validator = _validators().get((source_format, kind))
    if validator is None:
        return []
    errors = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path)
        errors.append({"path": path, "message": _french(error)})
    return errors


# -- value readers ------------------------------------------------------------------------------
class _Reader:
    """Reads typed values from one record, collecting unreadable ones as report errors."""

    def __init__(self, report: Report, row: int) -> None:
        self.report = report
        self.row = row

    def date(self, value: Any, path: str) -> dt.date | None:
        if value in (None, ""):
            return None
        match = _DATE.match(str(value).strip())
        if match:
            try:
                return dt.date.fromisoformat(match.group(1))
            except ValueError:
                pass
        try:
            return dt.datetime.strptime(str(value).strip(), "%d/%m/%Y").date()
        except ValueError:
            self.report.error(
                self.row, path, value, "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa)."
            )
            return None

    def number(self, value: Any, path: str, integer: bool = False) -> float | int | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            self.report.error(self.row, path, value, "Nombre attendu.")
            return None
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = re.sub(r"[\s\u00a0\u202f]", "", str(value)).replace(",", ".")
            try:
                number = float(text)
            except ValueError:
                self.report.error(self.row, path, value, "Nombre illisible.")
                return None
        if not math.isfinite(number):
            self.report.error(self.row, path, value, "Nombre illisible.")
            return None
        if integer:
            if not number.is_integer():
                self.report.error(self.row, path, value, "Nombre entier attendu.")
                return None
            return int(number)
        return number

    def boolean(self, value: Any, path: str) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "oui", "1", "o", "vrai"):
            return True
        if text in ("false", "non", "0", "n", "faux"):
            return False
        self.report.error(self.row, path, value, "Valeur oui/non illisible.")
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unwrap_list(value: Any, inner: str) -> list[Any]:
    """``{"considerationSociale": [...]}`` or ``[...]`` or ``[{"titulaire": {...}}]`` → list."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get(inner, [])
    if not isinstance(value, list):
        value = [value]
    return [
        item[inner] if isinstance(item, dict) and set(item) == {inner} else item for item in value
    ]


def _holder(item: Any, role: str, position: int, reader: _Reader, path: str) -> dict[str, Any]:
    item = item if isinstance(item, dict) else {"id": item}
    return {
        "role": role,
        "position": position,
        "id_type": _text(item.get("typeIdentifiant")),
        "identifier": _text(item.get("id")),
        "name": _text(item.get("denominationSociale")),
        "amount": None,
        "details": None,
    }


# -- JSON ---------------------------------------------------------------------------------------
def detect_json_format(document: Any) -> str | None:
    if not isinstance(document, dict) or "marches" not in document:
        return None
    marches = document["marches"]
    if isinstance(marches, list):
        return "decp_1.5"
    if isinstance(marches, dict):
        return "decp_v2"
    return None


def read_json_contracts(
    path: str | Path, report: Report, source_format: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Contract dicts of a DECP JSON file (v2 or 1.5, detected unless given)."""
    try:
        document = read_json(path)  # depth, NUL and encoding checked; French errors
    except UnicodeDecodeError:
        try:
            with open(path, encoding="cp1252") as handle:
                document = json.load(handle)
        except (ValueError, UnicodeDecodeError) as error:
            report.file_error(f"Le fichier JSON est illisible : {error}")
            return [], source_format
    except ValueError as error:
        report.file_error(f"Le fichier JSON est illisible : {error}")
        return [], source_format
    detected = detect_json_format(document)
    if detected is None:
        report.file_error(
            "Ce fichier JSON n'est pas au format DECP : objet « marches » introuvable "
            '(attendu {"marches": {"marche": [...]}} en v2 ou {"marches": [...]} en 1.5).'
        )
        return [], source_format
    fmt = source_format or detected
    marches = document["marches"]
    items: list[tuple[str, Any]] = []
    if isinstance(marches, dict):
        items += [("marche", m) for m in marches.get("marche") or []]
        items += [("concession", c) for c in marches.get("contrat-concession") or []]
    else:
        for item in marches:
            is_concession = isinstance(item, dict) and (
                "autoriteConcedante" in item
                or str(item.get("_type", "")).lower().startswith("contrat de concession")
            )
            items.append(("concession" if is_concession else "marche", item))
    records = []
    for position, (kind, item) in enumerate(items, start=1):
        if not isinstance(item, dict):
            report.error(position, "marches", None, "Enregistrement non structuré (objet attendu).")
            continue
        records.append(_from_json(item, kind, fmt, position, report))
    return records, fmt


def _from_json(
    item: dict[str, Any], kind: str, fmt: str, position: int, report: Report
) -> dict[str, Any]:
    r = _Reader(report, position)
    buyer = item.get("acheteur" if kind == "marche" else "autoriteConcedante") or {}
    if not isinstance(buyer, dict):
        buyer = {"id": buyer}
    place = item.get("lieuExecution") or {}
    record: dict[str, Any] = {
        "kind": kind,
        "contract_id": _text(item.get("id")),
        "buyer_id": _text(buyer.get("id")),
        "buyer_name": _text(buyer.get("nom")),
        "nature": _text(item.get("nature")),
        "object": _text(item.get("objet")),
        "cpv_code": _text(item.get("codeCPV")),
        "procedure": _text(item.get("procedure")),
        "techniques": _unwrap_list(item.get("techniques"), "technique") or None,
        "execution_modes": _unwrap_list(item.get("modalitesExecution"), "modaliteExecution")
        or None,
        "is_innovative": r.boolean(item.get("marcheInnovant"), "marcheInnovant"),
        "ccag": _text(item.get("ccag")),
        "offers_received": r.number(item.get("offresRecues"), "offresRecues", integer=True),
        "has_advance": r.boolean(item.get("attributionAvance"), "attributionAvance"),
        "advance_rate": r.number(item.get("tauxAvance"), "tauxAvance"),
        "grouping_type": _text(item.get("typeGroupementOperateurs")),
        "framework_id": _text(item.get("idAccordCadre")),
        "place_code": _text(place.get("code")) if isinstance(place, dict) else None,
        "place_type": _text(place.get("typeCode")) if isinstance(place, dict) else None,
        "place_name": _text(place.get("nom")) if isinstance(place, dict) else None,
        "duration_months": r.number(item.get("dureeMois"), "dureeMois", integer=True),
        "notification_date": r.date(item.get("dateNotification"), "dateNotification"),
        "publication_date": r.date(item.get("datePublicationDonnees"), "datePublicationDonnees"),
        "signature_date": r.date(item.get("dateSignature"), "dateSignature"),
        "start_date": r.date(item.get("dateDebutExecution"), "dateDebutExecution"),
        "amount": r.number(
            item.get("montant" if kind == "marche" else "valeurGlobale"),
            "montant" if kind == "marche" else "valeurGlobale",
        ),
        "public_subsidy": r.number(
            item.get("montantSubventionPublique"), "montantSubventionPublique"
        ),
        "price_form": _text(item.get("formePrix")),
        "price_types": _unwrap_list(item.get("typesPrix"), "typePrix") or None,
        "subcontracting_declared": r.boolean(
            item.get("sousTraitanceDeclaree"), "sousTraitanceDeclaree"
        ),
        "origin_eu": r.number(item.get("origineUE"), "origineUE"),
        "origin_france": r.number(item.get("origineFrance"), "origineFrance"),
        "social_considerations": _unwrap_list(
            item.get("considerationsSociales"), "considerationSociale"
        )
        or None,
        "environmental_considerations": _unwrap_list(
            item.get("considerationsEnvironnementales"), "considerationEnvironnementale"
        )
        or None,
        "source_format": fmt,
        "raw": item,
        "schema_errors": schema_errors(item, fmt, kind),
        ROW: position,
    }
    list_name, inner = (
        ("titulaires", "titulaire") if kind == "marche" else ("concessionnaires", "concessionnaire")
    )
    holders = [
        _holder(h, "holder", i, r, f"{list_name}[{i}]")
        for i, h in enumerate(_unwrap_list(item.get(list_name), inner))
    ]
    for i, act in enumerate(_unwrap_list(item.get("actesSousTraitance"), "acteSousTraitance")):
        act = act if isinstance(act, dict) else {}
        sub = _holder(act.get("sousTraitant") or {}, "subcontractor", i, r, "actesSousTraitance")
        sub["amount"] = r.number(act.get("montant"), f"actesSousTraitance[{i}].montant")
        sub["details"] = act
        holders.append(sub)
    record["holders"] = holders
    modifications = []
    for i, mod in enumerate(_unwrap_list(item.get("modifications"), "modification")):
        mod = mod if isinstance(mod, dict) else {}
        base = f"modifications[{i}]"
        modifications.append(
            {
                "position": i,
                "object": _text(mod.get("objetModification")),
                "duration_months": r.number(mod.get("dureeMois"), f"{base}.dureeMois", True),
                "amount": r.number(mod.get("montant", mod.get("valeurGlobale")), f"{base}.montant"),
                "notification_date": r.date(
                    mod.get("dateNotificationModification", mod.get("dateSignatureModification")),
                    f"{base}.dateNotificationModification",
                ),
                "publication_date": r.date(
                    mod.get("datePublicationDonneesModification"),
                    f"{base}.datePublicationDonneesModification",
                ),
                "holders": [
                    _holder(h, "holder", j, r, base)
                    for j, h in enumerate(
                        _unwrap_list(
                            mod.get("titulaires", mod.get("concessionnaires")),
                            "titulaire" if "titulaires" in mod else "concessionnaire",
                        )
                    )
                ]
                or None,
            }
        )
    record["modifications"] = modifications
    _require_key(record, report)
    return record


def _require_key(record: dict[str, Any], report: Report) -> None:
    if not record["contract_id"]:
        report.error(record[ROW], "id", None, "Identifiant du marché manquant.")
    if not record["buyer_id"]:
        name = "acheteur.id" if record["kind"] == "marche" else "autoriteConcedante.id"
        report.error(record[ROW], name, None, "Identifiant de l'acheteur manquant.")


# -- flat CSV -----------------------------------------------------------------------------------
@functools.cache
def table_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "decp-table-schema.json").read_text(encoding="utf-8"))


def csv_columns() -> list[str]:
    return [f["name"] for f in table_schema()["fields"]]


def _table_errors(row: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    for spec in table_schema()["fields"]:
        name = spec["name"]
        constraints = spec.get("constraints", {})
        value = row.get(name)
        if value in (None, ""):
            if constraints.get("required"):
                errors.append({"path": name, "message": f"Champ obligatoire manquant : {name}."})
            continue
        text = str(value)
        if "enum" in constraints and text not in constraints["enum"]:
            errors.append(
                {"path": name, "message": f"Valeur « {text} » hors de la liste autorisée."}
            )
        if "pattern" in constraints and not re.match(constraints["pattern"], text):
            errors.append({"path": name, "message": f"Valeur « {text} » au format incorrect."})
        if "maxLength" in constraints and len(text) > constraints["maxLength"]:
            errors.append(
                {
                    "path": name,
                    "message": f"Longueur maximale ({constraints['maxLength']}) dépassée.",
                }
            )
    return errors


def contracts_from_csv_rows(rows: list[dict[str, Any]], report: Report) -> list[dict[str, Any]]:
    """Rows of the flat CSV (text cells, ``ROW`` set) → contract dicts; same id = one contract."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (_text(row.get("acheteur_id")) or "", _text(row.get("id")) or "")
        groups.setdefault(key, []).append(row)
    records = []
    for (buyer_id, contract_id), group in groups.items():
        first = group[0]
        r = _Reader(report, first[ROW])
        get: Callable[[str], Any] = lambda name, f=first: _text(f.get(name))  # noqa: E731
        record: dict[str, Any] = {
            "kind": "marche",
            "contract_id": contract_id or None,
            "buyer_id": buyer_id or None,
            "buyer_name": get("acheteur_nom"),
            "nature": get("nature"),
            "object": get("objet"),
            "cpv_code": get("codeCPV"),
            "procedure": get("procedure"),
            "techniques": None,
            "execution_modes": None,
            "is_innovative": r.boolean(get("marcheInnovant"), "marcheInnovant"),
            "ccag": get("ccag"),
            "offers_received": r.number(get("offresRecues"), "offresRecues", integer=True),
            "has_advance": r.boolean(get("attributionAvance"), "attributionAvance"),
            "advance_rate": r.number(get("tauxAvance"), "tauxAvance"),
            "grouping_type": get("typeGroupementOperateurs"),
            "framework_id": get("idAccordCadre"),
            "place_code": get("lieuExecution_code"),
            "place_type": get("lieuExecution_typeCode"),
            "place_name": get("lieuExecution_nom"),
            "duration_months": r.number(get("dureeMois"), "dureeMois", integer=True),
            "notification_date": r.date(get("dateNotification"), "dateNotification"),
            "publication_date": r.date(get("datePublicationDonnees"), "datePublicationDonnees"),
            "signature_date": None,
            "start_date": None,
            "amount": r.number(get("montant"), "montant"),
            "public_subsidy": None,
            "price_form": get("formePrix"),
            "price_types": None,
            "subcontracting_declared": r.boolean(
                get("sousTraitanceDeclaree"), "sousTraitanceDeclaree"
            ),
            "origin_eu": r.number(get("origineUE"), "origineUE"),
            "origin_france": r.number(get("origineFrance"), "origineFrance"),
            "social_considerations": None,
            "environmental_considerations": None,
            "source_format": "decp_csv",
            "raw": {
                "rows": [{k: v for k, v in row.items() if k != ROW} for row in group],
            },
            "schema_errors": _table_errors(first),
            ROW: first[ROW],
        }
        record["holders"] = [
            {
                "role": "holder",
                "position": i,
                "id_type": _text(row.get("titulaire_typeIdentifiant")),
                "identifier": _text(row.get("titulaire_id")),
                "name": _text(row.get("titulaire_denominationSociale")),
                "amount": None,
                "details": None,
            }
            for i, row in enumerate(group)
        ]
        record["modifications"] = []
        _require_key(record, report)
        records.append(record)
    return records


def is_decp_csv(headers: list[str]) -> bool:
    wanted = {normalise_header(n) for n in ("id", "acheteur_id", "titulaire_id")}
    return wanted <= set(headers)


def frame_rows(frame: pd.DataFrame, headers: list[str], original: list[str]) -> list[dict]:
    """Chunk of the CSV (normalised headers) → dicts keyed by the schema's column names."""
    by_norm = {normalise_header(n): n for n in csv_columns()}
    renamed = frame.rename(columns={h: by_norm[h] for h in headers if h in by_norm})
    keep = [c for c in renamed.columns if c in by_norm.values() or c == ROW]
    return renamed[keep].astype(object).where(renamed[keep].notna(), None).to_dict("records")
