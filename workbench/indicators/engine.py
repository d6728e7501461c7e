"""Observatory indicators, pure pandas: EGalim shares of canteen purchases, SPASER shares of contracts.

EGalim (ma-cantine rules): a line with several labels counts once, in the priority order
:data:`EGALIM_PRIORITY`; origin (France) is counted independently. Shares are by amount HT,
signed: a credit note (negative amount) reduces the total of its category, as in ma cantine,
which sums the declared ``prix_ht``.

An *aggregate* (see :func:`workbench.indicators.queries.egalim_aggregate`) has one row per
(year, month, site, family, category, excluded, local definition) with sums. The pages work on
*parts* (:data:`Parts`): per grouping they show (lycée, month, family...), the sums every figure
is derived from, read from the summary table in SQL (:func:`parts_by_margin` is their pandas
twin over an aggregate).

SPASER: a contract with several holders is attributed to its **first holder** (the
mandataire of the grouping) for the SME, first-time-winner and regional indicators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
def _per_distinct(values: pd.Series, compute: Any) -> pd.Series:
    """``compute`` (Series → Series) run once per distinct value (labels repeat a lot)."""
    codes, uniques = pd.factorize(values)
    computed = compute(pd.Series(uniques, dtype="object")).to_numpy()
    return pd.Series(computed[codes], index=values.index)


def _categories(sets: pd.Series) -> pd.Series:
    result = pd.Series(None, index=sets.index, dtype="object")
    for category, codes in reversed(EGALIM_PRIORITY):  # highest priority written last
        pattern = r"(?:^|,)\s*(?:" + "|".join(codes) + r")\s*(?:,|$)"
        result = result.mask(sets.str.contains(pattern, regex=True), category)
    return result


def egalim_category(labels: pd.Series) -> pd.Series:
    """The one EGalim category each line counts in (``None`` when it has no EGalim label)."""
    sets = labels.fillna("").astype(str).str.upper()
    if sets.empty:
        return pd.Series(None, index=labels.index, dtype="object")
    return _per_distinct(sets, _categories)


def classify_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Add ``category``, ``is_bio``, ``is_egalim``, ``is_france``, ``is_meat_fish`` to purchase lines.

    Expects columns ``labels`` (comma separated codes), ``origin``, ``family``, ``amount_ht``.
    """
    out = lines.copy()
    out["amount_ht"] = pd.to_numeric(out["amount_ht"], errors="coerce").fillna(0.0)
    out["category"] = egalim_category(out["labels"])
    out["is_bio"] = out["category"].eq("BIO")
    out["is_egalim"] = out["category"].notna()
    origin = out["origin"].fillna("").astype(str).str.upper()
    labels = out["labels"].fillna("").astype(str).str.upper()
    out["is_france"] = origin.str.contains("FRANCE") | _per_distinct(
        labels, lambda u: u.str.contains(r"(?:^|,)FRANCE(?:,|$)", regex=True)
    ).astype(bool)
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


# -- EGalim from the SQL aggregate ---------------------------------------------------------------
#: Local lines without a ``definition_local``.
UNDEFINED_LOCAL = "NON_PRECISEE"
AGG_DIMS = ("year", "month", "site_id", "family", "category", "excluded", "local_definition")
AGG_SUMS = (
    "lines",
    "amount_ht",
    "france_amount",
    "local_amount",
    "short_circuit_amount",
    "regional_amount",
)
LOCAL_DEFINITIONS = {
    "PAT": "Projet alimentaire territorial",
    "COMMUNE": "Même commune",
    "DEPARTEMENT": "Même département",
    "REGION": "Même région",
    "KM": "Distance en km",
    UNDEFINED_LOCAL: "Définition non précisée",
}


