"""URL table of the audit journal."""

from flask import Blueprint

from workbench.audit import views

bp = Blueprint("audit", __name__)
bp.add_url_rule("/journal", "journal", views.journal)
bp.add_url_rule("/journal/export.csv", "export", views.export_csv)
bp.add_url_rule("/historique/<kind>/<int:record_id>", "history", views.history)
