"""URL table of the observatory indicators."""

from flask import Blueprint

from workbench.core.signals import records_changed
from workbench.indicators import summary, views

bp = Blueprint("indicators", __name__)
# The EGalim summary follows every change of purchase lines, in the same transaction.
records_changed.connect(summary.on_records_changed)
bp.add_url_rule("/indicateurs", "index", views.egalim)
bp.add_url_rule("/indicateurs/egalim.csv", "egalim_csv", views.egalim_csv)
bp.add_url_rule("/indicateurs/marches", "spaser", views.spaser)
bp.add_url_rule("/indicateurs/spaser.csv", "spaser_csv", views.spaser_csv)
bp.add_url_rule("/indicateurs/qualite", "quality", views.quality_page)
