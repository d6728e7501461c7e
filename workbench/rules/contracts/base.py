"""Shared by the contract rules: mandatory fields, closed lists, patterns, helpers, base class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.rules.common import fmt
from workbench.rules.registry import Rule

#: Mandatory DECP fields we hold, per kind (column names; holders checked separately).
MANDATORY: dict[str, dict[str, str]] = {
    "marche": {
        "contract_id": "identifiant du marché",
        "buyer_id": "identifiant de l'acheteur",
        "nature": "nature",
        "object": "objet",
        "cpv_code": "code CPV",
        "procedure": "procédure",
        "place_code": "lieu d'exécution",
        "duration_months": "durée en mois",
        "notification_date": "date de notification",
        "publication_date": "date de publication des données",
        "amount": "montant",
        "price_form": "forme du prix",
        "offers_received": "nombre d'offres reçues",
        "social_considerations": "considérations sociales",
        "environmental_considerations": "considérations environnementales",
    },
    "concession": {
        "contract_id": "identifiant du contrat",
        "buyer_id": "identifiant de l'autorité concédante",
        "nature": "nature",
        "object": "objet",
        "procedure": "procédure",
        "signature_date": "date de signature",
        "start_date": "date de début d'exécution",
        "publication_date": "date de publication des données",
        "amount": "valeur globale",
    },
}
TEXT_FIELDS = (
    "contract_id",
    "buyer_name",
    "nature",
    "object",
    "procedure",
    "place_name",
    "ccag",
    "price_form",
)
PLACEHOLDER_FIELDS = (
    "contract_id",
    "buyer_id",
    "buyer_name",
    "nature",
    "object",
    "cpv_code",
    "procedure",
    "place_code",
    "place_name",
    "price_form",
    "ccag",
)
PLACEHOLDER_RE = r"(?i)^\s*(NC|N\.C\.?|N/C|N/A|NA|NON\s+COMMUNIQU[EÉ]E?|NON\s+RENSEIGN[EÉ]E?|INCONNUE?|\?+|-+|0+)\s*$"
BROKEN_RE = "\ufffd|Ã[\u0080-\u00bf]|â€|Â[\u0080-\u00bf]"
NO_SOCIAL = "Pas de considération sociale"
NO_ENVIRONMENTAL = "Pas de considération environnementale"


def reference_date(contracts: pd.DataFrame) -> pd.Series:
    """Notification date (marchés) or signature date (concessions)."""
    return contracts["notification_date"].where(
        contracts["kind"] != "concession", contracts["signature_date"]
    )


def _is_empty(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return not value
    return False


def _fmt_amount(values: pd.Series) -> pd.Series:
    return fmt(values, ".2f")


def _fmt_date(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%d/%m/%Y").fillna("")


class _ContractRule(Rule):
    domain = "contracts"
    record_kind = "contract"
    owner_role = "direction"
    queue = "contracts"
    approval_policy = "approval"
    tables = ("contracts",)
