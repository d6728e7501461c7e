"""Kind-specific preparation of converted frames (reference data passed in as dicts)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from workbench.imports.parsing import Report

# -- kind-specific preparation (reference data passed in as dicts) -------------------------------
UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")


def prepare_purchases(
    frame: pd.DataFrame,
    report: Report,
    site_ids: dict[str, int],
    allowed_site_ids: set[int] | None,
    supplier_ids: dict[str, int],
) -> pd.DataFrame:
    """Canonical purchase lines: site by UAI (and the user's scope), supplier by SIRET."""
    frame["site_id"] = frame["uai"].map(site_ids)
    unknown = frame["uai"].notna() & frame["site_id"].isna()
    report.errors_where(frame, unknown, "uai", "Lycée inconnu (UAI « {value} »).", frame["uai"])
    if allowed_site_ids is not None:
        outside = frame["site_id"].notna() & ~frame["site_id"].isin(list(allowed_site_ids))
        report.errors_where(
            frame,
            outside,
            "uai",
            "Vous ne pouvez pas importer d'achats pour le lycée « {value} ».",
            frame["uai"],
        )
    frame["supplier_id"] = frame["supplier_siret"].map(supplier_ids)
    return frame


def prepare_macantine(
    frame: pd.DataFrame, report: Report, canteen_siret: str | None, site_uai: str | None
) -> pd.DataFrame:
    """ma-cantine lines: all for the chosen site; one canteen SIRET per file."""
    if canteen_siret is not None:
        other = frame["canteen_siret"].notna() & (frame["canteen_siret"] != canteen_siret)
        report.errors_where(
            frame,
            other,
            "siret",
            lambda v: (
                f"Ce fichier concerne la cantine de SIRET {canteen_siret} : "
                f"cette ligne porte un autre SIRET ({v})."
            ),
            frame["canteen_siret"],
        )
    if "is_local" in frame and "local_definition" in frame:
        missing = frame["is_local"].astype(bool) & frame["local_definition"].isna()
        report.errors_where(
            frame, missing, "definition_local", "Produit local : précisez la définition de local."
        )
    if site_uai is not None:
        frame["uai"] = site_uai
    frame["supplier_siret"] = None
    frame["reference"] = None
    return frame


def majority_value(series: pd.Series) -> Any:
    counts = series.dropna().value_counts()
    return None if counts.empty else counts.index[0]


def prepare_matrix(
    frame: pd.DataFrame, report: Report, supplier_ids: dict[str, int]
) -> pd.DataFrame:
    frame["supplier_id"] = frame["supplier_siret"].map(supplier_ids)
    unknown = frame["supplier_siret"].notna() & frame["supplier_id"].isna()
    report.errors_where(
        frame,
        unknown,
        "siret_fournisseur",
        "Fournisseur inconnu (SIRET « {value} ») : importez d'abord le fichier des fournisseurs.",
        frame["supplier_siret"],
    )
    if "valid_from" in frame and "valid_to" in frame:
        order = frame["valid_from"].notna() & frame["valid_to"].notna()
        bad = order & (frame["valid_to"] < frame["valid_from"])
        report.errors_where(
            frame, bad, "fin_validite", "La fin de validité précède le début de validité."
        )
    return frame


def prepare_sites(frame: pd.DataFrame, report: Report, directions: set[str]) -> pd.DataFrame:
    bad = frame["uai"].notna() & ~frame["uai"].astype(str).str.match(UAI_PATTERN.pattern)
    report.errors_where(
        frame, bad, "uai", "Code UAI invalide « {value} » (7 chiffres et une lettre).", frame["uai"]
    )
    if "direction_code" in frame:
        unknown = frame["direction_code"].notna() & ~frame["direction_code"].isin(list(directions))
        report.errors_where(
            frame, unknown, "direction", "Direction inconnue « {value} ».", frame["direction_code"]
        )
    if "kind" in frame:
        frame["kind"] = frame["kind"].fillna("lycee")
    return frame


def prepare_nomenclature(frame: pd.DataFrame, report: Report) -> pd.DataFrame:
    if "is_active" in frame:
        frame["is_active"] = frame["is_active"].map(lambda v: True if v is None else bool(v))
    return frame


PREPARE: dict[str, Callable[..., pd.DataFrame]] = {
    "matrix": prepare_matrix,
    "sites": prepare_sites,
    "nomenclature": prepare_nomenclature,
}
