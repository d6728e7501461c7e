"""Contract records from DECP files: v2 JSON, 1.5 JSON and the flat DECP CSV. Pure Python.

Each record becomes a plain dict with the :class:`~workbench.records.models.Contract` fields, its
``holders`` (holders and subcontractors), ``modifications`` and ``subcontracting_modifications``.

The import works record by record, like the national consolidation pipelines: a record is
refused only when it cannot be identified (no ``id``, or no buyer id under any of its known
spellings: nested ``acheteur.id``, flattened ``"acheteur.id"`` or ``"acheteur_id"``; the same for
``autoriteConcedante``). Every other problem — a placeholder (``NC``, ``ND``, ``nan``, ``null``,
``{}``), an unreadable number, date or yes/no, a value beyond its column, a malformed holder —
leaves the field empty, is a warning of the report and is kept in the record's
``value_errors`` (``[{"field", "raw", "message", "file", "kind"}]``) for the rules; the record as
received stays in ``raw``. JSON-Schema errors are kept in ``schema_errors``.

Several publications of one contract in a file (the same buyer and id with other
``datePublicationDonnees``; the rows of one contract before and after a modification in the
flat CSV) make one record: the latest is current, the earlier ones are its ``publications``.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.imports.parsing import ROW, Report, normalise_header, read_json
from workbench.records.models import (
    CONTRACT_MONEY_LIMIT,
    INTEGER_LIMIT,
    Contract,
    ContractHolder,
    current_state,
)

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
    "value_errors",
    "current_amount",
    "current_duration_months",
    "publications",
)
#: Placeholder values: the field is empty, the value is kept as a value error (``placeholder``).
PLACEHOLDER = re.compile(
    r"(?i)^\s*(nc|n\.c\.?|nd|n\.d\.?|n/c|n/d|n/a|na|nan|nat|null|none|nil|undefined|"
    r"non\s+communiqu[eé]e?s?|non\s+renseign[eé]e?s?|non\s+disponible|inconnue?|\?+|-+|\.)\s*$"
)
#: Serialisation artefacts in a text field (the other placeholders of text fields are kept as
#: they are for the NC_PLACEHOLDER rule).
ARTEFACT = re.compile(r"(?i)^\s*(nan|nat|null|none|nil|undefined)\s*$")
#: Keys of a holder object (any of them makes a dict a holder).
HOLDER_KEYS = frozenset({"id", "typeIdentifiant", "denominationSociale", "nom"})
#: Wrappers around a holder or a list of holders (v2 lists, XML conversions).
HOLDER_WRAPPERS = frozenset(
    {"titulaire", "titulaires", "concessionnaire", "concessionnaires", "sousTraitant"}
)
#: An identifier given as a bare string: letters, digits, a few separators, 5 digits or more.
_BARE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .\-]{1,49}")


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
def _length(model: type, name: str) -> int | None:
    return getattr(model.__table__.c[name].type, "length", None)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value[:200]
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:200]
    except (TypeError, ValueError):
        return repr(value)[:200]


def _is_placeholder(value: Any) -> bool:
    if isinstance(value, dict | list) and not value:
        return True
    return isinstance(value, str) and bool(PLACEHOLDER.match(value))


class _Reader:
    """Reads typed values of one record; an unusable value is left empty and kept as a value
    error of the record (and a warning of the report)."""

    def __init__(self, report: Report, row: int, file_name: str | None = None) -> None:
        self.report = report
        self.row = row
        self.file_name = file_name
        self.errors: list[dict[str, Any]] = []

    def problem(self, path: str, value: Any, message: str, kind: str = "unreadable") -> None:
        raw = _shown(value)
        self.errors.append(
            {"field": path, "raw": raw, "message": message, "file": self.file_name, "kind": kind}
        )
        self.report.warning(self.row, path, raw, message + " Le champ est laissé vide.")

    def _placeholder(self, value: Any, path: str) -> bool:
        if _is_placeholder(value):
            self.problem(path, value, f"Valeur de remplissage « {_shown(value)} ».", "placeholder")
            return True
        return False

    def date(self, value: Any, path: str) -> dt.date | None:
        if value is None or value == "" or self._placeholder(value, path):
            return None
        if not isinstance(value, str):
            self.problem(path, value, "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa).")
            return None
        text = value.strip()
        match = _DATE.match(text)
        if match:
            try:
                return dt.date.fromisoformat(match.group(1))
            except ValueError:
                pass
        try:
            return dt.datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            self.problem(path, value, "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa).")
            return None

    def number(
        self, value: Any, path: str, integer: bool = False, limit: float | None = None
    ) -> float | int | None:
        if value is None or value == "" or self._placeholder(value, path):
            return None
        if isinstance(value, bool | dict | list):
            self.problem(path, value, "Nombre attendu.")
            return None
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = re.sub(r"[\s\u00a0\u202f]", "", str(value)).replace(",", ".")
            try:
                number = float(text)
            except ValueError:
                self.problem(path, value, "Nombre illisible.")
                return None
        if not math.isfinite(number):
            self.problem(path, value, "Nombre illisible.")
            return None
        if limit is None:
            limit = INTEGER_LIMIT + 1 if integer else None
        if limit is not None and abs(number) >= limit:
            self.problem(
                path,
                value,
                f"Nombre hors des bornes enregistrables (moins de {limit:.0e}).",
                "range",
            )
            return None
        if integer:
            if not number.is_integer():
                self.problem(path, value, "Nombre entier attendu.")
                return None
            return int(number)
        return number

    def amount(self, value: Any, path: str) -> float | None:
        return self.number(value, path, limit=CONTRACT_MONEY_LIMIT)

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None or value == "" or self._placeholder(value, path):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "oui", "1", "o", "vrai", "yes", "1.0"):
            return True
        if text in ("false", "non", "0", "n", "faux", "no", "0.0"):
            return False
        self.problem(path, value, "Valeur oui/non illisible.")
        return None

    def text(self, value: Any, path: str, max_length: int | None = None) -> str | None:
        if value is None:
            return None
        if isinstance(value, dict | list):
            if value:
                self.problem(path, value, "Texte attendu (objet ou liste reçu).")
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
            value = int(value)
        text = str(value).strip()
        if not text:
            return None
        if ARTEFACT.match(text):
            self.problem(path, value, f"Valeur de remplissage « {text} ».", "placeholder")
            return None
        if max_length is not None and len(text) > max_length:
            self.problem(
                path,
                value,
                f"Texte trop long ({len(text)} caractères, maximum {max_length}).",
                "range",
            )
            return None
        return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _items(value: Any, inner: str) -> list[Any]:
    """Every shape of a DECP list as a flat list of its items.

    ``{"considerationSociale": [...]}``, ``[...]``, ``[{"titulaire": {...}}]``, a single object,
    nested lists ``[[{...}], [{...}]]``.
    """
    if value is None:
        return []
    if isinstance(value, dict):
        if inner in value and len(value) == 1:
            value = value[inner]
        elif not value:
            return []
    if not isinstance(value, list):
        value = [value]
    result: list[Any] = []
    for item in value:
        if isinstance(item, list):
            result += _items(item, inner)
        elif isinstance(item, dict) and set(item) == {inner}:
            inside = item[inner]
            result += _items(inside, inner) if isinstance(inside, list) else [inside]
        else:
            result.append(item)
    return result


def _nested(item: dict[str, Any], name: str, key: str) -> Any:
    """``item[name][key]`` under its known spellings: nested, ``"name.key"``, ``"name_key"``."""
    value = item.get(name)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and value.get(key) not in (None, ""):
        return value[key]
    for flat in (f"{name}.{key}", f"{name}_{key}"):
        if item.get(flat) not in (None, ""):
            return item[flat]
    if key == "id" and isinstance(value, str | int) and not isinstance(value, bool):
        return value
    return None


def _holder_objects(value: Any, path: str, reader: _Reader) -> list[dict[str, Any]]:
    """Holder objects from every shape seen in published files; malformed ones are flagged.

    Objects, lists, ``{"titulaire": ...}`` wrappers, nested lists, a JSON or Python-repr text of
    those, a bare identifier. ``{"titulaire": "typeIdentifiant"}`` (a conversion that kept the
    keys and lost the values) is a value error, never a holder named "typeIdentifiant".
    """
    found: list[dict[str, Any]] = []

    def walk(node: Any, where: str) -> None:
        if node is None or node == "":
            return
        if isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}[{i}]" if len(node) > 1 else where)
            return
        if isinstance(node, dict):
            if not node:
                reader.problem(where, node, "Titulaire vide ({}).", "placeholder")
            elif HOLDER_KEYS & set(node):
                found.append(node)
            elif len(node) == 1 and next(iter(node)) in HOLDER_WRAPPERS:
                walk(next(iter(node.values())), where)
            else:
                reader.problem(where, node, "Titulaire mal formé : ignoré.", "holder")
            return
        if isinstance(node, int) and not isinstance(node, bool):
            found.append({"id": str(node)})
            return
        if isinstance(node, str):
            text = node.strip()
            if text[:1] in ("[", "{"):
                for parse in (json.loads, ast.literal_eval):
                    try:
                        parsed = parse(text)
                    except (ValueError, SyntaxError, MemoryError, RecursionError):
                        continue
                    if isinstance(parsed, dict | list):
                        walk(parsed, where)
                        return
            if _BARE_ID.fullmatch(text) and sum(c.isdigit() for c in text) >= 5:
                found.append({"id": text})
                return
        reader.problem(
            where,
            node,
            f"Titulaire mal formé (« {_shown(node)} » n'est pas un titulaire) : ignoré.",
            "holder",
        )

    walk(value, path)
    return found


def _holder_row(
    obj: dict[str, Any], role: str, position: int, reader: _Reader, path: str
) -> dict[str, Any]:
    identifier = obj.get("id")
    if isinstance(identifier, float) and identifier.is_integer():
        identifier = int(identifier)
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    if isinstance(identifier, str) and _is_placeholder(identifier):
        reader.problem(
            f"{path}.id", identifier, f"Identifiant de remplissage « {identifier} ».", "placeholder"
        )
        identifier = None
    return {
        "role": role,
        "position": position,
        "id_type": reader.text(
            obj.get("typeIdentifiant"),
            f"{path}.typeIdentifiant",
            _length(ContractHolder, "id_type"),
        ),
        "identifier": reader.text(identifier, f"{path}.id", _length(ContractHolder, "identifier")),
        "name": reader.text(
            obj.get("denominationSociale", obj.get("nom")),
            f"{path}.denominationSociale",
            _length(ContractHolder, "name"),
        ),
        "amount": None,
        "notification_date": None,
        "details": None,
    }


def _holders(value: Any, list_name: str, role: str, reader: _Reader) -> list[dict[str, Any]]:
    objects = _holder_objects(value, list_name, reader)
    return [_holder_row(obj, role, i, reader, f"{list_name}[{i}]") for i, obj in enumerate(objects)]


def _same_numbers(value: Any) -> Any:
    """``575000.0`` and ``575000`` are the same published number (JSON has one number type)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _same_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_numbers(v) for v in value]
    return value


