"""URL table of the API (all under /api/v1, bearer token on every call):

    POST /api/v1/purchases           a batch of purchase lines     {"lines": [...]}
    POST /api/v1/contracts           a batch of DECP contracts     {"marches": ...} or [...]
    POST /api/v1/matrix              a batch of matrix entries     {"lines": [...]}
    GET  /api/v1/batches/<batch_id>  a batch's status and report
    GET  /api/v1/openapi.json        the OpenAPI 3 document (no token)

The routes are declared with flask-smorest's decorators in ``views.py``.
"""

from __future__ import annotations

from flask import Response, g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from workbench.api import operations
from workbench.audit.operations import Actor, record, set_actor
from workbench.extensions import db


class Api(SmorestApi):
    """flask-smorest's Api whose JSON error handler applies to the API blueprint only.

    The stock Api registers it for the whole application, which would replace the French
    error pages of every other page; the blueprint registers it below instead.
    """

    def _register_error_handlers(self) -> None:
        return None


bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Dépôt de lots par les systèmes sources (jeton porteur obligatoire).",
)


@bp.errorhandler(HTTPException)
def _json_error(error: HTTPException):  # type: ignore[no-untyped-def]
    """flask-smorest's JSON error payload (``code``, ``status``, ``message``, ``errors``)."""
    return SmorestApi.handle_http_exception(None, error)  # type: ignore[arg-type]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@bp.before_request
def _authenticate() -> Response | tuple | None:
    token, reason = operations.authenticate(db.session, _bearer())
    g.api_token = token if reason == "ok" else None
    g.api_refused_token = token if reason != "ok" else None
    g.api_refusal = None if reason == "ok" else reason
    if reason != "ok" or token is None:
        from flask_smorest import abort

        abort(
            401,
            message=(
                "Jeton révoqué."
                if reason == "revoked"
                else "Jeton absent ou invalide (en-tête Authorization: Bearer <jeton>)."
            ),
            headers={"WWW-Authenticate": 'Bearer realm="workbench"'},
        )
    set_actor(Actor(id=None, email=f"jeton {token.name}", role="api", request_id=g.request_id))
    return None


@bp.after_request
def _journal_call(response: Response) -> Response:
    """Every call is journaled (refused ones too), then the request commits once."""
    token = g.get("api_token")
    details = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "remote_addr": request.remote_addr,
    }
    if g.get("api_batch_id") is not None:
        details["batch_id"] = g.api_batch_id
    if token is None:
        details["reason"] = g.get("api_refusal") or "missing"
        refused = g.get("api_refused_token")
        record(
            db.session,
            "api.refused",
            target_kind="api_token",
            target_id=refused.id if refused is not None else None,
            target_label=refused.name if refused is not None else None,
            after=details,
        )
    else:
        record(
            db.session,
            "api.call",
            target_kind="api_token",
            target_id=token.id,
            target_label=token.name,
            after=details,
            import_batch_id=g.get("api_batch_id"),
        )
    db.session.commit()
    return response


from workbench.api import views  # noqa: E402, F401  (declares the routes on bp)
