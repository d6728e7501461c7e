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
#: Fields that exist only since DECP v2: never "missing" on a 1.5 record or a flat CSV row.
V2_ONLY = frozenset({"offers_received", "social_considerations", "environmental_considerations"})
#: Formats whose records predate v2 (the flat CSV of decp.info follows the 1.5 fields).
PRE_V2_FORMATS = ("decp_1.5", "decp_csv")
#: DECP field names (as value errors name them) → contract columns.
DECP_COLUMNS = {
    "id": "contract_id",
    "acheteur.id": "buyer_id",
    "acheteur.nom": "buyer_name",
    "acheteur_nom": "buyer_name",
    "autoriteConcedante.id": "buyer_id",
    "autoriteConcedante.nom": "buyer_name",
    "nature": "nature",
    "objet": "object",
    "codeCPV": "cpv_code",
    "procedure": "procedure",
    "marcheInnovant": "is_innovative",
    "ccag": "ccag",
    "offresRecues": "offers_received",
    "attributionAvance": "has_advance",
    "tauxAvance": "advance_rate",
    "typeGroupementOperateurs": "grouping_type",
    "idAccordCadre": "framework_id",
    "lieuExecution.code": "place_code",
    "lieuExecution_code": "place_code",
    "lieuExecution.typeCode": "place_type",
    "lieuExecution_typeCode": "place_type",
    "lieuExecution.nom": "place_name",
    "lieuExecution_nom": "place_name",
    "dureeMois": "duration_months",
    "dateNotification": "notification_date",
    "datePublicationDonnees": "publication_date",
    "dateSignature": "signature_date",
    "dateDebutExecution": "start_date",
    "montant": "amount",
    "valeurGlobale": "amount",
    "montantSubventionPublique": "public_subsidy",
    "formePrix": "price_form",
    "sousTraitanceDeclaree": "subcontracting_declared",
    "origineUE": "origin_eu",
    "origineFrance": "origin_france",
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


def child(frames: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """``frames[name]``, or an empty frame with its columns when the caller did not load it."""
    if name in frames:
        return frames[name]
    from workbench.rules.frames import COLUMNS

    return pd.DataFrame({c.key: pd.Series(dtype="object") for c in COLUMNS[name]})


def value_errors(contracts: pd.DataFrame, kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per value error of the contracts: record_id, field, raw, message, file, kind."""
    rows = []
    if "value_errors" in contracts:
        for record_id, items in zip(contracts["id"], contracts["value_errors"], strict=True):
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                kind = str(item.get("kind") or "unreadable")
                if kinds is None or kind in kinds:
                    rows.append(
                        (
                            int(record_id),
                            str(item.get("field") or "(racine)")[:60],
                            "" if item.get("raw") is None else str(item.get("raw"))[:200],
                            str(item.get("message") or ""),
                            str(item.get("file") or ""),
                            kind,
                        )
                    )
    return pd.DataFrame(rows, columns=["record_id", "field", "raw", "message", "file", "kind"])


def modification_holders(modifications: pd.DataFrame) -> pd.DataFrame:
    """One row per holder named by a modification: contract_id, position, holder, id_type,
    identifier (from the ``holders`` JSON of the modifications)."""
    rows = []
    if "holders" in modifications:
        for contract_id, position, holders in zip(
            modifications["contract_id"],
            modifications["position"],
            modifications["holders"],
            strict=True,
        ):
            for j, holder in enumerate(holders if isinstance(holders, list) else []):
                if isinstance(holder, dict):
                    rows.append(
                        (
                            int(contract_id),
                            int(position),
                            int(holder.get("position", j) or j),
                            holder.get("id_type"),
                            holder.get("identifier"),
                        )
                    )
    return pd.DataFrame(
        rows, columns=["contract_id", "position", "holder", "id_type", "identifier"]
    )


def modification_field(position: pd.Series, name: str) -> pd.Series:
    """``modifications[<position>].<name>`` per row."""
    return "modifications[" + position.astype("int64").astype(str) + "]." + name


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
