"""The indicator reports behind the pages, the CLI and the public observatory (cached per data state).

A report is recomputed when the data may have changed (:func:`queries.data_stamp`: last journal
entry, last anomaly, count of records under an open blocking anomaly); otherwise the figures of
the last computation are served, with their date of computation.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy.orm import Session

from workbench.auth.models import User
from workbench.indicators import engine, queries
from workbench.indicators.queries import Filters

_CACHE: OrderedDict[tuple[Any, ...], tuple[float, dict[str, Any]]] = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 64
#: A cached report is recomputed after this many seconds even when the stamp did not change.
CACHE_SECONDS = 600


def _scope_key(user: User | None) -> tuple[Any, ...]:
    if user is None:
        return ("public",)
    return (user.role, tuple(sorted(user.site_ids or ())), user.direction_code)


def _enabled() -> bool:
    """Off in the test suite (rolled-back tests reuse ids, so stamps repeat) unless asked for."""
    config = current_app.config
    return config.get("ENV") != "testing" or bool(config.get("INDICATOR_CACHE_IN_TESTS"))


def _cached(
    session: Session, name: str, user: User | None, parts: tuple[Any, ...], build: Callable
) -> dict[str, Any]:
    if not _enabled():
        result = build()
        result["computed_at"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        return result
    key = (name, _scope_key(user), parts, queries.data_stamp(session))
    now = time.monotonic()
    with _LOCK:
        if key in _CACHE and now - _CACHE[key][0] < CACHE_SECONDS:
            _CACHE.move_to_end(key)
            return _CACHE[key][1]
    result = build()
    result["computed_at"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    with _LOCK:
        _CACHE[key] = (now, result)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


# -- EGalim -------------------------------------------------------------------------------------
def _before_shares(rows: list[dict[str, Any]], before: list[dict[str, Any]], key: str) -> None:
    by_key = {r[key]: r for r in before}
    for row in rows:
        other = by_key.get(row[key], {})
        for name in ("bio_share", "egalim_share", "meat_fish_egalim_share"):
            row[f"{name}_before"] = other.get(name)


def egalim_report(
    session: Session, user: User | None, filters: Filters, region_code: str
) -> dict[str, Any]:
    """Published EGalim figures of ``filters`` (a year, usually) with their details."""

    def build() -> dict[str, Any]:
        after = queries.egalim_margins(session, user, filters, region_code)
        before = queries.egalim_before_margins(session, user, filters, region_code, after)
        names = queries.site_names(session)
        unchanged = before is after  # no corrected line in the period: "before" is "after"

        def figures(name: str, key: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            rows = engine.figures_of_parts(after[name], key)
            then = (
                [dict(r) for r in rows] if unchanged else engine.figures_of_parts(before[name], key)
            )
            return rows, then

        by_site, site_before = figures("site", "site_id")
        _before_shares(by_site, site_before, "site_id")
        for row in by_site:
            row["site"] = names.get(row["site_id"], str(row["site_id"]))
        by_family, family_before = figures("family", "family")
        _before_shares(by_family, family_before, "family")
        trend, before_trend = figures("month", ["year", "month"])
        _before_trend = {(r["year"], r["month"]): r for r in before_trend}
        for row in trend:
            other = _before_trend.get((row["year"], row["month"]), {})
            row["bio_share_before"] = other.get("bio_share")
            row["egalim_share_before"] = other.get("egalim_share")
        return {
            "year": filters.year,
            "until_month": filters.until_month,
            **engine.published_of_parts(after["site"]),
            "before": engine.published_of_parts(before["site"]),
            "by_site": sorted(by_site, key=lambda r: r["site"]),
            "by_family": sorted(by_family, key=lambda r: -r["total_ht"]),
            "monthly": trend,
            "categories": engine.categories_of_parts(after["category"]),
            "local_definitions": engine.local_definitions_of_parts(after["local"]),
        }

    return _cached(session, "egalim", user, (filters.key(), region_code), build)


EGALIM_JSON_KEYS = (
    "year",
    "total_ht",
    "bio_ht",
    "egalim_ht",
    "bio_share",
    "egalim_share",
    "meat_fish_ht",
    "meat_fish_egalim_ht",
    "meat_fish_egalim_share",
    "france_share",
    "local_ht",
    "local_share",
    "short_circuit_ht",
    "short_circuit_share",
    "regional_supplier_ht",
    "regional_supplier_share",
    "lines",
    "excluded_lines",
    "excluded_ht",
    "including_excluded",
    "computed_at",
)


def egalim_json(report: dict[str, Any]) -> dict[str, Any]:
    """The published EGalim object of the CLI and the public downloads."""
    out = {k: report.get(k) for k in EGALIM_JSON_KEYS}
    out["until_month"] = report.get("until_month")
    out["before_corrections"] = {
        k: report["before"].get(k) for k in ("total_ht", "bio_share", "egalim_share")
    }
    return out


EGALIM_CSV_COLUMNS = (
    "year",
    "month",
    "lines",
    "total_ht",
    "bio_ht",
    "egalim_ht",
    "bio_share",
    "egalim_share",
    "meat_fish_egalim_share",
    "local_share",
    "short_circuit_share",
    "regional_supplier_share",
    "excluded_lines",
    "excluded_ht",
    "bio_share_including_excluded",
    "egalim_share_including_excluded",
)


def egalim_csv_rows(report: dict[str, Any], monthly: bool = False) -> list[dict[str, Any]]:
    """Rows of the EGalim CSV: the year's figures, or one row per month."""
    source = report["monthly"] if monthly else [{**report, "month": ""}]
    rows = []
    for item in source:
        row = {k: item.get(k) for k in EGALIM_CSV_COLUMNS}
        row["year"] = item.get("year", report.get("year"))
        row["bio_share_including_excluded"] = item["including_excluded"]["bio_share"]
        row["egalim_share_including_excluded"] = item["including_excluded"]["egalim_share"]
        rows.append(row)
    return rows


