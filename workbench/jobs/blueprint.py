"""URL table of background jobs: a job's page, its status (JSON, polled), cancelling it."""

from flask import Blueprint

from workbench.jobs import views

bp = Blueprint("jobs", __name__, url_prefix="/travaux")
bp.add_url_rule("/", "index", views.index)
bp.add_url_rule("/regles", "run_rules", views.run_rules, methods=["POST"])
bp.add_url_rule("/<int:job_id>", "job", views.job)
bp.add_url_rule("/<int:job_id>/etat.json", "status", views.status)
bp.add_url_rule("/<int:job_id>/annuler", "cancel", views.cancel, methods=["POST"])
