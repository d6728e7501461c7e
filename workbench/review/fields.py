"""Which fields of which records people may correct, how values are parsed and validated.

Validation here mirrors the rules (a SIRET is checked with python-stdnum before it is proposed),
so that a correction never introduces the anomaly it is meant to fix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from stdnum.fr import siret as stdnum_siret

from workbench.core.errors import ValidationError
from workbench.core.values import QUANTITY_MAX, fits_integer, fits_numeric, money_range_message
from workbench.reference.models import COMPANY_CATEGORIES, FAMILIES, LABELS

HOLDER_FIELD = re.compile(
    r"^(?P<list>titulaires|concessionnaires|sousTraitants|actesSousTraitance)\[(?P<pos>\d+)\]\.id$"
)


def _text(raw: Any, max_len: int = 1000) -> str | None:
    value = str(raw).strip() if raw is not None else ""
    if len(value) > max_len:
        raise ValidationError(f"Texte trop long ({len(value)} caractères, maximum {max_len}).")
    return value or None


def _siret(raw: Any) -> str | None:
    value = stdnum_siret.compact(str(raw or ""))
    if not value:
        return None
    if not stdnum_siret.is_valid(value):
        raise ValidationError(
            f"« {raw} » n'est pas un SIRET valide (14 chiffres, clé de contrôle)."
        )
    return value


def _decimal(raw: Any) -> float | None:
    text = (
        str(raw if raw is not None else "")
        .strip()
        .replace("\u00a0", "")
        .replace(" ", "")
        .replace(",", ".")
    )
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"« {raw} » n'est pas un nombre.") from None
    if not math.isfinite(value):  # "inf", "nan", "1e999"
        raise ValidationError(f"« {raw} » n'est pas un nombre.")
    if abs(value) > QUANTITY_MAX:
        largest = f"{QUANTITY_MAX:,.0f}".replace(",", " ")
        raise ValidationError(f"Nombre hors limites : au plus {largest} en valeur absolue.")
    return value


def _positive_amount(raw: Any) -> float | None:
    value = _decimal(raw)
    if value is not None and value <= 0:
        raise ValidationError("Le montant doit être strictement positif.")
    if value is not None and not fits_numeric(value):  # Money: NUMERIC(14, 2)
        raise ValidationError(money_range_message())
    return value


def _integer(raw: Any) -> int | None:
    value = _decimal(raw)
    if value is None:
        return None
    if value != int(value):
        raise ValidationError(f"« {raw} » n'est pas un nombre entier.")
    if not fits_integer(int(value)):
        raise ValidationError(f"« {raw} » est un nombre entier trop grand.")
    return int(value)


def _duration(raw: Any) -> int | None:
    value = _integer(raw)
    if value is not None and not 1 <= value <= 360:
        raise ValidationError("La durée doit être comprise entre 1 et 360 mois.")
    return value


def _offers(raw: Any) -> int | None:
    value = _integer(raw)
    if value is not None and value < 1:
        raise ValidationError("Le nombre d'offres reçues doit être au moins 1.")
    return value


def _rate(raw: Any) -> float | None:
    value = _decimal(raw)
    if value is not None and not 0 <= value <= 1:
        raise ValidationError("Le taux doit être compris entre 0 et 1 (ex. 0,3 pour 30 %).")
    return value


def _date(raw: Any) -> str | None:
    text = str(raw or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            value = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if value > dt.date.today():
            raise ValidationError("La date ne peut pas être dans le futur.")
        return value.isoformat()
    raise ValidationError(f"« {raw} » n'est pas une date (jj/mm/aaaa).")


def _cpv(raw: Any) -> str | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{8}(-[0-9])?", text):
        raise ValidationError(
            "Un code CPV s'écrit sur 8 chiffres, suivis éventuellement de « -N »."
        )
    from workbench.review.reference import cpv_roots

    roots = cpv_roots()
    if roots and text[:8] not in roots:
        raise ValidationError(f"Le code CPV {text} n'existe pas dans la nomenclature CPV 2008.")
    return text


def _choice(options: dict[str, str] | tuple[str, ...]) -> Callable[[Any], str | None]:
    def parse(raw: Any) -> str | None:
        text = str(raw or "").strip().upper()
        if not text:
            return None
        if text not in options:
            raise ValidationError(
                f"Valeur « {raw} » inconnue; valeurs possibles : {', '.join(options)}."
            )
        return text

    return parse


def _labels(raw: Any) -> str:
    items = raw if isinstance(raw, list | tuple) else str(raw or "").replace(";", ",").split(",")
    codes = sorted({str(i).strip().upper() for i in items if str(i).strip()})
    unknown = [c for c in codes if c not in LABELS]
    if unknown:
        raise ValidationError("Label(s) inconnu(s) : " + ", ".join(unknown) + ".")
    return ",".join(codes)


def _bool(raw: Any) -> bool:
    return str(raw).strip().lower() in {"1", "true", "oui", "on", "o", "yes", "y"}


def _nomenclature_code(raw: Any) -> str | None:
    return _text(raw, 30)


def _active_nomenclature_code(session: Session, value: str | None) -> str | None:
    """An ACTIVE item of the nomenclature (exact code, else case-insensitive), or a French error.

    Clearing the code (``None``) is allowed: the line goes back to « Articles à rattacher ».
    """
    if value is None:
        return None
    from workbench.reference.nomenclature import active_item

    return active_item(session, value).code


def _unchecked(session: Session, value: Any) -> Any:
    return value


@dataclass(frozen=True)
class EditableField:
    name: str
    label: str
    parse: Callable[[Any], Any]
    #: Default approval policy when no rule says otherwise.
    policy: str = "approval"
    #: Store dates as date objects (the parser returns ISO text for JSON-friendliness).
    is_date: bool = False
    #: Validation against the database (reference tables), after ``parse``; run again just
    #: before the value is applied. Returns the canonical value or raises ValidationError.
    check: Callable[[Session, Any], Any] = _unchecked


EDITABLE: dict[str, dict[str, EditableField]] = {
    "purchase_line": {
        f.name: f
        for f in (
            EditableField(
                "nomenclature_code",
                "Code nomenclature",
                _nomenclature_code,
                policy="immediate",
                check=_active_nomenclature_code,
            ),
            EditableField("labels", "Labels déclarés", _labels),
            EditableField(
                "origin", "Origine déclarée", lambda r: _text(r, 50) and _text(r, 50).upper()
            ),
            EditableField("family", "Famille", _choice(FAMILIES)),
            EditableField("amount_ht", "Montant HT", _positive_amount),
            EditableField("quantity", "Quantité", _decimal),
        )
    },
    "supplier": {
        f.name: f
        for f in (
            EditableField("siret", "SIRET", _siret),
            EditableField("name", "Raison sociale", lambda r: _text(r, 300)),
            EditableField(
                "company_category", "Catégorie d'entreprise", _choice(COMPANY_CATEGORIES)
            ),
            EditableField("headcount_bracket", "Tranche d'effectifs", lambda r: _text(r, 2)),
            EditableField("commune_code", "Code commune", lambda r: _text(r, 5)),
            EditableField("is_ess", "Entreprise de l'ESS", _bool),
        )
    },
    "contract": {
        f.name: f
        for f in (
            EditableField("object", "Objet", lambda r: _text(r, 1000)),
            EditableField("cpv_code", "Code CPV", _cpv),
            EditableField("amount", "Montant HT", _positive_amount),
            EditableField("duration_months", "Durée (mois)", _duration),
            EditableField("notification_date", "Date de notification", _date, is_date=True),
            EditableField("publication_date", "Date de publication", _date, is_date=True),
            EditableField("offers_received", "Offres reçues", _offers),
            EditableField("has_advance", "Avance attribuée", _bool),
            EditableField("advance_rate", "Taux d'avance", _rate),
            EditableField("procedure", "Procédure", lambda r: _text(r, 200)),
            EditableField("buyer_id", "SIRET de l'acheteur", _siret),
        )
    },
    "matrix_entry": {
        f.name: f
        for f in (
            EditableField("labels", "Labels", _labels),
            EditableField("origin", "Origine", lambda r: _text(r, 50) and _text(r, 50).upper()),
            EditableField("unit_price", "Prix unitaire HT", _positive_amount),
            EditableField(
                "nomenclature_code",
                "Code nomenclature",
                _nomenclature_code,
                check=_active_nomenclature_code,
            ),
        )
    },
}


def editable_field(record_kind: str, field: str) -> EditableField:
    """The field definition; holder identifiers of contracts (``titulaires[0].id``) are SIRETs."""
    if record_kind == "contract" and HOLDER_FIELD.match(field):
        return EditableField(field, "Identifiant du titulaire", _siret)
    try:
        return EDITABLE[record_kind][field]
    except KeyError:
        raise ValidationError(f"Le champ « {field} » ne peut pas être corrigé ici.") from None
