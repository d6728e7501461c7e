"""URL table of the service feature: the health endpoint (no login, JSON)."""

from flask import Blueprint

from workbench.service import views

bp = Blueprint("service", __name__)
bp.add_url_rule("/sante", "health", views.health)
