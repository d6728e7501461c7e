"""Navigation per role. Entries whose endpoint is not registered are simply not shown."""

from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

#: (endpoint, label, roles allowed)
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("home.index", "Accueil", ("canteen", "direction", "legal", "admin", "viewer")),
    ("matching.articles", "Articles à rattacher", ("canteen",)),
    ("review.approvals", "À valider", ("legal",)),
    ("review.my_proposals", "Mes propositions", ("canteen", "direction", "admin")),
    ("imports.index", "Imports", ("admin", "canteen")),
    ("rules.catalogue", "Règles", ("admin", "legal")),
    ("indicators.index", "Indicateurs", ("canteen", "direction", "legal", "admin", "viewer")),
    ("exports.index", "Exports", ("canteen", "direction", "legal", "admin", "viewer")),
    ("audit.journal", "Journal", ("legal", "admin")),
    ("auth.users", "Utilisateurs", ("admin",)),
    ("auth.account_requests", "Demandes sur les comptes", ("legal",)),
    ("reference.sites", "Sites", ("admin",)),
    ("reference.nomenclature", "Nomenclature", ("admin",)),
    ("jobs.index", "Travaux", ("admin",)),
)


def _has(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _badge(endpoint: str) -> int:
    """A count shown next to an entry: decisions on my proposals I have not read yet."""
    if endpoint != "review.my_proposals" or request.endpoint == endpoint:
        return 0
    from workbench.extensions import db
    from workbench.review.proposals import unseen_decisions

    return unseen_decisions(db.session, current_user)


def nav_items() -> list[dict]:
    items = []
    for endpoint, label, roles in NAV:
        if current_user.is_authenticated and current_user.role in roles and _has(endpoint):
            items.append(
                {
                    "url": url_for(endpoint),
                    "label": label,
                    "active": request.endpoint == endpoint,
                    "badge": _badge(endpoint),
                    "endpoint": endpoint,
                }
            )
    return items


def nav_url(key: str) -> str:
    endpoint = f"{key}.index"
    return url_for(endpoint) if _has(endpoint) else "#"


def queue_url(key: str) -> str:
    if key == "approvals":
        return url_for("review.approvals") if _has("review.approvals") else "#"
    if key == "articles" and _has("matching.articles"):
        return url_for("matching.articles")
    return url_for("review.queue", queue=key) if _has("review.queue") else "#"


def register_navigation(app: Flask) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, nav_url=nav_url, queue_url=queue_url)
