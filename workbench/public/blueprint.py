"""URL table of the public observatory (no login; on when ``PUBLIC_OBSERVATORY`` is true)."""

from flask import Blueprint

from workbench.public import views

bp = Blueprint("public", __name__)
bp.add_url_rule("/observatoire", "index", views.index)
bp.add_url_rule("/observatoire/egalim.csv", "egalim_csv", views.egalim_csv)
bp.add_url_rule("/observatoire/spaser.csv", "spaser_csv", views.spaser_csv)
bp.add_url_rule("/observatoire/marches-decp-v2.json", "decp", views.decp_json)