# -- SPASER -------------------------------------------------------------------------------------
def spaser_report(
    session: Session,
    user: User | None,
    filters: Filters,
    region_code: str,
    first_winner_years: int,
) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        contracts, holders, suppliers = queries.contract_frames(session, user, filters)
        if contracts.empty:
            flags = pd.DataFrame(
                columns=["kind", "amount", "excluded", "source_format", "notification_date"]
                + [k for k, _ in engine.SPASER_INDICATORS]
            )
        else:
            flags = engine.spaser_flags(
                contracts,
                holders,
                suppliers,
                region_code=region_code,
                first_winner_years=first_winner_years,
            )
        result = engine.spaser_published(flags, filters.year)
        result["first_winner_years"] = first_winner_years
        return result

    return _cached(session, "spaser", user, (filters.key(), region_code, first_winner_years), build)


SPASER_CSV_COLUMNS = (
    "year",
    "kind",
    "indicator",
    "label",
    "count",
    "eligible_count",
    "count_share",
    "value",
    "eligible_value",
    "value_share",
    "count_share_including_excluded",
    "value_share_including_excluded",
)


def default_year(years: list[int]) -> int | None:
    """The current calendar year if it has data, else the latest year with data."""
    today = dt.date.today().year
    if today in years:
        return today
    return years[-1] if years else None


# -- public observatory --------------------------------------------------------------------------
def public_report(session: Session, region_code: str, first_winner_years: int) -> dict[str, Any]:
    """Published figures per year, region-wide, under the exclusion policy only."""

    def build() -> dict[str, Any]:
        years = queries.egalim_margins(session, None, Filters(), region_code, {"year": ("year",)})
        egalim = engine.figures_of_parts(years["year"], "year")
        contracts, holders, suppliers = queries.contract_frames(session, None)
        spaser = []
        if not contracts.empty:
            flags = engine.spaser_flags(
                contracts,
                holders,
                suppliers,
                region_code=region_code,
                first_winner_years=first_winner_years,
            )
            for year in sorted(engine.contract_year(flags).dropna().unique()):
                spaser.append(engine.spaser_published(flags, int(year)))
        return {"egalim": egalim[::-1], "spaser": spaser[::-1]}

    return _cached(session, "public", None, (region_code, first_winner_years), build)