def normalise_aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Types of the aggregate rows (ints, floats, '' for no category or not local)."""
    if frame.empty:
        return pd.DataFrame(columns=[*AGG_DIMS, *AGG_SUMS])
    out = frame.copy()
    for name in ("year", "month", "site_id", "excluded"):
        out[name] = pd.to_numeric(out[name]).astype(int)
    for name in ("family", "category", "local_definition"):
        out[name] = out[name].fillna("").astype(str)
    for name in AGG_SUMS:
        out[name] = pd.to_numeric(out[name]).fillna(0).astype(float)
    return out[[*AGG_DIMS, *AGG_SUMS]]


def aggregate_lines(lines: pd.DataFrame, region_departments: Sequence[str]) -> pd.DataFrame:
    """The aggregate of a few line rows, as the SQL computes it (for before/after differences).

    ``lines``: line_date, site_id, labels, origin, family, amount_ht, is_local,
    is_short_circuit, local_definition, commune_code, blocked.
    """
    if lines.empty:
        return normalise_aggregate(lines)
    df = classify_lines(lines)
    labels = df["labels"].fillna("").astype(str).str.upper()

    def has(code: str) -> pd.Series:
        pattern = rf"(?:^|,)\s*{code}\s*(?:,|$)"
        return _per_distinct(labels, lambda u: u.str.contains(pattern, regex=True)).astype(bool)

    dates = pd.to_datetime(df["line_date"])
    is_local = df["is_local"].eq(True) | has("LOCAL")
    is_short = df["is_short_circuit"].eq(True) | has("CIRCUIT_COURT")
    department = df["commune_code"].fillna("").astype(str).str[:2]
    is_regional = department.isin(list(region_departments))
    amount = df["amount_ht"]
    frame = pd.DataFrame(
        {
            "year": dates.dt.year,
            "month": dates.dt.month,
            "site_id": df["site_id"],
            "family": df["family"],
            "category": df["category"].fillna(""),
            "excluded": df["blocked"].map(lambda v: 1 if v in (True, 1) else 0),
            "local_definition": df["local_definition"].fillna(UNDEFINED_LOCAL).where(is_local, ""),
            "lines": 1,
            "amount_ht": amount,
            "france_amount": amount.where(df["is_france"], 0.0),
            "local_amount": amount.where(is_local, 0.0),
            "short_circuit_amount": amount.where(is_short, 0.0),
            "regional_amount": amount.where(is_regional, 0.0),
        }
    )
    grouped = frame.groupby(list(AGG_DIMS), dropna=False)[list(AGG_SUMS)].sum().reset_index()
    return normalise_aggregate(grouped)


def combine_aggregates(base: pd.DataFrame, plus: pd.DataFrame, minus: pd.DataFrame) -> pd.DataFrame:
    """``base + plus - minus``, row by row of the aggregate (empty groups dropped)."""
    negative = minus.copy()
    for name in AGG_SUMS:
        negative[name] = -negative[name]
    parts = [f for f in (base, plus, negative) if not f.empty]
    if not parts:
        return base
    frame = pd.concat(parts, ignore_index=True)
    grouped = frame.groupby(list(AGG_DIMS), dropna=False)[list(AGG_SUMS)].sum().reset_index()
    grouped = grouped[grouped["lines"].round().ne(0)]
    return normalise_aggregate(grouped)


def _share(part: float, total: float) -> float | None:
    return part / total if total else None


def figures(agg: pd.DataFrame) -> dict[str, Any]:
    """The EGalim, quality and proximity figures of (a slice of) the aggregate."""
    total = float(agg["amount_ht"].sum())
    category = agg["category"]
    bio = float(agg.loc[category.eq("BIO"), "amount_ht"].sum())
    egalim = float(agg.loc[category.ne(""), "amount_ht"].sum())
    meat_fish = agg["family"].isin(MEAT_AND_FISH)
    mf_total = float(agg.loc[meat_fish, "amount_ht"].sum())
    mf_egalim = float(agg.loc[meat_fish & category.ne(""), "amount_ht"].sum())
    france = float(agg["france_amount"].sum())
    local = float(agg["local_amount"].sum())
    short = float(agg["short_circuit_amount"].sum())
    regional = float(agg["regional_amount"].sum())
    lines = float(agg["lines"].sum())
    return _figures_of_sums(
        (lines, total, bio, egalim, mf_total, mf_egalim, france, local, short, regional)
    )


def published(agg: pd.DataFrame) -> dict[str, Any]:
    """Figures under the exclusion policy: lines under an open blocking anomaly left out.

    Beside them: how many lines and how much was left out, and the figures including them.
    """
    kept = agg[agg["excluded"].eq(0)]
    left_out = agg[agg["excluded"].ne(0)]
    result = figures(kept)
    result["excluded_lines"] = int(round(left_out["lines"].sum()))
    result["excluded_ht"] = round(float(left_out["amount_ht"].sum()), 2)
    result["including_excluded"] = figures(agg)
    return result


#: The sums every figure is derived from (per group of a parts frame).
PARTS = (
    "lines",
    "amount_ht",
    "bio",
    "egalim",
    "mf_total",
    "mf_egalim",
    "france_amount",
    "local_amount",
    "short_circuit_amount",
    "regional_amount",
)


#: Parts of a grouping: ``(*key values, excluded)`` → the :data:`PARTS` sums, in that order.
Parts = dict[tuple[Any, ...], list[float]]


def parts_by_margin(agg: pd.DataFrame, margins: dict[str, Sequence[str]]) -> dict[str, Parts]:
    """The aggregate summed per grouping of ``margins`` (and ``excluded``) into :data:`PARTS`.

    The summary table gives the same sums directly in SQL (:func:`summary.parts`); a page
    derives every figure from a few of these (one per grouping: lycée, month, family...).
    """
    if agg.empty:
        return {name: {} for name in margins}
    amount = pd.to_numeric(agg["amount_ht"]).astype(float)
    has_category = agg["category"].ne("")
    meat_fish = agg["family"].isin(MEAT_AND_FISH)
    zero = 0.0
    values = np.column_stack(
        [
            pd.to_numeric(agg["lines"]).astype(float),
            amount,
            amount.where(agg["category"].eq("BIO"), zero),
            amount.where(has_category, zero),
            amount.where(meat_fish, zero),
            amount.where(meat_fish & has_category, zero),
            *[
                pd.to_numeric(agg[name]).astype(float)
                for name in (
                    "france_amount",
                    "local_amount",
                    "short_circuit_amount",
                    "regional_amount",
                )
            ],
        ]  # fmt: skip
    ).tolist()
    excluded = [int(v) for v in agg["excluded"].tolist()]
    result: dict[str, Parts] = {}
    for name, keys in margins.items():
        columns = [agg[k].tolist() for k in keys]
        out: Parts = {}
        for i, row in enumerate(values):
            group = (*(c[i] for c in columns), excluded[i])
            found = out.get(group)
            if found is None:
                out[group] = list(row)
            else:
                for j, v in enumerate(row):
                    found[j] += v
        result[name] = out
    return result


def parts_of_rows(
    rows: Sequence[Sequence[Any]], names: Sequence[str], margins: dict[str, Sequence[str]]
) -> dict[str, Parts]:
    """:func:`parts_by_margin` of aggregate rows as the database returns them (no frame).

    ``names``: the row's columns, :data:`AGG_DIMS` and :data:`AGG_SUMS` in any order; values
    are normalised as :func:`normalise_aggregate` does (ints, '' for none, floats).
    """
    result: dict[str, Parts] = {name: {} for name in margins}
    at = {name: i for i, name in enumerate(names)}
    for raw in rows:
        row = {
            "year": int(raw[at["year"]]),
            "month": int(raw[at["month"]]),
            "site_id": int(raw[at["site_id"]]),
            "family": "" if raw[at["family"]] is None else str(raw[at["family"]]),
            "category": "" if raw[at["category"]] is None else str(raw[at["category"]]),
            "local_definition": "" if raw[at["local_definition"]] is None
            else str(raw[at["local_definition"]]),
        }  # fmt: skip
        excluded = int(raw[at["excluded"]])
        lines, amount, france, local, short, regional = (
            float(raw[at[name]] or 0) for name in AGG_SUMS
        )
        category, meat_fish = row["category"], row["family"] in MEAT_AND_FISH
        values = [
            lines,
            amount,
            amount if category == "BIO" else 0.0,
            amount if category else 0.0,
            amount if meat_fish else 0.0,
            amount if meat_fish and category else 0.0,
            france,
            local,
            short,
            regional,
        ]
        _add_to_margins(result, margins, row, excluded, values)
    return result


def _add_to_margins(
    result: dict[str, Parts],
    margins: Mapping[str, Sequence[str]],
    row: Mapping[str, Any],
    excluded: int,
    values: Sequence[float],
) -> None:
    """Add one row's sums to its group in every margin (``(*keys, excluded)`` → sums)."""
    for name, keys in margins.items():
        group = (*(row[k] for k in keys), excluded)
        found = result[name].get(group)
        if found is None:
            result[name][group] = list(values)
        else:
            for j, v in enumerate(values):
                found[j] += v


