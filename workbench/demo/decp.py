"""Demo contract records in DECP v2 shape (pure: numpy/pandas, no Flask, no database).

:func:`decp_marche` and :func:`decp_concession` build one record exactly as the official schema
(``schema_decp_v2.0.3.json``) lays it out — the dict stored in ``Contract.raw`` and reusable by
exports. :func:`contract_columns` maps such a record to the ``contracts`` columns,
:func:`holder_rows` and :func:`modification_rows` to its children. :data:`ERRORS` lists the
real-world mistakes injected in a share of the records (DOMAIN.md, "Known real-world quality
rules"); the frame's ``error`` column says which record carries which.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from workbench.demo.nomenclature import DATA_DIR
from workbench.imports.decp import schema_errors

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

#: Contract mix: (CPV division, direction, share, CCAG, object template).
DIVISIONS = (
    (
        "15",
        "DLYC",
        0.30,
        "Fournitures courantes et services",
        "Fourniture de denrées alimentaires pour les lycées publics — lot {lot} : {cpv}",
    ),
    ("55", "DLYC", 0.06, "Fournitures courantes et services", "{cpv} — {site}"),
    (
        "39",
        "DLYC",
        0.07,
        "Fournitures courantes et services",
        "{cpv} pour les lycées publics bretons",
    ),
    ("45", "DIMM", 0.17, "Travaux", "{site} ({commune}) — travaux, lot {lot} : {cpv}"),
    ("71", "DIMM", 0.05, "Maitrise d'œuvre", "Maîtrise d'œuvre — {site} : {cpv}"),
    (
        "50",
        "DIMM",
        0.04,
        "Fournitures courantes et services",
        "{cpv} — lycées du secteur de {commune}",
    ),
    ("90", "DIMM", 0.05, "Fournitures courantes et services", "{cpv} — {site}"),
    ("70", "DIMM", 0.01, "Prestations intellectuelles", "{cpv} — patrimoine régional"),
    (
        "30",
        "DSIN",
        0.04,
        "Techniques de l'information et de la communication",
        "{cpv} pour les lycées et les services régionaux",
    ),
    (
        "32",
        "DSIN",
        0.02,
        "Techniques de l'information et de la communication",
        "{cpv} — réseau régional",
    ),
    (
        "48",
        "DSIN",
        0.04,
        "Techniques de l'information et de la communication",
        "{cpv} — système d'information régional",
    ),
    (
        "72",
        "DSIN",
        0.04,
        "Techniques de l'information et de la communication",
        "{cpv} — système d'information régional",
    ),
    ("64", "DSIN", 0.01, "Techniques de l'information et de la communication", "{cpv}"),
    ("79", "DSIN", 0.02, "Prestations intellectuelles", "{cpv} — services de la Région"),
    ("80", "DSIN", 0.02, "Prestations intellectuelles", "{cpv} — agents régionaux"),
    ("09", None, 0.02, "Fournitures courantes et services", "{cpv} — bâtiments régionaux"),
    ("60", None, 0.03, "Fournitures courantes et services", "{cpv} — lignes régionales BreizhGo"),
    ("66", None, 0.01, "Prestations intellectuelles", "{cpv} — flotte et patrimoine régional"),
)


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


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def contract_columns(record: dict[str, Any], kind: str = "marche") -> dict[str, Any]:
    """The ``contracts`` columns of a DECP v2 record (``raw`` is the record itself)."""
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


def _external_siret(rng: np.random.Generator) -> str:
    from workbench.demo.generate import make_siret

    return make_siret(rng)


def generate_contracts(
    rng: np.random.Generator,
    suppliers: pd.DataFrame,
    sites: pd.DataFrame,
    count: int = CONTRACT_COUNT,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``count`` DECP v2 records (a few concessions) and their holder and modification rows.

    Returns (contracts, holders, modifications); children carry ``contract_key`` (the row of
    the contract in the first frame).
    """
    cpv = cpv_table()
    by_division = {d: cpv[cpv["division"] == d] for d in {row[0] for row in DIVISIONS}}
    shares = np.array([row[2] for row in DIVISIONS])
    holders_by_division: dict[str, list[str]] = {}
    valid = suppliers[suppliers["siret"].notna()]
    for row in valid.itertuples():
        holders_by_division.setdefault(row.cpv_division, []).append(row.siret)
    names = dict(zip(valid["siret"], valid["name"], strict=True))
    ess = set(valid.loc[valid["is_ess"], "siret"])
    cpv_label = dict(zip(cpv["code"], cpv["label"], strict=True))
    division_codes = {d: frame["code"].to_numpy() for d, frame in by_division.items()}
    external = [_external_siret(rng) for _ in range(25)]
    site_rows = list(sites.itertuples())

    n_concessions = 12
    error_positions = rng.choice(
        np.arange(n_concessions, count), round(count * ERROR_SHARE), replace=False
    )
    error_codes = list(ERRORS)
    error_of = {
        int(p): error_codes[i % len(error_codes)] for i, p in enumerate(np.sort(error_positions))
    }

    contracts, holders, modifications = [], [], []
    sequence: dict[str, int] = {}
    for i in range(count):
        kind = "concession" if i < n_concessions else "marche"
        division, direction, _, ccag, template = DIVISIONS[
            int(rng.choice(len(DIVISIONS), p=shares / shares.sum()))
        ]
        if kind == "concession":
            division, direction = ("60", None) if i % 3 else ("55", "DLYC")
        site = site_rows[int(rng.integers(len(site_rows)))]
        notified = dt.date(2024, 1, 15) + dt.timedelta(days=int(rng.integers(0, 800)))
        year = notified.year % 100
        prefix = direction or "REG"
        sequence[prefix] = sequence.get(prefix, 0) + 1
        contract_id = f"{year}{prefix}{sequence[prefix]:04d}"
        codes = division_codes[division]
        code = (
            "55523100-3"
            if division == "55" and rng.random() < 0.7
            else str(codes[int(rng.integers(len(codes)))])
        )
        label = cpv_label[code]
        objet = template.format(
            lot=int(rng.integers(1, 13)), cpv=label, site=site.name, commune=site.commune
        )
        pool = holders_by_division.get(division) or external
        n_holders = 1 if rng.random() < 0.9 else int(rng.integers(2, 4))
        chosen = [
            str(rng.choice(pool)) if rng.random() < 0.8 else str(rng.choice(external))
            for _ in range(n_holders)
        ]
        chosen = list(dict.fromkeys(chosen))
        amount = float(np.exp(rng.normal(np.log(200_000), 1.0)))
        if not 40_000 <= amount <= 5_000_000:  # DECP threshold and a plausible ceiling
            amount = float(rng.uniform(40_000, 5_000_000 if amount > 5_000_000 else 80_000))
        amount = round(amount, -2) if rng.random() < 0.6 else round(amount, 2)
        published = notified + dt.timedelta(days=int(rng.integers(2, 58)))
        social = [str(rng.choice(SOCIAL[:2]))] if rng.random() < 0.3 else [NO_SOCIAL]
        environmental = (
            [str(e) for e in rng.choice(ENVIRONMENTAL, int(rng.integers(1, 3)), replace=False)]
            if rng.random() < 0.65
            else [NO_ENVIRONMENTAL]
        )
        if kind == "concession":
            nature = "Délégation de service public" if division == "60" else "Concession de service"
            if nature == "Concession de service":
                objet = f"Restauration scolaire — {site.name} ({site.commune})"
            else:
                objet = f"Exploitation de lignes régionales de transport de voyageurs BreizhGo — lot {i + 1}"
            record = decp_concession(
                id=contract_id,
                nature=nature,
                objet=objet,
                holders=chosen,
                procedure=str(rng.choice(CONCESSION_PROCEDURES)),
                value=round(amount * 20, 2),
                subsidy=round(amount * float(rng.uniform(0, 5)), 2),
                duration=int(rng.choice([60, 84, 96, 120])),
                signed=notified,
                published=published,
                social=social,
                environmental=environmental,
            )
            buyer_name = "Région Bretagne"
        else:
            buyer = REGION_SIRET
            buyer_name = "Région Bretagne"
            if division in ("15", "55") and rng.random() < 0.12:
                buyer, buyer_name = site.siret, site.name
            framework = division in ("15", "39", "30", "50", "90") and rng.random() < 0.7
            if ess.intersection(chosen) and rng.random() < 0.6:
                social = ["Marché réservé"]
            advance = None
            if rng.random() < 0.45:
                advance = float(rng.choice([0.05, 0.1, 0.2, 0.3, 0.3, 0.0]))
            mods = []
            if rng.random() < 0.08:
                for k in range(int(rng.integers(1, 3))):
                    day = published + dt.timedelta(days=120 * (k + 1))
                    mods.append(
                        {
                            "dateNotificationModification": day.isoformat(),
                            "datePublicationDonneesModification": (
                                day + dt.timedelta(days=10)
                            ).isoformat(),
                            "montant": round(amount * (1.1 + 0.05 * k), 2),
                            "dureeMois": int(rng.choice([12, 24, 36])) + 6,
                            "titulaires": [
                                {"titulaire": {"typeIdentifiant": "SIRET", "id": chosen[0]}}
                            ],
                        }
                    )
            record = decp_marche(
                id=contract_id,
                buyer=buyer,
                objet=objet,
                cpv=code,
                holders=chosen,
                procedure=str(rng.choice(PROCEDURES, p=PROCEDURE_WEIGHTS)),
                amount=amount,
                duration=int(
                    rng.choice(
                        [12, 24, 36, 48, 6, 18, 4], p=[0.3, 0.15, 0.2, 0.15, 0.08, 0.07, 0.05]
                    )
                ),
                notified=notified,
                published=published,
                ccag=ccag,
                offers=int(rng.poisson(3.5)) + 1,
                advance=advance,
                framework=framework,
                place=(
                    (site.commune_code, "Code commune")
                    if rng.random() < 0.6
                    else ("53", "Code région")
                ),
                social=social,
                environmental=environmental,
                price_form="Unitaire" if framework else str(rng.choice(["Forfaitaire", "Mixte"])),
                price_types=[
                    str(
                        rng.choice(
                            ["Définitif révisable", "Définitif ferme", "Définitif actualisable"]
                        )
                    )
                ],
                origin=(
                    (lambda eu: (eu, round(eu * float(rng.uniform(0.5, 1.0)), 2)))(
                        round(float(rng.uniform(0.6, 1.0)), 2)
                    )
                    if division == "15"
                    else None
                ),
                subcontractors=(
                    [(str(rng.choice(external)), round(amount * 0.15, 2))]
                    if rng.random() < 0.08
                    else None
                ),
                modifications=mods,
            )
            if rng.random() < 0.05 and framework:
                record["idAccordCadre"] = f"{year}{prefix}AC{int(rng.integers(1, 99)):02d}"
        error = error_of.get(i, "")
        if error:
            ERRORS[error](record)
        row = contract_columns(copy.deepcopy(record), kind)
        row.update(buyer_name=buyer_name, direction_code=direction, error=error, source_row=i + 1)
        contracts.append(row)
        holders += [{**h, "contract_key": i} for h in holder_rows(record, kind, names)]
        modifications += [{**m, "contract_key": i} for m in modification_rows(record, kind)]
    return pd.DataFrame(contracts), pd.DataFrame(holders), pd.DataFrame(modifications)
