"""URL table of the review feature: records, corrections, decisions."""

from flask import Blueprint

from workbench.review import views

bp = Blueprint("review", __name__)
bp.add_url_rule("/dossiers/<kind>/<int:record_id>", "record", views.record_page)
bp.add_url_rule(
    "/dossiers/<kind>/<int:record_id>/corriger", "correct", views.correct, methods=["POST"]
)
bp.add_url_rule(
    "/corrections/<int:correction_id>/annuler", "revert", views.revert, methods=["POST"]
)
bp.add_url_rule(
    "/corrections/<int:correction_id>/decider", "decide", views.decide, methods=["POST"]
)
bp.add_url_rule("/a-valider", "approvals", views.approvals)
bp.add_url_rule("/mes-propositions", "my_proposals", views.my_proposals)
bp.add_url_rule("/a-valider/groupe", "decide_many", views.decide_many, methods=["POST"])
bp.add_url_rule("/anomalies/<int:anomaly_id>/prendre", "claim", views.claim, methods=["POST"])
bp.add_url_rule("/anomalies/<int:anomaly_id>/ecarter", "dismiss", views.dismiss, methods=["POST"])
bp.add_url_rule("/files/<queue>", "queue", views.queue)
bp.add_url_rule("/files/<queue>/groupes", "queue_bulk", views.queue_bulk, methods=["POST"])
bp.add_url_rule(
    "/dossiers/purchase_line/<int:record_id>/signaler-matrice",
    "report_matrix",
    views.report_matrix,
    methods=["POST"],
)