def parts_of(agg: pd.DataFrame, keys: Sequence[str]) -> Parts:
    """:func:`parts_by_margin` for one grouping."""
    return parts_by_margin(agg, {"": keys})[""]


def _codes(labels: Any) -> tuple[set[str], list[str]]:
    """(codes with spaces stripped, raw comma-separated parts) of an upper-cased labels cell."""
    text = "" if labels is None or labels != labels else str(labels).upper()
    raw = text.split(",")
    return {part.strip() for part in raw}, raw


def _category_of(codes: set[str]) -> str:
    for category, wanted in EGALIM_PRIORITY:
        if codes.intersection(wanted):
            return category
    return ""


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number


def parts_of_lines(
    lines: pd.DataFrame, region_departments: Sequence[str], margins: dict[str, Sequence[str]]
) -> dict[str, Parts]:
    """:func:`parts_by_margin` of :func:`aggregate_lines`, in plain Python (a few lines).

    Same classification as :func:`classify_lines` and :func:`aggregate_lines` (tested against
    them): the corrected lines of a page are a few hundred, where pandas' overhead per
    operation would cost more than the sums.
    """
    result: dict[str, Parts] = {name: {} for name in margins}
    if lines.empty:
        return result
    departments = set(region_departments)
    dates = pd.to_datetime(lines["line_date"])
    columns = {
        name: lines[name].tolist()
        for name in ("site_id", "labels", "origin", "family", "amount_ht", "is_local",
                     "is_short_circuit", "local_definition", "commune_code", "blocked")
    }  # fmt: skip
    years, months = dates.dt.year.tolist(), dates.dt.month.tolist()
    for i in range(len(lines)):
        codes, raw = _codes(columns["labels"][i])
        category = _category_of(codes)
        origin = columns["origin"][i]
        origin_text = "" if origin is None or origin != origin else str(origin).upper()
        is_france = "FRANCE" in origin_text or "FRANCE" in raw
        is_local = (
            columns["is_local"][i] is True or columns["is_local"][i] == 1 or ("LOCAL" in codes)
        )
        is_short = (
            columns["is_short_circuit"][i] is True
            or columns["is_short_circuit"][i] == 1
            or "CIRCUIT_COURT" in codes
        )
        commune = columns["commune_code"][i]
        commune_text = "" if commune is None or commune != commune else str(commune)
        is_regional = commune_text[:2] in departments
        family = columns["family"][i]
        meat_fish = family in MEAT_AND_FISH
        amount = _number(columns["amount_ht"][i])
        definition = columns["local_definition"][i]
        if definition is None or definition != definition:
            definition = UNDEFINED_LOCAL
        values = [
            1.0,
            amount,
            amount if category == "BIO" else 0.0,
            amount if category else 0.0,
            amount if meat_fish else 0.0,
            amount if meat_fish and category else 0.0,
            amount if is_france else 0.0,
            amount if is_local else 0.0,
            amount if is_short else 0.0,
            amount if is_regional else 0.0,
        ]
        blocked = columns["blocked"][i]
        row = {
            "year": int(years[i]),
            "month": int(months[i]),
            "site_id": int(columns["site_id"][i]),
            "family": "" if family is None else str(family),
            "category": category,
            "local_definition": str(definition) if is_local else "",
        }
        excluded = 1 if blocked is True or blocked == 1 else 0
        _add_to_margins(result, margins, row, excluded, values)
    return result


