"""Demo reference tables: sites (lycées) and suppliers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from stdnum import luhn

from workbench.demo.catalogue import (
    BRETON_COMMUNES,
    DUPLICATE_SPELLING,
    FOOD_SUPPLIERS,
    HEADCOUNT,
    LYCEES,
    OTHER_COMMUNES,
    OTHER_SUPPLIERS,
)
from workbench.demo.generate.identifiers import corrupt_siret, make_siret, uai_code

# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------


def eple_siret(department: str, number: int) -> str:
    """A lycée's own SIRET (EPLE: SIREN starting with 19 and the department), head office NIC."""
    body = f"19{department}{number % 10_000:04d}"
    siren = body + luhn.calc_check_digit(body)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


def generate_sites(count: int | None = None) -> pd.DataFrame:
    """The 10 named lycées, then numbered ones in the same towns up to ``count`` (regional)."""
    rows = [
        {
            "uai": uai_code(number),
            "siret": eple_siret(dep, number),
            "name": name,
            "kind": "lycee",
            "commune": commune,
            "department": dep,
            "direction_code": "DLYC",
            "commune_code": insee,
            "weight": weight,
        }
        for name, commune, dep, insee, number, weight in LYCEES
    ]
    for i in range(max(0, (count or 0) - len(LYCEES))):
        _, commune, dep, insee, base, _ = LYCEES[i % len(LYCEES)]
        number = int(dep) * 10_000 + 1_000 + i  # distinct UAI and SIRET (mod 10 000)
        rows.append(
            {
                "uai": uai_code(number),
                "siret": eple_siret(dep, number),
                "name": f"Lycée n° {len(LYCEES) + i + 1} ({commune})",
                "kind": "lycee",
                "commune": commune,
                "department": dep,
                "direction_code": "DLYC",
                "commune_code": insee,
                "weight": 0.6 + (i % 7) / 10,
            }
        )
    return pd.DataFrame(rows)


def _category(rng: np.random.Generator, kind: str) -> tuple[str | None, str | None]:
    if kind == "farm":
        return "PME", str(rng.choice(["01", "02", "NN"]))
    if kind == "wholesale":
        category = str(rng.choice(["ETI", "GE"], p=[0.4, 0.6]))
    else:
        category = str(rng.choice(["PME", "ETI", "GE"], p=[0.8, 0.15, 0.05]))
    return category, str(rng.choice(HEADCOUNT[category]))


def generate_suppliers(rng: np.random.Generator) -> pd.DataFrame:
    """~50 suppliers: 30 food suppliers (with matrices), 20 others, one twice under two spellings.

    Defects by design: 3 SIRETs failing Luhn, 2 missing, 4 without company category, some
    outside Brittany. ``key`` is a stable integer id inside the frames.
    """
    rows = []
    for name, families, kind, weight in FOOD_SUPPLIERS:
        category, headcount = _category(rng, kind)
        rows.append(
            {
                "name": name,
                "families": families,
                "kind": kind,
                "weight": weight,
                "company_category": category,
                "headcount_bracket": headcount,
                "is_ess": kind == "bio" or name.startswith("SCA "),
                "direction_code": "DLYC",
                "cpv_division": "15",
            }
        )
    for name, direction, division, ess in OTHER_SUPPLIERS:
        category, headcount = _category(rng, "trade")
        if name.startswith(("ENERGIES", "LOGICIELS")):
            category, headcount = "GE", "52"
        rows.append(
            {
                "name": name,
                "families": (),
                "kind": "other",
                "weight": 0.0,
                "company_category": category,
                "headcount_bracket": headcount,
                "is_ess": ess,
                "direction_code": direction,
                "cpv_division": division,
            }
        )
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame["siret"] = [make_siret(rng) for _ in range(n)]
    out_of_region = set(rng.choice(np.arange(n), 6, replace=False).tolist()) | {n - 3, n - 4}
    frame["commune_code"] = [
        str(rng.choice(OTHER_COMMUNES)) if i in out_of_region else str(rng.choice(BRETON_COMMUNES))
        for i in range(n)
    ]
    # deliberate defects, on fixed positions so every seed has them
    for i in (8, 21, 38):
        frame.loc[i, "siret"] = corrupt_siret(frame.loc[i, "siret"])
    for i in (12, 44):
        frame.loc[i, "siret"] = None
    for i in (6, 19, 33, 47):
        frame.loc[i, ["company_category", "headcount_bracket"]] = [None, None]
    twin = frame.iloc[0].to_dict()
    twin.update(
        name=DUPLICATE_SPELLING, siret=make_siret(rng, frame.loc[0, "siret"][:9]), weight=0.0
    )
    frame = pd.concat([frame, pd.DataFrame([twin])], ignore_index=True)
    frame["siret_valid"] = frame["siret"].map(_siret_is_valid)
    frame.insert(0, "key", np.arange(len(frame)))
    return frame


def _siret_is_valid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        return False
    return luhn.is_valid(value) and luhn.is_valid(value[:9])