def publication_hash(raw: Any) -> str:
    """A stable fingerprint of a published record (to recognise the same publication)."""
    text = json.dumps(_same_numbers(raw), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def publication_snapshot(record: dict[str, Any], file_name: str | None) -> dict[str, Any]:
    """What the history keeps of one publication of a contract (dated by its latest
    publication date, modifications included)."""
    dates = [record.get("publication_date")] + [
        m.get("publication_date") for m in record.get("modifications") or []
    ]
    dates = [d for d in dates if isinstance(d, dt.date)]
    date = max(dates) if dates else record.get("publication_date")
    holders = [
        h.get("identifier") for h in record.get("holders") or [] if h.get("role") == "holder"
    ]
    return {
        "publication_date": date.isoformat() if isinstance(date, dt.date) else date,
        "file": file_name,
        "amount": record.get("amount"),
        "duration_months": record.get("duration_months"),
        "current_amount": record.get("current_amount"),
        "holders": holders,
        "hash": publication_hash(record.get("raw")),
        "raw": record.get("raw"),
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


def load_json(path: str | Path, report: Report) -> Any:
    """The parsed JSON document, or None with a file error (the one place JSON is loaded)."""
    try:
        return read_json(path)  # depth, NUL and encoding checked; French errors
    except UnicodeDecodeError:
        try:
            with open(path, encoding="cp1252") as handle:
                return json.load(handle)
        except (ValueError, UnicodeDecodeError) as error:
            report.file_error(f"Le fichier JSON est illisible : {error}")
            return None
    except ValueError as error:
        report.file_error(f"Le fichier JSON est illisible : {error}")
        return None


def _is_concession(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    return (
        "autoriteConcedante" in item
        or "autoriteConcedante.id" in item
        or "autoriteConcedante_id" in item
        or "valeurGlobale" in item
        or str(item.get("_type", "")).lower().startswith("contrat de concession")
    )


def read_json_contracts(
    path: str | Path,
    report: Report,
    source_format: str | None = None,
    file_name: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Contract dicts of a DECP JSON file (v2 or 1.5, detected unless given)."""
    document = load_json(path, report)
    if report.fatal:
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
        items += [("marche", m) for m in _items(marches.get("marche"), "marche")]
        items += [
            ("concession", c)
            for c in _items(marches.get("contrat-concession"), "contrat-concession")
        ]
    else:
        for item in _items(marches, "marche"):
            items.append(("concession" if _is_concession(item) else "marche", item))
    records = []
    name = file_name or Path(path).name
    for position, (kind, item) in enumerate(items, start=1):
        if not isinstance(item, dict):
            report.error(position, "marches", None, "Enregistrement non structuré (objet attendu).")
            continue
        record = _from_json(item, kind, fmt, position, report, name)
        if _require_key(record, report):
            records.append(record)
    return merge_publications(records, name), fmt


def _from_json(
    item: dict[str, Any],
    kind: str,
    fmt: str,
    position: int,
    report: Report,
    file_name: str | None = None,
) -> dict[str, Any]:
    r = _Reader(report, position, file_name)
    buyer_key = "acheteur" if kind == "marche" else "autoriteConcedante"
    amount_key = "montant" if kind == "marche" else "valeurGlobale"

    def text(key: str, column: str) -> str | None:
        return r.text(item.get(key), key, _length(Contract, column))

    def nested(name: str, key: str, column: str) -> str | None:
        return r.text(_nested(item, name, key), f"{name}.{key}", _length(Contract, column))

    record: dict[str, Any] = {
        "kind": kind,
        "contract_id": _text(item.get("id")),
        "buyer_id": _text(_nested(item, buyer_key, "id")),
        "buyer_name": nested(buyer_key, "nom", "buyer_name"),
        "nature": text("nature", "nature"),
        "object": r.text(item.get("objet"), "objet"),
        "cpv_code": text("codeCPV", "cpv_code"),
        "procedure": text("procedure", "procedure"),
        "techniques": _items(item.get("techniques"), "technique") or None,
        "execution_modes": _items(item.get("modalitesExecution"), "modaliteExecution") or None,
        "is_innovative": r.boolean(item.get("marcheInnovant"), "marcheInnovant"),
        "ccag": text("ccag", "ccag"),
        "offers_received": r.number(item.get("offresRecues"), "offresRecues", integer=True),
        "has_advance": r.boolean(item.get("attributionAvance"), "attributionAvance"),
        "advance_rate": r.number(item.get("tauxAvance"), "tauxAvance"),
        "grouping_type": text("typeGroupementOperateurs", "grouping_type"),
        "framework_id": text("idAccordCadre", "framework_id"),
        "place_code": nested("lieuExecution", "code", "place_code"),
        "place_type": nested("lieuExecution", "typeCode", "place_type"),
        "place_name": nested("lieuExecution", "nom", "place_name"),
        "duration_months": r.number(item.get("dureeMois"), "dureeMois", integer=True),
        "notification_date": r.date(item.get("dateNotification"), "dateNotification"),
        "publication_date": r.date(item.get("datePublicationDonnees"), "datePublicationDonnees"),
        "signature_date": r.date(item.get("dateSignature"), "dateSignature"),
        "start_date": r.date(item.get("dateDebutExecution"), "dateDebutExecution"),
        "amount": r.amount(item.get(amount_key), amount_key),
        "public_subsidy": r.amount(
            item.get("montantSubventionPublique"), "montantSubventionPublique"
        ),
        "price_form": text("formePrix", "price_form"),
        "price_types": _items(item.get("typesPrix"), "typePrix") or None,
        "subcontracting_declared": r.boolean(
            item.get("sousTraitanceDeclaree"), "sousTraitanceDeclaree"
        ),
        "origin_eu": r.number(item.get("origineUE"), "origineUE"),
        "origin_france": r.number(item.get("origineFrance"), "origineFrance"),
        "social_considerations": _items(item.get("considerationsSociales"), "considerationSociale")
        or None,
        "environmental_considerations": _items(
            item.get("considerationsEnvironnementales"), "considerationEnvironnementale"
        )
        or None,
        "source_format": fmt,
        "raw": item,
        "schema_errors": schema_errors(item, fmt, kind),
        "publications": None,
        ROW: position,
        "_order": (0, 0),
    }
    list_name = "titulaires" if kind == "marche" else "concessionnaires"
    holders = _holders(item.get(list_name), list_name, "holder", r)
    for i, act in enumerate(_items(item.get("actesSousTraitance"), "acteSousTraitance")):
        base = f"actesSousTraitance[{i}]"
        if not isinstance(act, dict):
            r.problem(base, act, "Acte de sous-traitance mal formé : ignoré.", "holder")
            continue
        found = _holder_objects(act.get("sousTraitant"), f"{base}.sousTraitant", r)
        sub = _holder_row(found[0] if found else {}, "subcontractor", i, r, f"{base}.sousTraitant")
        sub["amount"] = r.amount(act.get("montant"), f"{base}.montant")
        sub["notification_date"] = r.date(act.get("dateNotification"), f"{base}.dateNotification")
        sub["details"] = {k: v for k, v in act.items() if k not in ("sousTraitant", "montant")}
        holders.append(sub)
    record["holders"] = holders
    modifications = []
    for i, mod in enumerate(_items(item.get("modifications"), "modification")):
        base = f"modifications[{i}]"
        if not isinstance(mod, dict):
            r.problem(base, mod, "Modification mal formée : ignorée.", "holder")
            continue
        holder_list = "titulaires" if "titulaires" in mod else "concessionnaires"
        mod_holders = _holders(mod.get(holder_list), f"{base}.{holder_list}", "holder", r)
        modifications.append(
            {
                "position": i,
                "object": r.text(mod.get("objetModification"), f"{base}.objetModification"),
                "duration_months": r.number(mod.get("dureeMois"), f"{base}.dureeMois", True),
                "amount": r.amount(
                    mod.get("montant", mod.get("valeurGlobale")),
                    f"{base}.{'montant' if 'montant' in mod else 'valeurGlobale'}",
                ),
                "notification_date": r.date(
                    mod.get("dateNotificationModification", mod.get("dateSignatureModification")),
                    f"{base}.dateNotificationModification",
                ),
                "publication_date": r.date(
                    mod.get("datePublicationDonneesModification"),
                    f"{base}.datePublicationDonneesModification",
                ),
                "holders": [
                    {k: h[k] for k in ("position", "id_type", "identifier", "name")}
                    for h in mod_holders
                ]
                or None,
            }
        )
    record["modifications"] = modifications
    sub_mods = []
    for i, mod in enumerate(
        _items(item.get("modificationsActesSousTraitance"), "modificationActeSousTraitance")
    ):
        base = f"modificationsActesSousTraitance[{i}]"
        if not isinstance(mod, dict):
            r.problem(base, mod, "Modification d'acte de sous-traitance mal formée.", "holder")
            continue
        sub_mods.append(
            {
                "position": i,
                "act_id": r.text(mod.get("id"), f"{base}.id", 50),
                "duration_months": r.number(mod.get("dureeMois"), f"{base}.dureeMois", True),
                "amount": r.amount(mod.get("montant"), f"{base}.montant"),
                "notification_date": r.date(
                    mod.get("dateNotificationModificationSousTraitance"),
                    f"{base}.dateNotificationModificationSousTraitance",
                ),
                "publication_date": r.date(
                    mod.get("datePublicationDonnees"), f"{base}.datePublicationDonnees"
                ),
            }
        )
    record["subcontracting_modifications"] = sub_mods
    _finish(record, r)
    return record


def _finish(record: dict[str, Any], reader: _Reader) -> None:
    """Current state and value errors of a read record."""
    record["current_amount"], record["current_duration_months"] = current_state(
        record["amount"], record["duration_months"], record["modifications"]
    )
    record["value_errors"] = reader.errors or None


def _require_key(record: dict[str, Any], report: Report) -> bool:
    """Whether the record can be identified; a refused record is an error of its row."""
    concession = record["kind"] == "concession"
    buyer = "autoriteConcedante.id" if concession else "acheteur.id"
    ok = True
    if not record["contract_id"]:
        report.error(record[ROW], "id", None, "Enregistrement refusé : identifiant manquant.")
        ok = False
    elif len(record["contract_id"]) > (_length(Contract, "contract_id") or 50):
        report.error(
            record[ROW],
            "id",
            record["contract_id"],
            "Enregistrement refusé : identifiant de plus de 50 caractères.",
        )
        ok = False
    if not record["buyer_id"]:
        who = "de l'autorité concédante" if concession else "de l'acheteur"
        report.error(
            record[ROW], buyer, None, f"Enregistrement refusé : identifiant {who} manquant."
        )
        ok = False
    elif len(record["buyer_id"]) > (_length(Contract, "buyer_id") or 20):
        report.error(
            record[ROW],
            buyer,
            record["buyer_id"],
            "Enregistrement refusé : identifiant de l'acheteur de plus de 20 caractères.",
        )
        ok = False
    return ok


def merge_publications(
    records: list[dict[str, Any]], file_name: str | None
) -> list[dict[str, Any]]:
    """One record per (buyer, id): the latest publication, the earlier ones as its history.

    Order: the flat CSV's version (``donneesActuelles``) first, then ``datePublicationDonnees``,
    then the position in the file.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["buyer_id"], record["contract_id"]), []).append(record)
    merged = []
    for group in groups.values():
        size = len(group)
        if size > 1:
            group.sort(
                key=lambda r: (
                    r["_order"],
                    r["publication_date"] or dt.date.min,
                    r[ROW],
                )
            )
            latest = group[-1]
            history = [publication_snapshot(r, file_name) for r in group[:-1]]
            seen = {latest_hash := publication_hash(latest["raw"])}
            kept = []
            for item in history:
                if item["hash"] not in seen:
                    seen.add(item["hash"])
                    kept.append(item)
            del latest_hash
            latest["publications"] = kept or None
            group = [latest]
        record = group[0]
        record.pop("_order", None)
        record["_read"] = record.get("_read", 1) + size - 1
        merged.append(record)
    return sorted(merged, key=lambda r: r[ROW])


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


_VERSIONED = re.compile(r"^(?P<root>.+?)(?P<version>\d\d)$")


def _csv_version(row: dict[str, Any]) -> tuple[str, int, bool]:
    """(contract id, version, is current) of a flat CSV row.

    With ``donneesActuelles`` filled (oui/non), the row's id is the contract id followed by the
    number of its modifications on two digits (``…00`` initial, ``…01`` after modification 1):
    the rows of one contract before and after its modifications share the contract id.
    """
    identifier = _text(row.get("id")) or ""
    current = (_text(row.get("donneesActuelles")) or "").lower()
    if current in ("oui", "non", "true", "false", "1", "0"):
        match = _VERSIONED.match(identifier)
        if match:
            return match["root"], int(match["version"]), current in ("oui", "true", "1")
    return identifier, 0, False


def contracts_from_csv_rows(
    rows: list[dict[str, Any]], report: Report, file_name: str | None = None
) -> list[dict[str, Any]]:
    """Rows of the flat CSV (text cells, ``ROW`` set) → contract dicts.

    Rows of one version (same buyer, id and ``donneesActuelles``) are one publication with one
    holder per row; the versions of one contract are one contract: the first version gives the
    initial values, each later one a modification (new amount, duration, holders), and the
    earlier versions are the contract's publication history.
    """
    groups: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = {}
    for row in rows:
        root, version, _ = _csv_version(row)
        key = (_text(row.get("acheteur_id")) or "", root)
        groups.setdefault(key, {}).setdefault(version, []).append(row)
    records = []
    for (buyer_id, contract_id), versions in groups.items():
        numbers = sorted(versions)
        versions_read = [
            _csv_record(versions[v], buyer_id, contract_id, report, file_name) for v in numbers
        ]
        record = versions_read[0]
        # the earlier versions as published, before the record takes in the later ones
        history = [publication_snapshot(v, file_name) for v in versions_read[:-1]]
        reader = _Reader(report, record[ROW], file_name)
        reader.errors = list(record["value_errors"] or [])
        for number, later in zip(numbers[1:], versions_read[1:], strict=True):
            reader.errors += later["value_errors"] or []
            record["modifications"].append(_csv_modification(later, number))
        if len(versions_read) > 1:
            latest = versions_read[-1]
            for name in ("object", "nature", "procedure", "cpv_code", "buyer_name"):
                record[name] = latest[name] or record[name]
            record["raw"] = {"rows": [r for v in versions_read for r in v["raw"]["rows"]]}
            record["publications"] = history
            _finish(record, reader)
        # a file holding only later versions continues a contract published before: the writer
        # appends its versions as modifications to the stored contract
        record["csv_continuation"] = (
            {"version": numbers[0], "modification": _csv_modification(record, numbers[0])}
            if numbers[0] > 0
            else None
        )
        for version in versions_read:
            version.pop("_modification_object", None)
        record["_read"] = len(versions_read)
        if _require_key(record, report):
            records.append(record)
    return merge_publications(records, file_name)


def _csv_modification(version: dict[str, Any], number: int) -> dict[str, Any]:
    """Version ``number`` (≥ 1) of a contract of the flat CSV as its modification n° number."""
    return {
        "position": number - 1,
        "object": version.get("_modification_object"),
        "duration_months": version["duration_months"],
        "amount": version["amount"],
        "notification_date": version["notification_date"],
        "publication_date": version["publication_date"],
        "holders": [
            {k: h[k] for k in ("position", "id_type", "identifier", "name")}
            for h in version["holders"]
            if h["role"] == "holder"
        ]
        or None,
    }


def _csv_record(
    group: list[dict[str, Any]],
    buyer_id: str,
    contract_id: str,
    report: Report,
    file_name: str | None,
) -> dict[str, Any]:
    """One version of a contract of the flat CSV (one row per holder)."""
    first = group[0]
    r = _Reader(report, first[ROW], file_name)
    get: Callable[[str], Any] = lambda name, f=first: _text(f.get(name))  # noqa: E731

    def text(name: str, column: str) -> str | None:
        return r.text(first.get(name), name, _length(Contract, column))

    record: dict[str, Any] = {
        "kind": "marche",
        "contract_id": contract_id or None,
        "buyer_id": buyer_id or None,
        "buyer_name": text("acheteur_nom", "buyer_name"),
        "nature": text("nature", "nature"),
        "object": r.text(first.get("objet"), "objet"),
        "cpv_code": text("codeCPV", "cpv_code"),
        "procedure": text("procedure", "procedure"),
        "techniques": None,
        "execution_modes": None,
        "is_innovative": r.boolean(get("marcheInnovant"), "marcheInnovant"),
        "ccag": text("ccag", "ccag"),
        "offers_received": r.number(get("offresRecues"), "offresRecues", integer=True),
        "has_advance": r.boolean(get("attributionAvance"), "attributionAvance"),
        "advance_rate": r.number(get("tauxAvance"), "tauxAvance"),
        "grouping_type": text("typeGroupementOperateurs", "grouping_type"),
        "framework_id": text("idAccordCadre", "framework_id"),
        "place_code": text("lieuExecution_code", "place_code"),
        "place_type": text("lieuExecution_typeCode", "place_type"),
        "place_name": text("lieuExecution_nom", "place_name"),
        "duration_months": r.number(get("dureeMois"), "dureeMois", integer=True),
        "notification_date": r.date(get("dateNotification"), "dateNotification"),
        "publication_date": r.date(get("datePublicationDonnees"), "datePublicationDonnees"),
        "signature_date": None,
        "start_date": None,
        "amount": r.amount(get("montant"), "montant"),
        "public_subsidy": None,
        "price_form": text("formePrix", "price_form"),
        "price_types": None,
        "subcontracting_declared": r.boolean(get("sousTraitanceDeclaree"), "sousTraitanceDeclaree"),
        "origin_eu": r.number(get("origineUE"), "origineUE"),
        "origin_france": r.number(get("origineFrance"), "origineFrance"),
        "social_considerations": None,
        "environmental_considerations": None,
        "source_format": "decp_csv",
        "raw": {"rows": [{k: v for k, v in row.items() if k != ROW} for row in group]},
        "schema_errors": _table_errors(first),
        "publications": None,
        "_modification_object": get("objetModification"),
        "_order": (0, 0),
        ROW: first[ROW],
    }
    record["holders"] = [
        _holder_row(
            {
                "id": row.get("titulaire_id"),
                "typeIdentifiant": row.get("titulaire_typeIdentifiant"),
                "denominationSociale": row.get("titulaire_denominationSociale"),
            },
            "holder",
            i,
            r,
            f"titulaires[{i}]",
        )
        for i, row in enumerate(group)
    ]
    record["modifications"] = []
    record["subcontracting_modifications"] = []
    _finish(record, r)
    return record


def is_decp_csv(headers: list[str]) -> bool:
    wanted = {normalise_header(n) for n in ("id", "acheteur_id", "titulaire_id")}
    return wanted <= set(headers)


def frame_rows(frame: pd.DataFrame, headers: list[str], original: list[str]) -> list[dict]:
    """Chunk of the CSV (normalised headers) → dicts keyed by the schema's column names."""
    by_norm = {normalise_header(n): n for n in csv_columns()}
    renamed = frame.rename(columns={h: by_norm[h] for h in headers if h in by_norm})
    keep = [c for c in renamed.columns if c in by_norm.values() or c == ROW]
    return renamed[keep].astype(object).where(renamed[keep].notna(), None).to_dict("records")