def combine_parts(base: Parts, plus: Parts, minus: Parts) -> Parts:
    """``base + plus - minus`` group by group (groups left without lines dropped)."""
    out = {group: list(values) for group, values in base.items()}
    for source, sign in ((plus, 1.0), (minus, -1.0)):
        for group, values in source.items():
            found = out.setdefault(group, [0.0] * len(values))
            for j, v in enumerate(values):
                found[j] += sign * v
    return {group: values for group, values in out.items() if round(values[0]) != 0}


def regroup(parts: Parts, keys: Sequence[str], wanted: Sequence[str]) -> Parts:
    """Parts grouped by ``keys`` summed again by ``wanted`` (a subset of ``keys``)."""
    if list(keys) == list(wanted):
        return parts
    positions = [list(keys).index(k) for k in wanted]
    out: Parts = {}
    for group, values in parts.items():
        key = (*(group[i] for i in positions), group[-1])
        found = out.get(key)
        if found is None:
            out[key] = list(values)
        else:
            for j, v in enumerate(values):
                found[j] += v
    return out


def not_excluded(parts: Parts) -> Parts:
    """The same sums counted as kept (``excluded`` 0): to take them out of the kept figures."""
    return {(*group[:-1], 0): values for group, values in parts.items()}


def _figures_of_sums(sums: Sequence[float]) -> dict[str, Any]:
    """:func:`figures` from the :data:`PARTS` sums of a group (in that order)."""
    lines, total, bio, egalim, mf_total, mf_egalim, france, local, short, regional = sums
    return {
        "lines": int(round(lines)),
        "total_ht": round(total, 2),
        "bio_ht": round(bio, 2),
        "egalim_ht": round(egalim, 2),
        "meat_fish_ht": round(mf_total, 2),
        "meat_fish_egalim_ht": round(mf_egalim, 2),
        "france_ht": round(france, 2),
        "local_ht": round(local, 2),
        "short_circuit_ht": round(short, 2),
        "regional_supplier_ht": round(regional, 2),
        "bio_share": _share(bio, total),
        "egalim_share": _share(egalim, total),
        "meat_fish_egalim_share": _share(mf_egalim, mf_total),
        "france_share": _share(france, total),
        "local_share": _share(local, total),
        "short_circuit_share": _share(short, total),
        "regional_supplier_share": _share(regional, total),
    }


