"""Data quality scorecards, pure pandas: open anomalies per 1,000 records, resolution time, trend."""

from __future__ import annotations

import pandas as pd

ACTIVE = ("open", "claimed", "proposed")


def per_thousand(anomalies: pd.DataFrame, records: pd.DataFrame, key: str) -> pd.DataFrame:
    """Open anomalies per 1,000 records, grouped by ``key`` (``records`` has key, name, records)."""
    active = anomalies[anomalies["status"].isin(ACTIVE)]
    counts = active.groupby(key).size().rename("open")
    out = records.set_index(key).join(counts).fillna({"open": 0})
    out["per_thousand"] = (1000 * out["open"] / out["records"].where(out["records"] > 0)).round(1)
    return out.reset_index().sort_values("per_thousand", ascending=False)


def by_rule(anomalies: pd.DataFrame) -> pd.DataFrame:
    active = anomalies[anomalies["status"].isin(ACTIVE)]
    return (
        active.groupby("rule_code")
        .size()
        .rename("open")
        .reset_index()
        .sort_values("open", ascending=False)
    )


def median_resolution_days(anomalies: pd.DataFrame) -> float | None:
    closed = anomalies[
        anomalies["status"].isin(("resolved", "dismissed")) & anomalies["closed_at"].notna()
    ]
    if closed.empty:
        return None
    delta = pd.to_datetime(closed["closed_at"], utc=True) - pd.to_datetime(
        closed["first_seen_at"], utc=True
    )
    return round(delta.dt.total_seconds().median() / 86400, 1)


def weekly_trend(anomalies: pd.DataFrame, weeks: int = 12) -> pd.DataFrame:
    """Anomalies opened and closed per ISO week over the last ``weeks`` weeks."""
    if anomalies.empty:
        return pd.DataFrame(columns=["week", "opened", "closed"])

    def week_of(values: pd.Series) -> pd.Series:
        stamps = pd.to_datetime(values, utc=True).dropna().dt.tz_localize(None)
        return stamps.dt.to_period("W").astype(str)

    opened = week_of(anomalies["first_seen_at"])
    closed = week_of(anomalies["closed_at"])
    frame = (
        pd.DataFrame({"opened": opened.value_counts(), "closed": closed.value_counts()})
        .fillna(0)
        .astype(int)
    )
    frame = frame.sort_index().tail(weeks)
    return frame.rename_axis("week").reset_index()
