"""Domain exceptions, mapped to French error pages and JSON errors in one place."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from workbench.db import is_lock_error, sqlite_begin
from workbench.extensions import db

logger = logging.getLogger(__name__)


class WorkbenchError(Exception):
    """Base of the domain errors; ``message`` is French and shown to the user."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(WorkbenchError):
    status_code = 400


class PermissionDenied(WorkbenchError):
    status_code = 403


class NotFound(WorkbenchError):
    status_code = 404


class ConflictError(WorkbenchError):
    """Someone else changed the record since it was read."""

    status_code = 409

    def __init__(self, message: str, current: object = None) -> None:
        super().__init__(message)
        self.current = current


TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Conflit de modification",
    413: "Fichier trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur interne",
    503: "Base de données occupée",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _render(status: int, message: str):  # type: ignore[no-untyped-def]
    if _wants_json():
        return jsonify({"error": TITLES.get(status, "Erreur"), "message": message}), status
    return (
        render_template(
            "errors/error.html", status=status, title=TITLES.get(status, "Erreur"), message=message
        ),
        status,
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(WorkbenchError)
    def _domain_error(error: WorkbenchError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return _render(error.status_code, error.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
        limit = app.config["MAX_UPLOAD_MB"]
        return _render(413, f"Le fichier dépasse la taille maximale autorisée ({limit} Mo).")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        messages = {
            403: "Vous n'avez pas les droits nécessaires pour cette page.",
            404: "La page ou l'élément demandé n'existe pas, ou vous n'y avez pas accès.",
            405: "Cette action n'est pas permise ici.",
            400: "La requête est invalide (formulaire expiré ? rechargez la page).",
        }
        return _render(error.code or 500, messages.get(error.code or 500, error.description or ""))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if is_lock_error(error):  # waited the whole busy/lock timeout behind a long write
            logger.warning("Database busy on %s %s: %s", request.method, request.path, error)
            with sqlite_begin("DEFERRED"):  # the page itself only reads: never blocked
                response, status = _render(
                    503,
                    "La base de données est occupée par une opération longue (un import, par "
                    "exemple) ; rien n'a été modifié. Réessayez dans un instant.",
                )
            response = app.make_response((response, status))
            response.headers["Retry-After"] = "5"
            return response
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise error
        return _render(500, "Une erreur inattendue s'est produite; rien n'a été modifié.")
