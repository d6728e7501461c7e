"""The public observatory: published indicators per year and the open-data downloads.

No login. Only figures computed under the exclusion policy (records under an open blocking
anomaly left out), region-wide, with their date of computation. Nothing is written on these
requests (no journal entry: anonymous readers of open data).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, current_app, render_template

from workbench.exports import decp
from workbench.exports import queries as export_queries
from workbench.extensions import db
from workbench.indicators import charts, engine, reports
from workbench.indicators.views import csv_response


def _enabled() -> None:
    if not current_app.config.get("PUBLIC_OBSERVATORY"):
        abort(404)


def _report() -> dict[str, Any]:
    report = reports.public_report(
        db.session,
        str(current_app.config["REGION_CODE"]),
        int(current_app.config["FIRST_WINNER_YEARS"]),
    )
    return report


def index():  # type: ignore[no-untyped-def]
    _enabled()
    return render_template(
        "public/index.html",
        r=_report(),
        targets=engine.TARGETS,
        charts=charts,
        kinds=engine.KINDS,
    )


def egalim_csv():  # type: ignore[no-untyped-def]
    _enabled()
    report = _report()
    rows = []
    for item in report["egalim"]:
        row = {k: item.get(k) for k in reports.EGALIM_CSV_COLUMNS}
        row["month"] = ""
        row["computed_at"] = report["computed_at"]
        rows.append(row)
    return csv_response(
        (
            *[c for c in reports.EGALIM_CSV_COLUMNS if not c.endswith("including_excluded")],
            "computed_at",
        ),
        rows,
        "observatoire-egalim.csv",
    )


def spaser_csv():  # type: ignore[no-untyped-def]
    _enabled()
    report = _report()
    rows = [
        {**row, "computed_at": report["computed_at"]}
        for result in report["spaser"]
        for row in engine.spaser_flat_rows(result)
    ]
    columns = [c for c in reports.SPASER_CSV_COLUMNS if not c.endswith("including_excluded")]
    return csv_response((*columns, "computed_at"), rows, "observatoire-spaser.csv")


def decp_json():  # type: ignore[no-untyped-def]
    _enabled()
    contracts, holders = export_queries.contract_rows(db.session, None)
    export = decp.build_export(contracts, holders, export_queries.blocking_anomalies(db.session))
    return Response(
        json.dumps(export.document, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=marches-decp-v2.json"},
    )
