"""Data quality scorecards, pure pandas: open anomalies per 1,000 records, resolution time, trend.

Each function takes anomaly rows; an ``n`` column, when present, weighs each row (the page feeds
them grouped counts: ``anomaly_counts`` and per-day groups, not millions of rows).
"""

from __future__ import annotations

import pandas as pd

ACTIVE = ("open", "claimed", "proposed")


def per_thousand(anomalies: pd.DataFrame, records: pd.DataFrame, key: str) -> pd.DataFrame:
    """Open anomalies per 1,000 records, grouped by ``key`` (``records`` has key, name, records)."""
    active = anomalies[anomalies["status"].isin(ACTIVE)]
    counts = _weights(active).groupby(active[key]).sum().rename("open")
    out = records.set_index(key).join(counts).fillna({"open": 0})
    out["per_thousand"] = (1000 * out["open"] / out["records"].where(out["records"] > 0)).round(1)
    return out.reset_index().sort_values("per_thousand", ascending=False)


def by_rule(anomalies: pd.DataFrame) -> pd.DataFrame:
    active = anomalies[anomalies["status"].isin(ACTIVE)]
    return (
        _weights(active)
        .groupby(active["rule_code"])
        .sum()
        .rename("open")
        .rename_axis("rule_code")
        .reset_index()
        .sort_values("open", ascending=False)
    )


def _weights(anomalies: pd.DataFrame) -> pd.Series:
    if "n" in anomalies:
        return anomalies["n"].astype("int64")
    return pd.Series(1, index=anomalies.index, dtype="int64")


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

    weights = _weights(anomalies)

    def week_of(values: pd.Series) -> pd.Series:
        stamps = pd.to_datetime(values, utc=True)
        kept = stamps.notna()
        labels = stamps[kept].dt.tz_localize(None).dt.to_period("W").astype(str)
        return weights[kept].groupby(labels.to_numpy()).sum()

    opened = week_of(anomalies["first_seen_at"])
    closed = week_of(anomalies["closed_at"])
    frame = pd.DataFrame({"opened": opened, "closed": closed}).fillna(0).astype(int)
    frame = frame.sort_index().tail(weeks)
    return frame.rename_axis("week").reset_index()
