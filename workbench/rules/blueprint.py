"""URL table of the rules feature."""

from flask import Blueprint

from workbench.rules import views

bp = Blueprint("rules", __name__, url_prefix="/regles")
bp.add_url_rule("/", "catalogue", views.catalogue)
bp.add_url_rule("/<code>", "update", views.update, methods=["POST"])
