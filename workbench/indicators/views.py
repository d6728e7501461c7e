"""Observatory pages: EGalim per year (before/after corrections), SPASER per year, data quality."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from flask import Response, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from workbench.core.csvsafe import safe_cell
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.indicators import charts, engine, quality, queries, reports
from workbench.indicators.queries import Filters
from workbench.reference.models import FAMILIES, LABELS

QUEUE_ROLES = {
    "purchases": ("canteen", "legal", "admin"),
    "contracts": ("direction", "legal", "admin"),
}


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def filters_from_request(years: list[int]) -> Filters:
    """The page's filters from the query string; the year defaults to the current calendar year."""
    year = _int("annee")
    if year not in years:
        year = reports.default_year(years)
    until = dt.date.today().month if request.args.get("periode") == "cumul" else None
    return Filters(
        year=year,
        until_month=until,
        site_id=_int("site"),
        direction_code=request.args.get("direction") or None,
        family=request.args.get("famille") or None,
        supplier_id=_int("fournisseur"),
        domain=(request.args.get("domaine") or "")[:2] or None,
    )


def _queue_link(queue: str) -> str | None:
    if current_user.role not in QUEUE_ROLES[queue]:
        return None
    return url_for("review.queue", queue=queue, gravite="blocking")


def csv_response(columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str) -> Response:
    """A CSV download; only text cells get the formula guard (numbers stay numbers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) if row.get(c) is not None else "" for c in columns])
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _query_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if v}


@login_required
def egalim():  # type: ignore[no-untyped-def]
    years = queries.years_with_lines(db.session, current_user)
    if not years:
        return render_template("indicators/egalim.html", empty=True)
    filters = filters_from_request(years)
    report = reports.egalim_report(
        db.session, current_user, filters, str(current_app.config["REGION_CODE"])
    )
    return render_template(
        "indicators/egalim.html",
        empty=False,
        r=report,
        filters=filters,
        years=years,
        choices=queries.filter_choices(db.session, current_user),
        args=_query_args(),
        queue_link=_queue_link("purchases"),
        families=FAMILIES,
        labels=LABELS,
        targets=engine.TARGETS,
        charts=charts,
        months=charts.MONTHS,
    )


@login_required
def egalim_csv():  # type: ignore[no-untyped-def]
    years = queries.years_with_lines(db.session, current_user)
    filters = filters_from_request(years)
    report = reports.egalim_report(
        db.session, current_user, filters, str(current_app.config["REGION_CODE"])
    )
    detail = request.args.get("detail", "")
    if detail == "lycees":
        columns = (
            "site",
            "total_ht",
            "bio_share",
            "bio_share_before",
            "egalim_share",
            "egalim_share_before",
            "excluded_lines",
            "excluded_ht",
        )
        return csv_response(columns, report["by_site"], f"egalim-{filters.year}-lycees.csv")
    if detail == "familles":
        columns = (
            "family",
            "total_ht",
            "bio_share",
            "egalim_share",
            "egalim_share_before",
            "excluded_lines",
            "excluded_ht",
        )
        return csv_response(columns, report["by_family"], f"egalim-{filters.year}-familles.csv")
    if detail == "categories":
        return csv_response(
            ("category", "amount", "share"),
            report["categories"],
            f"egalim-{filters.year}-categories.csv",
        )
    if detail == "proximite":
        return csv_response(
            ("definition", "label", "amount", "share"),
            report["local_definitions"],
            f"egalim-{filters.year}-local.csv",
        )
    monthly = detail == "mensuel"
    name = f"egalim-{filters.year}{'-mensuel' if monthly else ''}.csv"
    rows = reports.egalim_csv_rows(report, monthly=monthly)
    if monthly:
        before = {r["month"]: r for r in report["monthly"]}
        for row in rows:
            row["egalim_share_before"] = before[row["month"]].get("egalim_share_before")
        return csv_response((*reports.EGALIM_CSV_COLUMNS, "egalim_share_before"), rows, name)
    return csv_response(reports.EGALIM_CSV_COLUMNS, rows, name)


def _spaser(filters: Filters) -> dict[str, Any]:
    return reports.spaser_report(
        db.session,
        current_user,
        filters,
        str(current_app.config["REGION_CODE"]),
        int(current_app.config["FIRST_WINNER_YEARS"]),
    )


@roles_required("direction", "legal", "admin", "viewer")
def spaser():  # type: ignore[no-untyped-def]
    years = queries.contract_years(db.session, current_user)
    if not years:
        return render_template("indicators/spaser.html", empty=True)
    filters = filters_from_request(years)
    report = _spaser(filters)
    return render_template(
        "indicators/spaser.html",
        empty=False,
        r=report,
        rows=engine.spaser_flat_rows(report),
        filters=filters,
        years=years,
        choices=queries.filter_choices(db.session, current_user),
        args=_query_args(),
        queue_link=_queue_link("contracts"),
        kinds=engine.KINDS,
        charts=charts,
    )


@roles_required("direction", "legal", "admin", "viewer")
def spaser_csv():  # type: ignore[no-untyped-def]
    years = queries.contract_years(db.session, current_user)
    filters = filters_from_request(years)
    rows = engine.spaser_flat_rows(_spaser(filters))
    return csv_response(reports.SPASER_CSV_COLUMNS, rows, f"spaser-{filters.year}.csv")


@roles_required("legal", "admin", "viewer")
def quality_page():  # type: ignore[no-untyped-def]
    frames = queries.quality_frames(db.session)
    active = frames.active
    sites = (
        quality.per_thousand(active, queries.site_line_counts(db.session), "site_id")
        if not active.empty
        else None
    )
    trend = quality.weekly_trend(frames.days)
    peak = int(max(trend["opened"].max(), trend["closed"].max())) if not trend.empty else 0
    return render_template(
        "indicators/quality.html",
        sites=_records(sites) if sites is not None else [],
        rules=_records(quality.by_rule(active)) if not active.empty else [],
        median_days=quality.median_resolution_days(frames.closed)
        if not frames.closed.empty
        else None,
        trend=_records(trend),
        peak=peak,
        counts=frames.counts,
        total_open=int(active["n"].sum()) if not active.empty else 0,
    )
