"""URL table of the reference pages (administrator): directions and sites."""

from flask import Blueprint

from workbench.reference import views

bp = Blueprint("reference", __name__, url_prefix="/admin")
bp.add_url_rule("/directions", "directions", views.direction_list)
bp.add_url_rule(
    "/directions/nouvelle", "direction_new", views.direction_edit, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/directions/<code>", "direction_edit", views.direction_edit, methods=["GET", "POST"]
)
bp.add_url_rule("/sites", "sites", views.site_list)
bp.add_url_rule("/sites/nouveau", "site_new", views.site_edit, methods=["GET", "POST"])
bp.add_url_rule("/sites/<int:site_id>", "site_edit", views.site_edit, methods=["GET", "POST"])
