"""Observatory pages: EGalim before/after corrections, SPASER, data quality scorecards."""

from __future__ import annotations

import pandas as pd
from flask import current_app, render_template
from flask_login import current_user, login_required

from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.indicators import engine, quality, queries
from workbench.reference.models import FAMILIES, LABELS


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@login_required
def egalim():  # type: ignore[no-untyped-def]
    current, before = queries.purchase_frames(db.session, current_user)
    if current.empty:
        return render_template("indicators/egalim.html", empty=True)
    after_region = engine.egalim_summary(current).iloc[0].to_dict()
    before_region = engine.egalim_summary(before).iloc[0].to_dict()
    by_site = engine.egalim_summary(current, ["site"]).merge(
        engine.egalim_summary(before, ["site"])[["site", "bio_share", "egalim_share"]],
        on="site",
        suffixes=("", "_before"),
    )
    by_family = engine.egalim_summary(current, ["family"]).merge(
        engine.egalim_summary(before, ["family"])[["family", "bio_share", "egalim_share"]],
        on="family",
        suffixes=("", "_before"),
    )
    return render_template(
        "indicators/egalim.html",
        empty=False,
        after=after_region,
        before=before_region,
        by_site=_records(by_site.sort_values("site")),
        by_family=_records(by_family.sort_values("amount_ht", ascending=False)),
        categories=_records(engine.category_breakdown(current)),
        families=FAMILIES,
        labels=LABELS,
        targets=engine.TARGETS,
    )


@roles_required("direction", "legal", "admin", "viewer")
def spaser():  # type: ignore[no-untyped-def]
    contracts, holders, suppliers = queries.contract_frames(db.session, current_user)
    if contracts.empty:
        return render_template("indicators/spaser.html", empty=True)
    flags = engine.spaser_flags(
        contracts,
        holders,
        suppliers,
        region_code=str(current_app.config["REGION_CODE"]),
        first_winner_years=int(current_app.config["FIRST_WINNER_YEARS"]),
    )
    return render_template(
        "indicators/spaser.html",
        empty=False,
        rows=_records(engine.spaser_summary(flags)),
        total=len(flags),
        total_value=float(flags["amount"].sum()),
        years=current_app.config["FIRST_WINNER_YEARS"],
    )


@roles_required("legal", "admin", "viewer")
def quality_page():  # type: ignore[no-untyped-def]
    anomalies, counts = queries.quality_frames(db.session)
    sites = (
        quality.per_thousand(anomalies, queries.site_line_counts(db.session), "site_id")
        if not anomalies.empty
        else None
    )
    trend = quality.weekly_trend(anomalies)
    peak = int(max(trend["opened"].max(), trend["closed"].max())) if not trend.empty else 0
    return render_template(
        "indicators/quality.html",
        sites=_records(sites) if sites is not None else [],
        rules=_records(quality.by_rule(anomalies)) if not anomalies.empty else [],
        median_days=quality.median_resolution_days(anomalies) if not anomalies.empty else None,
        trend=_records(trend),
        peak=peak,
        counts=counts,
        total_open=int(anomalies["status"].isin(quality.ACTIVE).sum())
        if not anomalies.empty
        else 0,
    )
