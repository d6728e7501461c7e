"""The demo's contract set: records drawn with the seeded generator, a share carrying mistakes."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd

from workbench.demo.decp.columns import contract_columns, holder_rows, modification_rows
from workbench.demo.decp.records import (
    CONCESSION_PROCEDURES,
    CONTRACT_COUNT,
    ENVIRONMENTAL,
    ERROR_SHARE,
    ERRORS,
    NO_ENVIRONMENTAL,
    NO_SOCIAL,
    PROCEDURE_WEIGHTS,
    PROCEDURES,
    REGION_SIRET,
    SOCIAL,
    cpv_table,
    decp_concession,
    decp_marche,
)

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
