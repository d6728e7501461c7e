"""One demo DECP v2 record (marché or concession) as the official schema lays it out, and the
real-world mistakes :data:`ERRORS` injects in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

import pandas as pd

from workbench.demo.nomenclature import DATA_DIR

REGION_SIRET = "23350001600040"
CONTRACT_COUNT = 320
ERROR_SHARE = 0.12

MARCHE_REQUIRED = (
    "id",
    "acheteur",
    "nature",
    "objet",
    "codeCPV",
    "techniques",
    "modalitesExecution",
    "marcheInnovant",
    "ccag",
    "offresRecues",
    "attributionAvance",
    "typeGroupementOperateurs",
    "procedure",
    "lieuExecution",
    "dureeMois",
    "dateNotification",
    "datePublicationDonnees",
    "montant",
    "typesPrix",
    "formePrix",
    "sousTraitanceDeclaree",
    "titulaires",
    "considerationsSociales",
    "considerationsEnvironnementales",
)
CONCESSION_REQUIRED = (
    "id",
    "autoriteConcedante",
    "nature",
    "objet",
    "procedure",
    "dureeMois",
    "dateSignature",
    "datePublicationDonnees",
    "dateDebutExecution",
    "valeurGlobale",
    "montantSubventionPublique",
    "concessionnaires",
    "considerationsSociales",
    "considerationsEnvironnementales",
)

PROCEDURES = (
    "Procédure adaptée",
    "Appel d'offres ouvert",
    "Appel d'offres restreint",
    "Procédure avec négociation",
    "Marché passé sans publicité ni mise en concurrence préalable",
    "Dialogue compétitif",
)
PROCEDURE_WEIGHTS = (0.45, 0.38, 0.03, 0.07, 0.06, 0.01)
CONCESSION_PROCEDURES = (
    "Procédure négociée ouverte",
    "Procédure non négociée ouverte",
    "Procédure négociée restreinte",
    "Procédure non négociée restreinte",
)
SOCIAL = ("Clause sociale", "Critère social", "Marché réservé")
NO_SOCIAL = "Pas de considération sociale"
ENVIRONMENTAL = ("Clause environnementale", "Critère environnemental")
NO_ENVIRONMENTAL = "Pas de considération environnementale"


@cache
def cpv_table() -> pd.DataFrame:
    """The CPV 2008 list (code ``NNNNNNNN-C``, French label) shipped in ``workbench/data``."""
    table = pd.read_csv(DATA_DIR / "cpv_2008.csv", dtype=str)
    table.columns = ["code", "label"]
    table["division"] = table["code"].str[:2]
    return table


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _bad_cpv(record: dict[str, Any]) -> None:
    known = set(cpv_table()["code"].str[:8])
    root = record["codeCPV"][:2] + "999990"
    while root in known:
        root = str(int(root) + 1).zfill(8)
    record["codeCPV"] = root + "-" + record["codeCPV"][-1]


def _corrupt(siret: str) -> str:
    return siret[:-1] + str((int(siret[-1]) + 3) % 10)


def _set_holder(record: dict[str, Any], value: Callable[[str], str]) -> None:
    holder = record["titulaires"][0]["titulaire"]
    holder["id"] = value(holder["id"])


#: Deliberate errors: code → mutation of a marché record (DOMAIN.md, real-world quality rules).
ERRORS: dict[str, Callable[[dict[str, Any]], None]] = {
    "BUYER_SIRET_INVALID": lambda r: r["acheteur"].update(id=_corrupt(r["acheteur"]["id"])),
    "HOLDER_SIRET_INVALID": lambda r: _set_holder(r, _corrupt),
    "HOLDER_SIRET_6_DIGITS": lambda r: _set_holder(r, lambda s: s[:6]),
    "CPV_UNKNOWN": _bad_cpv,
    "AMOUNT_123456": lambda r: r.update(montant=123456.78),
    "AMOUNT_999999": lambda r: r.update(montant=999999),
    "AMOUNT_TINY": lambda r: r.update(montant=150.0),
    "AMOUNT_OUTLIER": lambda r: r.update(montant=round(r["montant"] * 400, 2)),
    "DURATION_ZERO": lambda r: r.update(dureeMois=0),
    "DURATION_DAYS": lambda r: r.update(dureeMois=365),
    "PUBLICATION_BEFORE_NOTIFICATION": lambda r: r.update(
        datePublicationDonnees=_shift(r["dateNotification"], -12)
    ),
    "PUBLICATION_LATE": lambda r: r.update(
        datePublicationDonnees=_shift(r["dateNotification"], 118)
    ),
    "OFFERS_ZERO": lambda r: r.update(offresRecues=0),
    "ADVANCE_RATE_WITHOUT_ADVANCE": lambda r: r.update(attributionAvance=False, tauxAvance=0.2),
    "SOCIAL_CONTRADICTION": lambda r: r.update(
        considerationsSociales={"considerationSociale": [NO_SOCIAL, "Clause sociale"]}
    ),
    "MOJIBAKE": lambda r: r.update(
        objet=_mojibake(r["objet"] if "é" in r["objet"] else r["objet"] + " — matériel")
    ),
    "NC_PLACEHOLDER": lambda r: r["lieuExecution"].update(code="NC"),
}


def decp_marche(
    *,
    id: str,
    buyer: str = REGION_SIRET,
    objet: str = "Fourniture de denrées alimentaires pour les lycées publics",
    cpv: str = "15000000-8",
    holders: list[str] | None = None,
    procedure: str = "Appel d'offres ouvert",
    amount: float = 150000.0,
    duration: int = 12,
    notified: dt.date = dt.date(2025, 3, 1),
    published: dt.date | None = None,
    ccag: str = "Fournitures courantes et services",
    offers: int = 3,
    advance: float | None = None,
    framework: bool = False,
    place: tuple[str, str] = ("53", "Code région"),
    social: list[str] | None = None,
    environmental: list[str] | None = None,
    price_form: str = "Unitaire",
    price_types: list[str] | None = None,
    origin: tuple[float, float] | None = None,
    subcontractors: list[tuple[str, float]] | None = None,
    modifications: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One DECP v2 ``marche`` record (the official key names, lists wrapped as in the schema)."""
    holders = holders or ["55204599900869"]
    record: dict[str, Any] = {
        "id": id,
        "acheteur": {"id": buyer},
        "nature": "Marché",
        "objet": objet,
        "codeCPV": cpv,
        "techniques": {"technique": ["Accord-cadre"] if framework else ["Sans objet"]},
        "modalitesExecution": {
            "modaliteExecution": ["Bons de commande"] if framework else ["Sans objet"]
        },
        "marcheInnovant": False,
        "ccag": ccag,
        "offresRecues": offers,
        "attributionAvance": advance is not None,
        "typeGroupementOperateurs": "Pas de groupement" if len(holders) == 1 else "Conjoint",
        "procedure": procedure,
        "lieuExecution": {"code": place[0], "typeCode": place[1]},
        "dureeMois": duration,
        "dateNotification": notified.isoformat(),
        "datePublicationDonnees": (published or notified + dt.timedelta(days=14)).isoformat(),
        "montant": amount,
        "typesPrix": {"typePrix": price_types or ["Définitif révisable"]},
        "formePrix": price_form,
        "sousTraitanceDeclaree": bool(subcontractors),
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": h}} for h in holders],
        "considerationsSociales": {"considerationSociale": social or [NO_SOCIAL]},
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": environmental or [NO_ENVIRONMENTAL]
        },
    }
    if advance is not None:
        record["tauxAvance"] = advance
    if origin is not None:
        record["origineUE"], record["origineFrance"] = origin
    if subcontractors:
        record["actesSousTraitance"] = [
            {
                "acteSousTraitance": {
                    "id": i + 1,
                    "sousTraitant": {"typeIdentifiant": "SIRET", "id": siret},
                    "dureeMois": duration,
                    "dateNotification": (notified + dt.timedelta(days=30)).isoformat(),
                    "montant": sub_amount,
                    "variationPrix": "Révisable",
                    "datePublicationDonnees": (notified + dt.timedelta(days=40)).isoformat(),
                }
            }
            for i, (siret, sub_amount) in enumerate(subcontractors)
        ]
    if modifications:
        record["modifications"] = [
            {"modification": {"id": i + 1, **m}} for i, m in enumerate(modifications)
        ]
    return record


