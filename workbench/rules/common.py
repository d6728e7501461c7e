"""Pure helpers shared by the rule modules (pandas in, pandas out; no Flask, no database).

The trick that keeps rules fast over a million rows: real columns have few distinct values
(a few hundred SIRETs, a few thousand labels), so anything that needs Python per value is
computed once per distinct value and mapped back (:func:`per_unique`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from stdnum.fr import siret as stdnum_siret

LEGAL_FORMS = (
    "SAS",
    "SASU",
    "SARL",
    "EURL",
    "SA",
    "SNC",
    "SCA",
    "SCOP",
    "SCIC",
    "EARL",
    "GAEC",
    "SCEA",
    "SCI",
    "GIE",
    "SELARL",
    "ETS",
    "ETABLISSEMENTS",
    "STE",
    "SOCIETE",
)
_LEGAL_FORM_RE = re.compile(r"\b(" + "|".join(LEGAL_FORMS) + r")\b")


#: Factorisations of big columns, reused by every rule of a run (cleared by the engine).
_FACTORIZED: dict[tuple[int, int, tuple[int, ...]], tuple[np.ndarray, np.ndarray, Any]] = {}
_CACHE_MIN_ROWS = 10_000


def clear_cache() -> None:
    """Forget the factorisations kept during a run."""
    _FACTORIZED.clear()


def factorize(series: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` (missing → -1), remembered for big object columns: the rules of one
    run look at the same columns (labels, references, SIRETs) many times."""
    values = series.to_numpy()
    if values.dtype != object or len(values) < _CACHE_MIN_ROWS:
        return pd.factorize(values, use_na_sentinel=True)
    key = (values.__array_interface__["data"][0], len(values), values.strides)
    hit = _FACTORIZED.get(key)
    if hit is not None:
        return hit[1], hit[2]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    _FACTORIZED[key] = (values, codes, uniques)  # keeps the array alive: the key stays unique
    return codes, uniques


def per_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``series.map(func)`` computed once per distinct value (missing values → ``func(None)``)."""
    codes, uniques = factorize(series)
    values = [func(v) for v in uniques]
    values.append(func(None))  # code -1 (missing) takes the last slot
    table = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # keeps tuples and sets as single objects
        table[i] = v
    result = pd.Series(table[codes], index=series.index)
    if values and all(isinstance(v, bool) for v in values):
        return result.astype(bool)
    return result


def blank(series: pd.Series) -> pd.Series:
    """True where the value is missing or only whitespace."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return per_unique(series, lambda v: v is None or not str(v).strip()).astype(bool)
    return series.isna()


def clean_text(series: pd.Series) -> pd.Series:
    """Stripped strings, ``""`` for missing values (computed once per distinct value)."""
    return per_unique(series, lambda v: "" if v is None else str(v).strip())


def upper_text(series: pd.Series) -> pd.Series:
    """Stripped upper-case strings, ``""`` for missing values."""
    return per_unique(series, lambda v: "" if v is None else str(v).strip().upper())


def codes_of(*columns: pd.Series) -> np.ndarray:
    """One int64 code per distinct combination of the columns' values (NaN is a value)."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = factorize(column)
        combined = combined * (len(uniques) + 1) + (codes + 1)
        combined, _ = pd.factorize(combined)  # keep the numbers small
    return combined


def per_unique_rows(func: Callable[..., Any], *columns: pd.Series) -> pd.Series:
    """``func(a, b, ...)`` over aligned columns, computed once per distinct combination."""
    index = columns[0].index
    if len(index) == 0:
        return pd.Series([], index=index, dtype=object)
    codes = codes_of(*columns)
    _, first = np.unique(codes, return_index=True)
    values = [func(*(None if _missing(c.iat[i]) else c.iat[i] for c in columns)) for i in first]
    table = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        table[i] = v
    order = np.empty(codes.max() + 1, dtype=np.int64)
    order[codes[first]] = np.arange(len(first))
    result = pd.Series(table[order[codes]], index=index)
    if values and all(isinstance(v, bool) for v in values):
        return result.astype(bool)
    return result


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _digits(value: Any) -> str:
    return re.sub(r"[\s.\-]", "", str(value)) if value is not None else ""


@functools.lru_cache(maxsize=200_000)
def _siret_status_text(text: str) -> str:
    if not text:
        return "missing"
    if not (len(text) == 14 and text.isdigit()):
        return "format"
    return "valid" if stdnum_siret.is_valid(text) else "checksum"


def siret_status(value: Any) -> str:
    """``missing``, ``format`` (not 14 digits), ``checksum`` (Luhn / La Poste) or ``valid``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    return _siret_status_text(_digits(value))


#: What each :func:`siret_statuses` failure means, in a message (« Le SIRET … <reason> »).
SIRET_PROBLEMS = {"format": "ne compte pas 14 chiffres", "checksum": "a une clé de contrôle fausse"}


def siret_statuses(series: pd.Series) -> pd.Series:
    """:func:`siret_status` per value, validated once per distinct SIRET with python-stdnum."""
    return per_unique(series, siret_status)


def siren_of(series: pd.Series) -> pd.Series:
    """The SIREN (first 9 digits) of 14-digit SIRETs, else None."""

    def siren(value: Any) -> Any:
        text = _digits(value) if value is not None else ""
        return text[:9] if len(text) == 14 and text.isdigit() else None

    return per_unique(series, siren)


def compact_siret(series: pd.Series) -> pd.Series:
    """SIRETs without spaces, dots or dashes (``""`` for missing)."""
    return per_unique(series, _digits)


def normalise_name(value: Any) -> str:
    """Company name key: upper case, no accents or punctuation, legal forms removed."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = unicodedata.normalize("NFKD", str(value).replace("Œ", "OE").replace("œ", "oe"))
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = re.sub(r"[^A-Z0-9]+", " ", text.replace(".", ""))
    text = _LEGAL_FORM_RE.sub(" ", text)
    return " ".join(text.split())


def label_set(value: Any) -> frozenset[str]:
    """``"BIO, label_rouge"`` → ``{"BIO", "LABEL_ROUGE"}``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return frozenset()
    return frozenset(t.strip().upper() for t in re.split(r"[,;|]", str(value)) if t.strip())


def label_sets(series: pd.Series) -> pd.Series:
    return per_unique(series, label_set)


def format_labels(labels: frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(labels))


def fmt(series: pd.Series, spec: str) -> pd.Series:
    """Numbers formatted with ``format(v, spec)`` (``""`` when missing); always strings."""
    return pd.Series(
        ["" if pd.isna(v) else format(v, spec) for v in series], index=series.index, dtype=object
    )


def fmt_fr(series: pd.Series, decimals: int = 2, *, sign: bool = False) -> pd.Series:
    """Numbers as a French reader writes them in a message: ``1 234,50`` (``""`` when missing)."""
    spec = ("+" if sign else "") + f",.{decimals}f"
    return fmt(series, spec).str.replace(",", "\u202f").str.replace(".", ",", regex=False)
