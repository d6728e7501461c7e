"""URL table of accounts: login, logout and user administration."""

from flask import Blueprint

from workbench.auth import views

bp = Blueprint("auth", __name__)
bp.add_url_rule("/connexion", "login", views.login, methods=["GET", "POST"])
bp.add_url_rule("/deconnexion", "logout", views.logout, methods=["POST"])
bp.add_url_rule("/admin/utilisateurs", "users", views.user_list)
bp.add_url_rule("/admin/utilisateurs/nouveau", "user_new", views.user_edit, methods=["GET", "POST"])
bp.add_url_rule(
    "/admin/utilisateurs/<int:user_id>", "user_edit", views.user_edit, methods=["GET", "POST"]
)
bp.add_url_rule("/admin/utilisateurs/demandes", "account_requests", views.account_requests)
bp.add_url_rule(
    "/admin/utilisateurs/demandes/<int:request_id>/decider",
    "account_request_decide",
    views.account_request_decide,
    methods=["POST"],
)