def decp_concession(
    *,
    id: str,
    authority: str = REGION_SIRET,
    nature: str = "Délégation de service public",
    objet: str = "Exploitation de lignes régionales de transport de voyageurs",
    procedure: str = "Procédure négociée ouverte",
    holders: list[str] | None = None,
    value: float = 2_500_000.0,
    subsidy: float = 0.0,
    duration: int = 84,
    signed: dt.date = dt.date(2025, 3, 1),
    published: dt.date | None = None,
    social: list[str] | None = None,
    environmental: list[str] | None = None,
) -> dict[str, Any]:
    """One DECP v2 ``contrat-concession`` record."""
    return {
        "id": id,
        "autoriteConcedante": {"id": authority},
        "nature": nature,
        "objet": objet,
        "procedure": procedure,
        "dureeMois": duration,
        "dateSignature": signed.isoformat(),
        "datePublicationDonnees": (published or signed + dt.timedelta(days=20)).isoformat(),
        "dateDebutExecution": (signed + dt.timedelta(days=60)).isoformat(),
        "valeurGlobale": value,
        "montantSubventionPublique": subsidy,
        "concessionnaires": [
            {"concessionnaire": {"typeIdentifiant": "SIRET", "id": h}}
            for h in holders or ["55204599900869"]
        ],
        "considerationsSociales": {"considerationSociale": social or [NO_SOCIAL]},
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": environmental or [NO_ENVIRONMENTAL]
        },
    }