def _key_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def figures_of_parts(parts: Parts, key: str | Sequence[str]) -> list[dict[str, Any]]:
    """Published figures per value of ``key`` from parts (see :func:`parts_by_margin`).

    Same dictionaries as :func:`published` for each group, plus the key columns, sorted by key.
    Parts have a few hundred groups at most: summed in plain Python.
    """
    keys = [key] if isinstance(key, str) else list(key)
    width = len(PARTS)
    every: dict[tuple[Any, ...], list[float]] = {}
    kept: dict[tuple[Any, ...], list[float]] = {}
    left: dict[tuple[Any, ...], list[float]] = {}
    for full, row in parts.items():
        group, excluded = tuple(_key_value(v) for v in full[:-1]), full[-1]
        total = every.setdefault(group, [0.0] * width)
        mine = kept.setdefault(group, [0.0] * width)
        out = left.setdefault(group, [0.0, 0.0])
        for j, v in enumerate(row):
            total[j] += v
        if excluded:
            out[0] += row[0]
            out[1] += row[1]
        else:
            for j, v in enumerate(row):
                mine[j] += v
    rows = []
    for group in sorted(every):
        row = dict(zip(keys, group, strict=True))
        row.update(_figures_of_sums(kept[group]))
        row["excluded_lines"] = int(round(left[group][0]))
        row["excluded_ht"] = round(left[group][1], 2)
        row["including_excluded"] = _figures_of_sums(every[group])
        rows.append(row)
    return rows


