"""Observatory indicators, pure pandas: EGalim shares of canteen purchases, SPASER shares of contracts.

EGalim (ma-cantine rules): a line with several labels counts once, in the priority order
:data:`EGALIM_PRIORITY`; origin (France) is counted independently. Shares are by amount HT.

SPASER: a contract with several holders is attributed to its **first holder** (the
mandataire of the grouping) for the SME, first-time-winner and regional indicators.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

EGALIM_PRIORITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("BIO", ("BIO",)),
    ("LABEL_ROUGE", ("LABEL_ROUGE",)),
    ("AOCAOP_IGP_STG", ("AOCAOP", "IGP", "STG")),
    ("HVE", ("HVE",)),
    ("PECHE_DURABLE", ("PECHE_DURABLE",)),
    ("RUP", ("RUP",)),
    ("COMMERCE_EQUITABLE", ("COMMERCE_EQUITABLE",)),
    ("FERMIER", ("FERMIER",)),
    ("EXTERNALITES", ("EXTERNALITES",)),
    ("PERFORMANCE", ("PERFORMANCE",)),
)
MEAT_AND_FISH = ("VIANDES_VOLAILLES", "PRODUITS_DE_LA_MER")
TARGETS = {"bio": 0.20, "egalim": 0.50, "meat_fish_egalim": 0.60}

SOCIAL = {"Clause sociale", "Critère social", "Marché réservé"}
ENVIRONMENTAL = {"Clause environnementale", "Critère environnemental"}

#: Departments of each metropolitan region (INSEE region code → department codes).
REGION_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "28": ("14", "27", "50", "61", "76"),
    "32": ("02", "59", "60", "62", "80"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "52": ("44", "49", "53", "72", "85"),
    "53": ("22", "29", "35", "56"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "94": ("2A", "2B"),
}


# -- EGalim -------------------------------------------------------------------------------------
def egalim_category(labels: pd.Series) -> pd.Series:
    """The one EGalim category each line counts in (``None`` when it has no EGalim label)."""
    sets = labels.fillna("").astype(str).str.upper()
    result = pd.Series(None, index=labels.index, dtype="object")
    for category, codes in reversed(EGALIM_PRIORITY):  # highest priority written last
        pattern = r"(?:^|,)\s*(?:" + "|".join(codes) + r")\s*(?:,|$)"
        result = result.mask(sets.str.contains(pattern, regex=True), category)
    return result


def classify_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Add ``category``, ``is_bio``, ``is_egalim``, ``is_france``, ``is_meat_fish`` to purchase lines.

    Expects columns ``labels`` (comma separated codes), ``origin``, ``family``, ``amount_ht``.
    """
    out = lines.copy()
    out["amount_ht"] = pd.to_numeric(out["amount_ht"], errors="coerce").fillna(0.0).clip(lower=0)
    out["category"] = egalim_category(out["labels"])
    out["is_bio"] = out["category"].eq("BIO")
    out["is_egalim"] = out["category"].notna()
    origin = out["origin"].fillna("").astype(str).str.upper()
    labels = out["labels"].fillna("").astype(str).str.upper()
    out["is_france"] = origin.str.contains("FRANCE") | labels.str.contains(
        r"(?:^|,)FRANCE(?:,|$)", regex=True
    )
    out["is_meat_fish"] = out["family"].isin(MEAT_AND_FISH)
    return out


