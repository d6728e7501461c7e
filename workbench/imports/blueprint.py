"""URL table of the imports feature."""

from flask import Blueprint

from workbench.imports import views

bp = Blueprint("imports", __name__, url_prefix="/imports")
bp.add_url_rule("/", "index", views.index, methods=["GET", "POST"])
bp.add_url_rule("/<int:batch_id>", "batch", views.batch)
bp.add_url_rule("/<int:batch_id>/rapport.csv", "report_csv", views.report_csv)
