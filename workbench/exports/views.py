"""Export pages: DECP v2 JSON of contracts (with what is withheld), purchase lines CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from workbench.audit.operations import record
from workbench.core.edge import commit
from workbench.core.errors import NotFound, ValidationError
from workbench.core.permissions import roles_required
from workbench.exports import decp, purchases, queries
from workbench.extensions import db
from workbench.reference.models import Site


def _journal(kind: str, count: int, **extra: Any) -> None:
    commit(
        lambda: record(
            db.session,
            "export.downloaded",
            target_kind="export",
            target_id=kind,
            after={"rows": count, **extra},
        )
    )


def _filter() -> queries.PurchaseFilter:
    """The lines a purchase export asks for: ``?annee=AAAA`` and ``?site=UAI``. A year that is not
    four digits, or a lycée that does not exist or is out of the user's scope, is refused with a
    French message: never silently widened to everything in scope."""
    year_text = (request.args.get("annee") or "").strip()
    year = None
    if year_text:
        if not (len(year_text) == 4 and year_text.isascii() and year_text.isdigit()):
            raise ValidationError(
                f"L'année « {year_text[:20]} » n'est pas valide : indiquez une année sur quatre "
                "chiffres, par exemple ?annee=2026. Aucun fichier n'a été exporté."
            )
        year = int(year_text)
    uai = (request.args.get("site") or "").strip().upper()
    site_id = db.session.query(Site.id).filter(Site.uai == uai).scalar() if uai else None
    if uai and (site_id is None or not current_user.can_see_site(site_id)):
        raise NotFound(
            f"Le lycée « {uai[:20]} » n'existe pas, ou vous n'y avez pas accès. Aucun fichier "
            "n'a été exporté."
        )
    return queries.PurchaseFilter(year=year, site_id=site_id)


def decp_export(include_blocked: bool = False) -> decp.DecpExport:
    contracts, holders = queries.contract_rows(db.session, current_user)
    return decp.build_export(
        contracts, holders, queries.blocking_anomalies(db.session), include_blocked
    )


@roles_required("canteen", "direction", "legal", "admin", "viewer")
def index():  # type: ignore[no-untyped-def]
    role = current_user.role
    export = decp_export() if role in ("direction", "legal", "admin", "viewer") else None
    purchases_allowed = role in ("canteen", "legal", "admin")
    return render_template(
        "exports/index.html",
        export=export,
        purchases_allowed=purchases_allowed,
        macantine_withheld=queries.macantine_withheld(db.session, current_user)
        if purchases_allowed
        else [],
        sites_without_siret=queries.sites_without_siret(db.session, current_user)
        if purchases_allowed
        else [],
    )


@roles_required("direction", "legal", "admin", "viewer")
def contracts_json():  # type: ignore[no-untyped-def]
    export = decp_export()
    _journal("contracts_decp_v2", export.exported, withheld=len(export.withheld))
    body = json.dumps(export.document, ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": "attachment; filename=marches-decp-v2.json",
            "X-Workbench-Withheld": str(len(export.withheld)),
            "X-Workbench-Excluded": str(len(export.withheld)),  # former name
        },
    )


@roles_required("direction", "legal", "admin", "viewer")
def contracts_withheld_csv():  # type: ignore[no-untyped-def]
    export = decp_export()
    _journal("contracts_decp_v2_withheld", len(export.withheld))
    text = "".join(
        purchases.csv_chunks(decp.WITHHELD_COLUMNS, _guarded(decp.withheld_rows(export)))
    )
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=marches-decp-v2.withheld.csv"},
    )


def _guarded(rows: list[list[Any]]) -> Iterator[list[Any]]:
    from workbench.core.csvsafe import safe_cell

    for row in rows:
        yield [safe_cell(v) for v in row]


def _stream(chunks: Iterator[str] | Iterator[bytes], filename: str) -> Response:
    return Response(
        stream_with_context(chunks),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@roles_required("canteen", "legal", "admin")
def purchases_csv():  # type: ignore[no-untyped-def]
    filt = _filter()
    _journal("purchases_csv", queries.count_lines(db.session, current_user, filt))
    return _stream(iter(queries.CanonicalExport(db.session, current_user, filt)), "achats.csv")


@roles_required("canteen", "legal", "admin")
def purchases_macantine_csv():  # type: ignore[no-untyped-def]
    filt = _filter()
    withheld = queries.macantine_withheld(db.session, current_user, filt)
    total = queries.count_lines(db.session, current_user, filt)
    left_out = sum(w["lines"] for w in withheld)
    _journal("purchases_macantine", total - left_out, withheld=left_out)
    rows = map(purchases.macantine_row, queries.macantine_rows(db.session, current_user, filt))
    response = _stream(
        purchases.csv_chunks(purchases.MACANTINE_COLUMNS, rows), "achats-ma-cantine.csv"
    )
    response.headers["X-Workbench-Withheld"] = str(left_out)
    return response
