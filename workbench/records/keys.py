"""Natural keys of operational records.

Purchase line identity: ``uai | date | supplier SIRET | article reference (or the label when
the line has no reference) | occurrence``, where *occurrence* numbers the lines of one file that
share the first four parts (1, 2, …). The key is the SHA-1 of that text, so a newer extract of
the same period re-finds each line and updates it instead of adding it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd


def _part(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip().upper()


def purchase_line_key(
    uai: str,
    date: dt.date | str,
    siret: str | None,
    reference: str | None,
    label: str,
    occurrence: int = 1,
) -> str:
    identity = _part(reference) or _part(label)
    text = "|".join((_part(uai), _part(date), _part(siret), identity, str(occurrence)))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def purchase_line_keys(frame: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`purchase_line_key` over columns uai, line_date, supplier_siret, reference, label."""

    def col(name: str) -> pd.Series:
        series = frame[name]
        if name == "line_date":
            series = pd.to_datetime(series).dt.strftime("%Y-%m-%d")
        return series.fillna("").astype(str).str.strip().str.upper()

    reference = col("reference")
    identity = reference.where(reference != "", col("label"))
    base = col("uai") + "|" + col("line_date") + "|" + col("supplier_siret") + "|" + identity
    occurrence = base.groupby(base).cumcount() + 1
    text = base + "|" + occurrence.astype(str)
    return text.map(lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())
