"""The JSON API for source systems (``/api/v1``): tokens, batches, their OpenAPI document.

Built with flask-smorest on one blueprint: the rest of the application keeps its plain Flask
class, its French error pages and its CSRF protection; the API blueprint is exempt from CSRF
(it authenticates each call with a bearer token, never with a session cookie).
"""

from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprint and serve its OpenAPI document at /api/v1/openapi.json."""
    from workbench.api.blueprint import Api, bp
    from workbench.extensions import csrf

    app.config.setdefault("API_TITLE", "Workbench — API de collecte")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Dépôt automatique de lots (achats, marchés DECP, matrices fournisseurs) "
                    "par les systèmes sources. Chaque appel porte un jeton : "
                    "`Authorization: Bearer <jeton>` (`workbench tokens create`)."
                )
            }
        },
    )
    api.spec.components.security_scheme("jeton", {"type": "http", "scheme": "bearer"})
    csrf.exempt(bp)
    api.register_blueprint(bp)
