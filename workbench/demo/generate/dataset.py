"""Demo accounts, the whole dataset, and the EGalim shares it measures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from workbench.demo.catalogue import DIRECTIONS, REGIONAL_SITES, SIZES
from workbench.demo.generate.matrices import generate_matrix
from workbench.demo.generate.purchases import generate_purchases
from workbench.demo.generate.reference import generate_sites, generate_suppliers
from workbench.demo.nomenclature import demo_nomenclature
from workbench.reference.models import EGALIM_LABELS

# --------------------------------------------------------------------------------------------
# Accounts and the whole dataset
# --------------------------------------------------------------------------------------------


def generate_accounts(sites: pd.DataFrame) -> pd.DataFrame:
    """One account per role (two legal ones for four-eyes decisions)."""
    uai = dict(zip(sites["name"], sites["uai"], strict=True))
    rows = [
        ("admin@region.example", "admin", "Administratrice des données", [], None),
        ("juridique@region.example", "legal", "Service juridique", [], None),
        ("juridique2@region.example", "legal", "Service juridique (2e valideur)", [], None),
        ("direction.lycees@region.example", "direction", "Direction des lycées", [], "DLYC"),
        ("direction.immo@region.example", "direction", "Direction de l'immobilier", [], "DIMM"),
        (
            "cantine.chateaubriand@region.example",
            "canteen",
            "Cantine du lycée Chateaubriand",
            [uai["Lycée Chateaubriand"]],
            None,
        ),
        (
            "cantine.brizeux@region.example",
            "canteen",
            "Cantine du lycée Brizeux",
            [uai["Lycée Brizeux"]],
            None,
        ),
        (
            "cantine.morbihan@region.example",
            "canteen",
            "Cuisine centrale Vannes–Lorient",
            [uai["Lycée Alain-René Lesage"], uai["Lycée Dupuy de Lôme"]],
            None,
        ),
        ("observatoire@region.example", "viewer", "Observatoire de l'achat public", [], None),
    ]
    return pd.DataFrame(rows, columns=["email", "role", "name", "sites", "direction"])


#: Lycées per generated slice of purchase lines when they are streamed (regional size).
SITES_PER_SLICE = 10


def generate_demo(
    seed: int = 2025, size: str = "small", lines: int | None = None
) -> dict[str, pd.DataFrame]:
    """Every demo table as a DataFrame, deterministic in ``(seed, size, lines)``.

    Keys: directions, sites, accounts, nomenclature, suppliers, matrix, purchases, contracts,
    holders, modifications. ``lines`` overrides the purchase line count of ``size``.

    The ``regional`` size (115 lycées, a million lines) does not hold its purchase lines in
    memory: ``purchases`` is empty and ``frames.purchase_slices()`` (see
    :func:`purchase_slices`) yields them ten lycées at a time, from their own seeded generator.
    """
    from workbench.demo.decp import generate_contracts

    if size not in SIZES:
        raise ValueError(f"taille inconnue : {size} (attendu : {', '.join(SIZES)})")
    rng = np.random.default_rng(seed)
    nomenclature, source = demo_nomenclature()
    nomenclature.attrs["source"] = source
    regional = size == "regional"
    sites = generate_sites(REGIONAL_SITES if regional else None)
    suppliers = generate_suppliers(rng)
    matrix = generate_matrix(rng, suppliers, nomenclature)
    # three items withdrawn from the nomenclature while articles still point to them
    used = np.sort(matrix["nomenclature_code"].dropna().unique())
    nomenclature["is_active"] = ~nomenclature["code"].isin(rng.choice(used, 3, replace=False))
    count = lines or SIZES[size]
    if regional:
        purchases = pd.DataFrame()
    else:
        purchases = generate_purchases(rng, sites, suppliers, matrix, nomenclature, count)
    contracts, holders, modifications = generate_contracts(rng, suppliers, sites)
    frames = {
        "directions": DIRECTIONS.copy(),
        "sites": sites,
        "accounts": generate_accounts(sites),
        "nomenclature": nomenclature,
        "suppliers": suppliers,
        "matrix": matrix,
        "purchases": purchases,
        "contracts": contracts,
        "holders": holders,
        "modifications": modifications,
    }
    if regional:
        purchases.attrs["slices"] = purchase_slices(
            seed, sites, suppliers, matrix, nomenclature, count
        )
    return frames


def purchase_slices(
    seed: int,
    sites: pd.DataFrame,
    suppliers: pd.DataFrame,
    matrix: pd.DataFrame,
    nomenclature: pd.DataFrame,
    lines: int,
) -> Callable[[], Iterator[pd.DataFrame]]:
    """A function yielding the purchase lines :data:`SITES_PER_SLICE` lycées at a time (each
    slice's ``source_row`` continues the previous one); deterministic in ``seed``."""

    def slices() -> Iterator[pd.DataFrame]:
        rng = np.random.default_rng([seed, 1])
        share = sites["weight"].to_numpy() / sites["weight"].sum()
        per_slice = [
            share[start : start + SITES_PER_SLICE].sum()
            for start in range(0, len(sites), SITES_PER_SLICE)
        ]
        counts = rng.multinomial(lines, np.array(per_slice) / sum(per_slice))
        offset = 0
        for number, start in enumerate(range(0, len(sites), SITES_PER_SLICE)):
            part = sites.iloc[start : start + SITES_PER_SLICE].reset_index(drop=True)
            frame = generate_purchases(
                rng, part, suppliers, matrix, nomenclature, int(counts[number])
            )
            frame["source_row"] = frame["source_row"] + offset
            offset += len(frame)
            yield frame

    return slices


def egalim_shares(purchases: pd.DataFrame) -> dict[str, float]:
    """Share of the positive amount declared EGalim (any label) and organic (BIO).

    Lines flagged ``ABSURD`` by the generator (amount × 100) are left out when the column exists.
    """
    positive = purchases[purchases["amount_ht"] > 0]
    if "price_anomaly" in positive.columns:
        positive = positive[positive["price_anomaly"] != "ABSURD"]
    total = positive["amount_ht"].sum()
    labels = positive["labels"].fillna("").str.split(",")
    egalim = labels.map(lambda ls: bool(EGALIM_LABELS.intersection(ls)))
    bio = labels.map(lambda ls: "BIO" in ls)
    return {
        "egalim": float(positive.loc[egalim, "amount_ht"].sum() / total),
        "bio": float(positive.loc[bio, "amount_ht"].sum() / total),
    }
