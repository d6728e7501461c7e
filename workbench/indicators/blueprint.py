"""URL table of the observatory indicators."""

from flask import Blueprint

from workbench.indicators import views

bp = Blueprint("indicators", __name__)
bp.add_url_rule("/indicateurs", "index", views.egalim)
bp.add_url_rule("/indicateurs/egalim.csv", "egalim_csv", views.egalim_csv)
bp.add_url_rule("/indicateurs/marches", "spaser", views.spaser)
bp.add_url_rule("/indicateurs/spaser.csv", "spaser_csv", views.spaser_csv)
bp.add_url_rule("/indicateurs/qualite", "quality", views.quality_page)
