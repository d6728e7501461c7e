"""Demo supplier matrices: the articles each supplier sells, with label, origin, unit and price."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from workbench.demo.catalogue import (
    DUPLICATE_SPELLING,
    FAMILY_SPECS,
    LABEL_RATES,
    LABEL_TOKENS,
    ORIGIN_RATES,
    ORIGINS,
)
from workbench.demo.nomenclature import article_core, compose_label

# --------------------------------------------------------------------------------------------
# Supplier matrices
# --------------------------------------------------------------------------------------------


def _origin_token(rng: np.random.Generator, origin: str, core: str, family: str) -> str:
    if origin == "FRANCE":
        if family == "VIANDES_VOLAILLES" and (" BF" in f" {core}" or "VEAU" in core):
            return "VBF" if rng.random() < 0.8 else "ORIGINE FRANCE"
        if family == "CHARCUTERIE" or "PORC" in core:
            return "VPF" if rng.random() < 0.6 else ""
        return str(rng.choice(["ORIGINE FRANCE", "FR", "", ""]))
    if origin == "UE":
        return "UE" if rng.random() < 0.4 else ""
    return ""


def _unit_and_pack(rng: np.random.Generator, family: str, core: str) -> tuple[str, str, float]:
    spec = FAMILY_SPECS[family]
    unit, low, high = spec.unit, *spec.price
    packs = spec.packs
    if family == "PRODUITS_LAITIERS" and any(
        w in core for w in ("YAOURT", "DESSERT", "FROM BLANC", "PETIT", "CREME")
    ):
        unit, low, high, packs = "U", 0.14, 0.55, ("125G X48", "X48", "100G X24", "X96")
    elif family == "PRODUITS_LAITIERS" and core.startswith("LAIT"):
        unit, low, high, packs = "L", 0.75, 1.6, ("6X1L", "1L", "BRIQUE 1L")
    elif family == "BOULANGERIE" and rng.random() < 0.5:
        unit, low, high, packs = "U", 0.18, 0.95, ("X60", "X30", "X100", "PCE 50G")
    price = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return unit, str(rng.choice(packs)), round(price, 2)


#: CIQUAL sub-groups with a state of their own (others: the family's states).
_SUBGROUP_STATES = {
    "GRP-0204": ("", "", "FRAIS"),
    "GRP-0203": ("",),
    "GRP-0205": ("",),
    "GRP-0202": ("", "FRAIS", "SURG"),
    "GRP-0103": ("", "SURG"),
    "GRP-0104": ("SURG",),
    "GRP-0801": ("SURG",),
    "GRP-0802": ("SURG",),
    "GRP-0803": ("SURG",),
}


def _state(rng: np.random.Generator, family: str, parent_code: str | None) -> str:
    states = _SUBGROUP_STATES.get(parent_code or "")
    if states is None:
        states = FAMILY_SPECS[family].states if family != "AUTRES" else ("",)
    return str(rng.choice(states))


def _pick_labels(rng: np.random.Generator, families: pd.Series, kind: str) -> list[list[str]]:
    """Labels of a supplier's articles: per family, each label on ``rate × count`` articles
    (stratified, so the EGalim shares vary little from one seed to another)."""
    labels: list[list[str]] = [[] for _ in range(len(families))]
    for family, positions in (
        families.reset_index(drop=True).groupby(families.to_numpy()).groups.items()
    ):
        for label, rate in LABEL_RATES[str(family)].items():
            if label == "BIO" and kind == "bio":
                rate = 0.6
            exact = rate * len(positions)
            count = int(exact) + int(rng.random() < exact - int(exact))
            for position in rng.choice(np.asarray(positions), count, replace=False):
                labels[int(position)].append(label)
    return labels


def generate_matrix(
    rng: np.random.Generator, suppliers: pd.DataFrame, nomenclature: pd.DataFrame
) -> pd.DataFrame:
    """20–80 articles per food supplier; ``true_code`` is the right nomenclature code of each."""
    rows = []
    food = suppliers[suppliers["kind"] != "other"]
    food = food[food["name"] != DUPLICATE_SPELLING]
    for supplier in food.itertuples():
        candidates = nomenclature[nomenclature["family"].isin(supplier.families)]
        count = min(int(rng.integers(20, 81)), len(candidates))
        chosen = candidates.iloc[np.sort(rng.choice(len(candidates), count, replace=False))]
        prefix = "".join(w[0] for w in supplier.name.split()[:3] if w[0].isalpha())
        style = int(rng.integers(0, 3))
        numbers = rng.choice(np.arange(1000, 99999), count, replace=False)
        picked = _pick_labels(rng, chosen["family"], supplier.kind)
        for item, number, labels in zip(chosen.itertuples(), numbers, picked, strict=True):
            family = item.family
            core = article_core(item.label)
            if supplier.kind == "farm" and family != "FRUITS_ET_LEGUMES" and rng.random() < 0.5:
                labels.append("FERMIER")
            origin = str(rng.choice(ORIGINS, p=ORIGIN_RATES[family]))
            if supplier.kind == "farm":
                origin = "FRANCE"
            unit, pack, price = _unit_and_pack(rng, family, core)
            if "BIO" in labels:
                price = round(price * 1.3, 2)
            if "LABEL_ROUGE" in labels:
                price = round(price * 1.25, 2)
            quality = " ".join(
                str(rng.choice(LABEL_TOKENS[lab])) for lab in labels if lab in LABEL_TOKENS
            )
            label = compose_label(
                core,
                quality=quality,
                origin=_origin_token(rng, origin, core, family),
                state=_state(rng, family, item.parent_code),
                pack=pack,
            )
            reference = (f"{prefix}{number:05d}", f"{number:06d}", f"{prefix}-{number:05d}")[style]
            expired = rng.random() < 0.06
            rows.append(
                {
                    "supplier_key": supplier.key,
                    "reference": reference,
                    "label": label,
                    "nomenclature_code": item.code if rng.random() < 0.95 else None,
                    "true_code": item.code,
                    "family": family,
                    "labels": ",".join(dict.fromkeys(labels)),
                    "origin": origin,
                    "unit_price": price,
                    "unit": unit,
                    "valid_from": dt.date(2025, 1, 1) if expired else dt.date(2025, 8, 25),
                    "valid_to": dt.date(2025, 12, 31) if expired else dt.date(2026, 8, 31),
                }
            )
    return pd.DataFrame(rows)
