"""The health endpoint: 200 when the database answers and is at the migrations' head, else 503."""

from __future__ import annotations

from flask import jsonify

from workbench.core.edge import end_read
from workbench.extensions import db
from workbench.service import health as checks


def health():  # type: ignore[no-untyped-def]
    report = checks.health(db.session, detail=False)
    end_read()  # end the transaction the checks opened
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