def published_of_parts(parts: Parts) -> dict[str, Any]:
    """:func:`published` from parts of any grouping (their groups summed)."""
    if not parts:
        return published(normalise_aggregate(pd.DataFrame()))
    (row,) = figures_of_parts({(0, g[-1]): v for g, v in _summed(parts).items()}, "_all")
    row.pop("_all")
    return row


def _summed(parts: Parts) -> Parts:
    """Parts summed per ``excluded`` only."""
    out: Parts = {}
    for group, values in parts.items():
        found = out.setdefault((group[-1],), [0.0] * len(values))
        for j, v in enumerate(values):
            found[j] += v
    return out


def categories_of_parts(parts: Parts) -> list[dict[str, Any]]:
    """:func:`categories_of` from the parts per ``category``."""
    sums: dict[str, float] = {}
    for (category, excluded), values in parts.items():
        if not excluded:
            sums[category] = sums.get(category, 0.0) + values[1]
    total = sum(sums.values())
    return [
        {
            "category": cat,
            "amount": round(sums.get(cat, 0.0), 2),
            "share": _share(sums.get(cat, 0.0), total),
        }
        for cat, _ in EGALIM_PRIORITY
    ]


def local_definitions_of_parts(parts: Parts) -> list[dict[str, Any]]:
    """:func:`local_definitions` from the parts per ``local_definition``."""
    local = PARTS.index("local_amount")
    sums: dict[str, float] = {}
    total = 0.0
    for (definition, excluded), values in parts.items():
        if excluded:
            continue
        total += values[1]
        if definition != "":
            sums[definition] = sums.get(definition, 0.0) + values[local]
    return [
        {
            "definition": key,
            "label": label,
            "amount": round(sums.get(key, 0.0), 2),
            "share": _share(sums.get(key, 0.0), total),
        }
        for key, label in LOCAL_DEFINITIONS.items()
        if key in sums
    ]


def categories_of(agg: pd.DataFrame) -> list[dict[str, Any]]:
    """Published amount per EGalim category (priority order, no double counting)."""
    kept = agg[agg["excluded"].eq(0)]
    total = float(kept["amount_ht"].sum())
    sums = kept.groupby("category")["amount_ht"].sum()
    return [
        {
            "category": cat,
            "amount": round(float(sums.get(cat, 0.0)), 2),
            "share": _share(float(sums.get(cat, 0.0)), total),
        }
        for cat, _ in EGALIM_PRIORITY
    ]


def local_definitions(agg: pd.DataFrame) -> list[dict[str, Any]]:
    """Published local amount per ``definition_local``."""
    kept = agg[agg["excluded"].eq(0) & agg["local_definition"].ne("")]
    total = float(agg.loc[agg["excluded"].eq(0), "amount_ht"].sum())
    sums = kept.groupby("local_definition")["local_amount"].sum()
    return [
        {
            "definition": key,
            "label": label,
            "amount": round(float(sums.get(key, 0.0)), 2),
            "share": _share(float(sums.get(key, 0.0)), total),
        }
        for key, label in LOCAL_DEFINITIONS.items()
        if key in sums.index
    ]


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