def egalim_summary(lines: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """EGalim shares (by amount) overall or per group: total, bio, egalim, meat & fish, France."""
    df = classify_lines(lines)
    amount = df["amount_ht"]
    df = df.assign(
        bio_amount=amount.where(df["is_bio"], 0.0),
        egalim_amount=amount.where(df["is_egalim"], 0.0),
        france_amount=amount.where(df["is_france"], 0.0),
        mf_amount=amount.where(df["is_meat_fish"], 0.0),
        mf_egalim_amount=amount.where(df["is_meat_fish"] & df["is_egalim"], 0.0),
        lines=1,
    )
    columns = [
        "amount_ht",
        "bio_amount",
        "egalim_amount",
        "france_amount",
        "mf_amount",
        "mf_egalim_amount",
        "lines",
    ]
    grouped = (
        df.groupby(list(by), dropna=False)[columns].sum() if by else df[columns].sum().to_frame().T
    )
    total = grouped["amount_ht"].replace(0, np.nan)
    grouped["bio_share"] = grouped["bio_amount"] / total
    grouped["egalim_share"] = grouped["egalim_amount"] / total
    grouped["france_share"] = grouped["france_amount"] / total
    grouped["meat_fish_egalim_share"] = grouped["mf_egalim_amount"] / grouped["mf_amount"].replace(
        0, np.nan
    )
    return grouped.reset_index() if by else grouped.reset_index(drop=True)


def category_breakdown(lines: pd.DataFrame) -> pd.DataFrame:
    """Amount per EGalim category (priority order, no double counting)."""
    df = classify_lines(lines)
    total = df["amount_ht"].sum()
    sums = df.groupby("category")["amount_ht"].sum()
    rows = [
        {
            "category": cat,
            "amount": float(sums.get(cat, 0.0)),
            "share": float(sums.get(cat, 0.0) / total) if total else None,
        }
        for cat, _ in EGALIM_PRIORITY
    ]
    return pd.DataFrame(rows)


def source_values(
    current: pd.DataFrame, corrections: pd.DataFrame, fields: Sequence[str]
) -> pd.DataFrame:
    """The records as imported: current values with every applied correction undone.

    ``corrections`` has columns ``record_id, field, old_value, id, status`` for applied or reverted
    corrections; the earliest one per (record, field) holds the source value.
    """
    before = current.copy()
    if corrections.empty:
        return before
    relevant = corrections[
        corrections["field"].isin(fields) & corrections["status"].isin(["applied", "reverted"])
    ]
    first = relevant.sort_values("id").drop_duplicates(["record_id", "field"], keep="first")
    indexed = before.set_index("id")
    for field, group in first.groupby("field"):
        values = group.set_index("record_id")["old_value"]
        values = values[values.index.isin(indexed.index)]
        indexed.loc[values.index, field] = values.to_numpy()
    return indexed.reset_index()


# -- SPASER -------------------------------------------------------------------------------------
def _has_any(values: pd.Series, wanted: set[str]) -> pd.Series:
    return values.map(
        lambda items: bool(set(items or ()) & wanted) if isinstance(items, list | tuple) else False
    )


def region_of_commune(commune_codes: pd.Series) -> pd.Series:
    department = commune_codes.fillna("").astype(str).str[:2]
    lookup = {dep: region for region, deps in REGION_DEPARTMENTS.items() for dep in deps}
    return department.map(lookup)


def spaser_flags(
    contracts: pd.DataFrame,
    holders: pd.DataFrame,
    suppliers: pd.DataFrame,
    *,
    region_code: str,
    first_winner_years: int,
) -> pd.DataFrame:
    """One row per contract with the SPASER flags.

    contracts: id, buyer_id, amount, notification_date, social_considerations,
    environmental_considerations, has_advance, advance_rate.
    holders: contract_id, position, role, identifier. suppliers: siret, company_category, commune_code.
    """
    df = contracts.copy()
    df["amount"] = pd.to_numeric(df["amount"], errors="coerce").fillna(0.0)
    df["is_social"] = _has_any(df["social_considerations"], SOCIAL)
    df["is_environmental"] = _has_any(df["environmental_considerations"], ENVIRONMENTAL)
    rate = pd.to_numeric(df["advance_rate"], errors="coerce").fillna(0.0)
    df["has_advance_30"] = df["has_advance"].map(lambda v: v is True or v == 1) & (rate >= 0.3)

    first = holders[holders["role"].eq("holder")].sort_values(["contract_id", "position"])
    first = first.drop_duplicates("contract_id")[["contract_id", "identifier"]]
    first["siren"] = (
        first["identifier"].fillna("").astype(str).str.replace(r"\s", "", regex=True).str[:9]
    )
    df = df.merge(first.rename(columns={"contract_id": "id"}), on="id", how="left")

    sup = suppliers.copy()
    sup["siren"] = sup["siret"].fillna("").astype(str).str[:9]
    by_siret = sup.drop_duplicates("siret").set_index("siret")
    by_siren = sup.drop_duplicates("siren").set_index("siren")
    category = (
        df["identifier"]
        .map(by_siret["company_category"])
        .fillna(df["siren"].map(by_siren["company_category"]))
    )
    commune = (
        df["identifier"]
        .map(by_siret["commune_code"])
        .fillna(df["siren"].map(by_siren["commune_code"]))
    )
    df["is_sme"] = category.eq("PME")
    df["is_regional"] = region_of_commune(commune).eq(region_code)

    dates = pd.to_datetime(df["notification_date"], errors="coerce")
    df["is_first_winner"] = _first_winners(df.assign(date=dates), first_winner_years)
    return df


def _first_winners(df: pd.DataFrame, years: int) -> pd.Series:
    """Holder SIREN not holder of any contract of the same buyer in the ``years`` before."""
    known = df[df["siren"].fillna("").str.len().eq(9) & df["date"].notna()][
        ["id", "buyer_id", "siren", "date"]
    ]
    pairs = known.merge(known, on=["buyer_id", "siren"], suffixes=("", "_prev"))
    window = pd.DateOffset(years=years)
    earlier = pairs[
        (pairs["date_prev"] < pairs["date"]) & (pairs["date_prev"] >= pairs["date"] - window)
    ]
    repeat_ids = set(earlier["id"])
    eligible = df["siren"].fillna("").str.len().eq(9) & df["date"].notna()
    return eligible & ~df["id"].isin(repeat_ids)


def spaser_summary(flags: pd.DataFrame) -> pd.DataFrame:
    """Share (count and value) of contracts per SPASER indicator."""
    total_count = len(flags)
    total_value = float(flags["amount"].sum())
    rows = []
    for key, label in (
        ("is_social", "Avec au moins une considération sociale"),
        ("is_environmental", "Avec au moins une considération environnementale"),
        ("is_sme", "Attribués à une PME"),
        ("is_first_winner", "Attribués à un primo-accédant"),
        ("has_advance_30", "Avec une avance d'au moins 30 %"),
        ("is_regional", "Attribués à une entreprise de la région"),
    ):
        mask = flags[key].map(lambda v: v is True or v == 1).astype(bool)
        rows.append(
            {
                "indicator": key,
                "label": label,
                "count": int(mask.sum()),
                "count_share": float(mask.sum() / total_count) if total_count else None,
                "value": float(flags.loc[mask, "amount"].sum()),
                "value_share": float(flags.loc[mask, "amount"].sum() / total_value)
                if total_value
                else None,
            }
        )
    return pd.DataFrame(rows)
