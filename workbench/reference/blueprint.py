"""URL table of the reference pages: directions, sites, nomenclature governance."""

from flask import Blueprint

from workbench.reference import views

bp = Blueprint("reference", __name__)
# directions and sites (administrator)
bp.add_url_rule("/admin/directions", "directions", views.direction_list)
bp.add_url_rule(
    "/admin/directions/nouvelle", "direction_new", views.direction_edit, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/admin/directions/<code>", "direction_edit", views.direction_edit, methods=["GET", "POST"]
)
bp.add_url_rule("/admin/sites", "sites", views.site_list)
bp.add_url_rule("/admin/sites/nouveau", "site_new", views.site_edit, methods=["GET", "POST"])
bp.add_url_rule("/admin/sites/<int:site_id>", "site_edit", views.site_edit, methods=["GET", "POST"])
# nomenclature: proposals (canteen teams), decisions, retire and merge (administrator)
bp.add_url_rule("/nomenclature/proposer", "propose", views.propose, methods=["GET", "POST"])
bp.add_url_rule("/admin/nomenclature", "nomenclature", views.nomenclature)
bp.add_url_rule(
    "/admin/nomenclature/propositions/<int:proposal_id>/approuver",
    "approve",
    views.approve,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/nomenclature/propositions/<int:proposal_id>/refuser",
    "refuse",
    views.refuse,
    methods=["POST"],
)
bp.add_url_rule("/admin/nomenclature/<code>/retirer", "retire", views.retire, methods=["POST"])
bp.add_url_rule("/admin/nomenclature/<code>/fusionner", "merge", views.merge, methods=["POST"])