# -- SPASER per year, kind and exclusion policy ------------------------------------------------
SPASER_INDICATORS: tuple[tuple[str, str], ...] = (
    ("is_social", "Avec au moins une considération sociale"),
    ("is_environmental", "Avec au moins une considération environnementale"),
    ("is_sme", "Attribués à une PME"),
    ("is_first_winner", "Attribués à un primo-accédant"),
    ("has_advance_30", "Avec une avance d'au moins 30 %"),
    ("is_regional", "Attribués à une entreprise de la région"),
)
#: Source formats whose schema carries the field an indicator counts; the other records are
#: not in that indicator's denominator (DECP 1.5 has no considerations nor advance; the flat
#: DECP CSV has the advance but no considerations). ``None``: every format.
INDICATOR_FORMATS: dict[str, frozenset[str] | None] = {
    "is_social": frozenset({"decp_v2"}),
    "is_environmental": frozenset({"decp_v2"}),
    "has_advance_30": frozenset({"decp_v2", "decp_csv"}),
    "is_sme": None,
    "is_first_winner": None,
    "is_regional": None,
}
KINDS = (("marche", "Marchés"), ("concession", "Concessions"))


def contract_year(flags: pd.DataFrame) -> pd.Series:
    """Year of notification (of signature for a concession, which has no notification date)."""
    notified = pd.to_datetime(flags["notification_date"], errors="coerce")
    signed = pd.to_datetime(flags.get("signature_date"), errors="coerce")
    return notified.fillna(signed).dt.year


def _true(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v is True or v == 1).astype(bool)


def spaser_kind_figures(flags: pd.DataFrame) -> dict[str, Any]:
    """Count and value shares of one kind of contract, each over its own denominator."""
    amount = pd.to_numeric(flags["amount"], errors="coerce").fillna(0.0)
    result: dict[str, Any] = {
        "contracts": len(flags),
        "value": round(float(amount.sum()), 2),
        "indicators": {},
    }
    formats = flags["source_format"].fillna("")
    for key, label in SPASER_INDICATORS:
        allowed = INDICATOR_FORMATS[key]
        eligible = formats.isin(allowed) if allowed is not None else pd.Series(True, flags.index)
        mask = _true(flags[key]) & eligible
        eligible_count = int(eligible.sum())
        eligible_value = float(amount[eligible].sum())
        value = float(amount[mask].sum())
        result["indicators"][key] = {
            "label": label,
            "count": int(mask.sum()),
            "eligible_count": eligible_count,
            "count_share": _share(float(mask.sum()), eligible_count),
            "value": round(value, 2),
            "eligible_value": round(eligible_value, 2),
            "value_share": _share(value, eligible_value),
        }
    return result


def _spaser_by_kind(flags: pd.DataFrame) -> dict[str, Any]:
    kinds = flags["kind"].fillna("marche")
    return {kind: spaser_kind_figures(flags[kinds.eq(kind)]) for kind, _ in KINDS}


def spaser_published(flags: pd.DataFrame, year: int | None = None) -> dict[str, Any]:
    """SPASER figures of ``year`` (all years if None) under the exclusion policy.

    ``flags`` comes from :func:`spaser_flags` computed over every contract (the first-time
    winner needs the history), with an ``excluded`` column.
    """
    if year is not None and not flags.empty:
        flags = flags[contract_year(flags).eq(year)]
    excluded = _true(flags["excluded"]) if not flags.empty else pd.Series(dtype=bool)
    kept = flags[~excluded] if not flags.empty else flags
    left_out = flags[excluded] if not flags.empty else flags
    amount = pd.to_numeric(left_out.get("amount", pd.Series(dtype=float)), errors="coerce")
    return {
        "year": year,
        **_spaser_by_kind(kept),
        "excluded_contracts": len(left_out),
        "excluded_value": round(float(amount.fillna(0).sum()), 2),
        "including_excluded": _spaser_by_kind(flags),
    }


def spaser_flat_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (kind, indicator) for tables and CSV downloads."""
    rows = []
    for kind, kind_label in KINDS:
        for key, item in result[kind]["indicators"].items():
            including = result["including_excluded"][kind]["indicators"][key]
            rows.append(
                {
                    "year": result["year"],
                    "kind": kind,
                    "kind_label": kind_label,
                    "indicator": key,
                    **item,
                    "count_share_including_excluded": including["count_share"],
                    "value_share_including_excluded": including["value_share"],
                }
            )
    return rows
