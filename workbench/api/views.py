"""API handlers: check the token's kinds, import the batch, report it (the request commits once)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g, request
from flask_smorest import abort

from workbench.api import batches
from workbench.api.blueprint import bp
from workbench.api.models import ApiToken
from workbench.api.schemas import (
    CONTRACTS_BODY,
    BatchSchema,
    MatrixBatchSchema,
    PurchaseBatchSchema,
)
from workbench.extensions import db
from workbench.imports.models import ImportBatch
from workbench.imports.operations import RECORD_KINDS, ImportResult

ERRORS = {
    401: "Jeton absent, invalide ou révoqué.",
    403: "Ce jeton ne permet pas ce type de lot.",
    422: "Corps de requête invalide (le détail est dans errors).",
}
SECURITY = [{"jeton": []}]


def _token() -> ApiToken:
    token: ApiToken = g.api_token
    return token


def _require(kind: str) -> ApiToken:
    token = _token()
    if not token.allows(kind):
        abort(403, message=f"Le jeton « {token.name} » ne permet pas de déposer des lots {kind}.")
    return token


def _open_anomalies(batch: ImportBatch) -> int:
    from workbench.records.models import Contract, PurchaseLine
    from workbench.reference.models import MatrixEntry
    from workbench.rules.models import ACTIVE_STATUSES, Anomaly

    record_kind = RECORD_KINDS.get(batch.kind)
    models = {"purchase_line": PurchaseLine, "contract": Contract, "matrix_entry": MatrixEntry}
    if record_kind not in models or batch.status != "applied":
        return 0
    model = models[record_kind]
    ids = sa.select(model.id).where(model.import_batch_id == batch.id)
    return (
        db.session.scalar(
            sa.select(sa.func.count(Anomaly.id)).where(
                Anomaly.record_kind == record_kind,
                Anomaly.record_id.in_(ids),
                Anomaly.status.in_(ACTIVE_STATUSES),
            )
        )
        or 0
    )


def batch_body(batch: ImportBatch, *, status: str | None = None, message: str = "") -> dict:
    return {
        "id": batch.id,
        "kind": batch.kind,
        "status": status or batch.status,
        "message": message,
        "file_name": batch.file_name,
        "created_at": batch.created_at,
        "rows": batch.row_count,
        "inserted": batch.inserted_count,
        "updated": batch.updated_count,
        "unchanged": batch.unchanged_count,
        "rejected": batch.rejected_count,
        "conflicts": batch.conflict_count,
        "anomalies": _open_anomalies(batch),
        "report": batches.problems_by_line(batch, batch.report or []),
    }


def _respond(result: ImportResult) -> tuple[dict, int]:
    if result.status == "duplicate" and result.previous is not None:
        g.api_batch_id = result.previous.id
        return batch_body(result.previous, status="duplicate", message=result.message), 200
    assert result.batch is not None
    g.api_batch_id = result.batch.id
    return batch_body(result.batch, message=result.message), 201


def _import(kind: str, content: bytes, suffix: str, count: int, options: dict[str, Any]):  # type: ignore[no-untyped-def]
    result = batches.import_batch(
        db.session,
        _require(kind),
        kind,
        content,
        suffix,
        count=count,
        dry_run=bool(options.get("dry_run")),
        partial=bool(options.get("partial")),
        chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
    )
    return _respond(result)


def _documented(view):  # type: ignore[no-untyped-def]
    view = bp.alt_response(
        200, schema=BatchSchema, description="Lot déjà importé (même contenu) : rien n'a changé."
    )(view)
    for code, description in ERRORS.items():
        view = bp.alt_response(code, description=description)(view)
    return bp.doc(security=SECURITY)(view)


@bp.route("/purchases", methods=["POST"])
@bp.arguments(PurchaseBatchSchema)
@bp.response(
    201, BatchSchema, description="Lot enregistré (importé, refusé ou simulé) et son rapport."
)
@_documented
def post_purchases(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Déposer des lignes d'achat (colonnes du format canonique `purchases`)."""
    lines = body["lines"]
    _require("purchases")
    return _import("purchases", batches.canonical_csv("purchases", lines), ".csv", len(lines), body)


@bp.route("/matrix", methods=["POST"])
@bp.arguments(MatrixBatchSchema)
@bp.response(
    201, BatchSchema, description="Lot enregistré (importé, refusé ou simulé) et son rapport."
)
@_documented
def post_matrix(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Déposer des articles de matrices fournisseurs (colonnes du format canonique `matrix`)."""
    lines = body["lines"]
    _require("matrix")
    return _import("matrix", batches.canonical_csv("matrix", lines), ".csv", len(lines), body)


@bp.route("/contracts", methods=["POST"])
@bp.doc(requestBody=CONTRACTS_BODY)
@bp.response(201, BatchSchema, description="Lot enregistré (importé ou refusé) et son rapport.")
@_documented
def post_contracts():  # type: ignore[no-untyped-def]
    """Déposer des marchés au format DECP JSON (v2 ou 1.5)."""
    _require("contracts")
    document = request.get_json(silent=True)
    valid = (isinstance(document, dict) and isinstance(document.get("marches"), dict | list)) or (
        isinstance(document, list) and document and all(isinstance(i, dict) for i in document)
    )
    if not valid:
        abort(
            422,
            message=(
                'Corps attendu : {"marches": {"marche": [...]}} (DECP v2), {"marches": [...]} '
                "(DECP 1.5) ou une liste de marchés."
            ),
        )
    marches = document if isinstance(document, list) else document["marches"]
    count = len(marches.get("marche") or []) if isinstance(marches, dict) else len(marches)
    return _import("contracts", batches.canonical_decp(document), ".json", count, {})


@bp.route("/batches/<int:batch_id>", methods=["GET"])
@bp.response(200, BatchSchema, description="Le lot, son état et son rapport.")
@bp.alt_response(401, description=ERRORS[401])
@bp.alt_response(404, description="Aucun lot de ce numéro déposé avec ce jeton.")
@bp.doc(security=SECURITY)
def get_batch(batch_id: int):  # type: ignore[no-untyped-def]
    """L'état et le rapport d'un lot déposé avec ce jeton."""
    batch = batches.token_batch(db.session, _token(), batch_id)
    if batch is None:
        abort(404, message=f"Aucun lot n° {batch_id} déposé avec ce jeton.")
    g.api_batch_id = batch.id
    return batch_body(batch)
