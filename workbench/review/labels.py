"""French names of record fields and rules, for every page that shows them.

The editable fields keep their labels in :mod:`workbench.review.fields`; this module adds the
other columns an anomaly can point to (``reference``, DECP names such as ``dureeMois``) and
never returns a raw identifier: an unknown field becomes readable words.
"""

from __future__ import annotations

import re

from workbench.matching.normalise import fold
from workbench.review.fields import EDITABLE, HOLDER_FIELD

#: Columns that are not editable but appear in anomalies and the journal.
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "purchase_line": {
        "line_key": "Clé de la ligne",
        "site_id": "Lycée",
        "line_date": "Date d'achat",
        "supplier_id": "Fournisseur",
        "supplier_siret": "SIRET du fournisseur",
        "supplier_name": "Nom du fournisseur",
        "reference": "Référence article fournisseur",
        "label": "Libellé",
        "unit": "Unité",
        "is_short_circuit": "Circuit court",
        "is_local": "Produit local",
    },
    "supplier": {"direction_code": "Direction"},
    "contract": {
        "kind": "Nature du dossier",
        "contract_id": "Identifiant du marché",
        "buyer_name": "Acheteur",
        "direction_code": "Direction",
        "nature": "Nature",
        "techniques": "Techniques d'achat",
        "execution_modes": "Modalités d'exécution",
        "is_innovative": "Marché innovant",
        "ccag": "CCAG",
        "grouping_type": "Type de groupement",
        "framework_id": "Accord-cadre",
        "place_code": "Code du lieu d'exécution",
        "place_type": "Type de lieu d'exécution",
        "place_name": "Lieu d'exécution",
        "signature_date": "Date de signature",
        "start_date": "Date de début d'exécution",
        "public_subsidy": "Subvention publique",
        "price_form": "Forme du prix",
        "price_types": "Types de prix",
        "subcontracting_declared": "Sous-traitance déclarée",
        "origin_eu": "Part d'origine UE",
        "origin_france": "Part d'origine France",
        "social_considerations": "Considérations sociales",
        "environmental_considerations": "Considérations environnementales",
        # DECP names, as the schema errors report them
        "dureeMois": "Durée (mois)",
        "offresRecues": "Offres reçues",
        "dateNotification": "Date de notification",
        "datePublicationDonnees": "Date de publication",
        "montant": "Montant HT",
        "codeCPV": "Code CPV",
        "objet": "Objet",
        "acheteur.id": "SIRET de l'acheteur",
        "autoriteConcedante.id": "SIRET de l'autorité concédante",
        "lieuExecution.code": "Code du lieu d'exécution",
        "considerationsSociales": "Considérations sociales",
        "considerationsEnvironnementales": "Considérations environnementales",
        "tauxAvance": "Taux d'avance",
        "procedure": "Procédure",
    },
    "matrix_entry": {
        "supplier_id": "Fournisseur",
        "reference": "Référence article",
        "label": "Libellé",
        "unit": "Unité",
        "valid_from": "Valable du",
        "valid_to": "Valable jusqu'au",
    },
    "nomenclature_item": {
        "code": "Code",
        "label": "Libellé",
        "family": "Famille",
        "parent_code": "Code parent",
        "is_active": "Actif",
    },
}

_HOLDER_LISTS = {
    "titulaires": "Titulaire",
    "concessionnaires": "Concessionnaire",
    "sousTraitants": "Sous-traitant",
    "actesSousTraitance": "Sous-traitant",
}


def field_label(record_kind: str | None, field: str | None) -> str:
    """The French name of a field of a record kind; readable words for an unknown one."""
    if not field:
        return "Enregistrement entier"
    definition = EDITABLE.get(record_kind or "", {}).get(field)
    if definition is not None:
        return definition.label
    extra = EXTRA_FIELDS.get(record_kind or "", {}).get(field)
    if extra is not None:
        return extra
    match = HOLDER_FIELD.match(field)
    if match:
        return f"{_HOLDER_LISTS[match['list']]} n° {int(match['pos']) + 1} (identifiant)"
    for fields in (*EDITABLE.values(), *EXTRA_FIELDS.values()):
        if field in fields:
            found = fields[field]
            return found if isinstance(found, str) else found.label
    return readable(field)


def readable(code: str) -> str:
    """``duration_months`` → « Duration months », ``dureeMois`` → « Duree mois »: never a raw
    identifier, even for a name nobody labelled yet."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(code)).replace("_", " ").replace(".", " ")
    words = re.sub(r"\s+", " ", words).strip().lower()
    return words[:1].upper() + words[1:] if words else "—"


#: Every field name a label is written for, in any record kind.
LABELLED_FIELDS: frozenset[str] = frozenset(
    name for fields in (*EDITABLE.values(), *EXTRA_FIELDS.values()) for name in fields
)


def field_sort_key(record_kind: str | None, field: str) -> str:
    """What a sort by « Champ » orders on: the French label the page shows, without case nor
    accents, for a labelled field (:data:`LABELLED_FIELDS`); the name in lower case for any
    other (a holder's identifier, a new column: its readable label follows its name); the whole
    record (``''``, shown « — ») first. The database computes the same
    (:func:`workbench.review.queries.field_order`)."""
    if field in LABELLED_FIELDS:
        return fold(field_label(record_kind, field))
    return field.lower()


def field_sort_keys(record_kind: str) -> dict[str, str]:
    """:func:`field_sort_key` of every labelled field of ``record_kind``."""
    return {name: field_sort_key(record_kind, name) for name in sorted(LABELLED_FIELDS)}


def rule_sort_key(code: str) -> tuple[str, str]:
    """What a sort by « Règle » orders on: the rule's title the page shows, without case nor
    accents (ties, never met: the code)."""
    return fold(rule_title(code)), code


def rule_title(code: str | None) -> str:
    """The French title of a rule (its readable code when the rule is unknown)."""
    if not code:
        return "—"
    from workbench.rules.registry import get_rule

    rule = get_rule(code)
    return rule.title if rule is not None else readable(code)


AMOUNT_FIELDS = frozenset({"amount", "amount_ht", "unit_price"})
#: Declared origins as the supplier files write them.
ORIGINS = {"FRANCE": "France", "UE": "Union européenne", "EUROPE": "Europe", "HORS_UE": "Hors UE"}


def shown_value(record_kind: str | None, field: str | None, value: object) -> str:
    """A field value as the record page shows it (amounts in euros, lists with commas, dates
    ``jj/mm/aaaa``, « — » for empty): never ``None`` or JSON."""
    from workbench.core.formatting import format_amount, format_value

    if field in AMOUNT_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return format_amount(value)
    if field == "labels" and isinstance(value, str):
        from workbench.reference.models import LABELS

        return ", ".join(LABELS.get(v, v) for v in value.split(",") if v) or "—"
    if field == "family" and isinstance(value, str):
        from workbench.reference.models import FAMILIES

        return FAMILIES.get(value, value)
    if field == "origin" and isinstance(value, str):
        return ORIGINS.get(value.upper(), value)
    return format_value(value)
