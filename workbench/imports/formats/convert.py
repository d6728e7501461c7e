"""Generic conversion: matching headers, typing a chunk of text cells, duplicate keys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.core.values import money_range_message, numeric_limit
from workbench.imports.formats.columns import (
    FAMILY_ALIASES,
    Column,
    Format,
    compact_siret,
    normalise_labels,
)
from workbench.imports.parsing import (
    ROW,
    Report,
    by_unique,
    empty_mask,
    normalise_token,
    parse_booleans,
    parse_dates,
    parse_decimals,
    text_or_none,
)
from workbench.reference.models import FAMILIES, LABELS


# -- generic conversion -------------------------------------------------------------------------
def match_headers(fmt: Format, headers: list[str], original: list[str], report: Report) -> dict:
    """Map each column of ``fmt`` to the file's header(s); report missing and unknown ones.

    Returns ``{column name: [file header, ...]}`` (aliases in order of preference).
    """
    present = {h: i for i, h in enumerate(headers)}
    mapping: dict[str, list[str]] = {}
    used: set[str] = set()
    for column in fmt.columns:
        found = [h for h in column.headers if h in present]
        if found:
            mapping[column.name] = found
            used.update(found)
    missing = [c.name for c in fmt.columns if c.required and c.name not in mapping]
    if missing:
        report.file_error(
            "Colonne(s) obligatoire(s) absente(s) : "
            + ", ".join(missing)
            + ". Colonnes trouvées : "
            + (", ".join(o for o in original if o) or "(aucune)")
            + "."
        )
    unknown = [original[i] for i, h in enumerate(headers) if h not in used and original[i]]
    if unknown:
        report.warning(
            1,
            ", ".join(unknown)[:200],
            None,
            "Colonne(s) inconnue(s), ignorée(s) : " + ", ".join(unknown) + ".",
        )
    return mapping


def _source(chunk: pd.DataFrame, headers: list[str]) -> pd.Series:
    series = chunk[headers[0]]
    for other in headers[1:]:  # aliases: first non-empty value wins
        series = series.where(~empty_mask(series), chunk[other])
    return series


def convert(
    chunk: pd.DataFrame, fmt: Format, mapping: dict[str, list[str]], report: Report
) -> pd.DataFrame:
    """Typed values of one chunk (``None``/NaN for empty cells); errors go to ``report``."""
    out = pd.DataFrame({ROW: chunk[ROW].to_numpy()}, index=chunk.index)
    for column in fmt.columns:
        headers = mapping.get(column.name)
        if not headers:
            continue
        raw = _source(chunk, headers)
        empty = empty_mask(raw)
        if column.not_null:
            report.errors_where(chunk, empty, column.name, "Valeur obligatoire manquante.")
        out[column.field] = _convert_column(chunk, column, raw, empty, report)
    return out


def _convert_column(
    chunk: pd.DataFrame, column: Column, raw: pd.Series, empty: pd.Series, report: Report
) -> pd.Series:
    name = column.name
    kind = column.type
    if kind == "date":
        values, bad = parse_dates(raw)
        report.errors_where(
            chunk, bad, name, "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa).", raw
        )
        return values
    if kind == "decimal":
        values, bad = parse_decimals(raw)
        report.errors_where(chunk, bad, name, "Nombre illisible.", raw)
        if column.minimum is not None:
            report.errors_where(
                chunk,
                values < column.minimum,
                name,
                f"La valeur doit être supérieure ou égale à {column.minimum:g}.",
                raw,
            )
        if column.numeric is not None:  # what NUMERIC(p, s) refuses on PostgreSQL
            out = values.notna() & ~(values.abs() < numeric_limit(*column.numeric))
            report.errors_where(chunk, out, name, money_range_message(*column.numeric), raw)
            values = values.where(~out)
        if column.maximum is not None:
            out = values > column.maximum
            largest = f"{column.maximum:,.0f}".replace(",", " ")
            report.errors_where(chunk, out, name, f"Nombre hors limites : au plus {largest}.", raw)
            values = values.where(~out)
        return values
    if kind == "bool":
        values, bad = parse_booleans(raw)
        report.errors_where(chunk, bad, name, "Valeur oui/non illisible (oui, non, x, 1, 0).", raw)
        return values
    if kind == "flag":  # ma-cantine: OUI / x means yes, anything else no
        return by_unique(
            raw, lambda s: s.astype(str).str.strip().str.upper().isin(["OUI", "X", "O"])
        ).astype(bool)
    if kind == "family":
        values = by_unique(raw.where(~empty), lambda s: s.map(normalise_token).map(FAMILY_ALIASES))
        bad = values.isna() & ~empty
        report.errors_where(
            chunk,
            bad,
            name,
            "Famille « {value} » inconnue; familles possibles : " + ", ".join(FAMILIES) + ".",
            raw,
        )
        return values
    if kind == "labels":
        positions, uniques = pd.factorize(raw.where(~empty), use_na_sentinel=True)
        pairs = [normalise_labels(value) for value in uniques]
        # one more slot for the empty cells (position -1)
        known = np.array([p[0] for p in pairs] + [""], dtype=object)
        unknown_text = np.array([", ".join(p[1]) for p in pairs] + [""], dtype=object)
        codes = pd.Series(known[positions], index=raw.index)
        unknown = pd.Series(unknown_text[positions], index=raw.index)
        report.errors_where(
            chunk,
            unknown != "",
            name,
            lambda v: (
                "Label(s) inconnu(s) : " + v + ". Labels possibles : " + ", ".join(LABELS) + "."
            ),
            unknown,
        )
        return codes
    if kind == "choice":
        values = by_unique(raw.where(~empty), lambda s: s.map(normalise_token))
        bad = ~values.isin(list(column.choices)) & ~empty
        report.errors_where(
            chunk,
            bad,
            name,
            "Valeur « {value} » inconnue; valeurs possibles : " + ", ".join(column.choices) + ".",
            raw,
        )
        return values.where(~bad & ~empty, None)
    if kind == "siret":
        values = by_unique(raw.where(~empty), lambda s: s.map(compact_siret))
        limit = column.max_len or 20
        too_long = by_unique(values, lambda s: s.str.len() > limit).eq(True)
        report.errors_where(
            chunk, too_long, name, f"Identifiant trop long (au plus {limit} caractères).", raw
        )
        return values.where(~too_long, None)
    values = text_or_none(raw)
    if kind == "upper":
        values = by_unique(values, lambda s: s.astype(str).str.upper())
    if column.max_len:
        too_long = raw.str.len() > column.max_len
        report.errors_where(
            chunk,
            too_long,
            name,
            f"Texte trop long (au plus {column.max_len} caractères).",
            raw,
        )
    return values


def check_duplicates(frame: pd.DataFrame, keys: list[str], label: str, report: Report) -> None:
    """One error per row repeating the natural key of an earlier row of the file."""
    complete = frame[keys].notna().all(axis=1)
    subset = frame[complete]
    dup = subset.duplicated(keys, keep="first")
    if not dup.any():
        return
    first = subset.groupby(keys, sort=False)[ROW].transform("first")
    for row, first_row, key in zip(
        subset.loc[dup, ROW],
        first[dup],
        subset.loc[dup, keys].astype(str).agg(" / ".join, axis=1),
        strict=True,
    ):
        report.error(
            int(row),
            label,
            key,
            f"Doublon : même {label} que la ligne {int(first_row)}.",
        )
