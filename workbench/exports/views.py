"""Export pages: DECP v2 JSON of contracts, purchase lines CSV (canonical and ma-cantine)."""

from __future__ import annotations

import io
import json

from flask import Response, render_template
from flask_login import current_user

from workbench.audit.operations import record
from workbench.core.permissions import roles_required
from workbench.exports import decp, purchases, queries
from workbench.extensions import db


def _journal(kind: str, count: int) -> None:
    record(
        db.session, "export.downloaded", target_kind="export", target_id=kind, after={"rows": count}
    )
    db.session.commit()


@roles_required("canteen", "direction", "legal", "admin")
def index():  # type: ignore[no-untyped-def]
    return render_template("exports/index.html")


@roles_required("direction", "legal", "admin")
def contracts_json():  # type: ignore[no-untyped-def]
    contracts, holders = queries.contract_rows(db.session, current_user)
    export = decp.build_export(contracts, holders)
    _journal("contracts_decp_v2", export.exported)
    body = json.dumps(export.document, ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": "attachment; filename=marches-decp-v2.json",
            "X-Workbench-Excluded": str(len(export.excluded)),
        },
    )


def _csv(columns, rows, filename: str, kind: str):  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    count = purchases.write_csv(buffer, columns, rows)
    _journal(kind, count)
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@roles_required("canteen", "legal", "admin")
def purchases_csv():  # type: ignore[no-untyped-def]
    rows = (purchases.canonical_row(r) for r in queries.purchase_rows(db.session, current_user))
    return _csv(purchases.CANONICAL_COLUMNS, rows, "achats.csv", "purchases_csv")


@roles_required("canteen", "legal", "admin")
def purchases_macantine_csv():  # type: ignore[no-untyped-def]
    rows = (purchases.macantine_row(r) for r in queries.purchase_rows(db.session, current_user))
    return _csv(purchases.MACANTINE_COLUMNS, rows, "achats-ma-cantine.csv", "purchases_macantine")
