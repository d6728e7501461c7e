"""URL table of the open-data exports."""

from flask import Blueprint

from workbench.exports import views

bp = Blueprint("exports", __name__)
bp.add_url_rule("/exports", "index", views.index)
bp.add_url_rule("/exports/marches-decp-v2.json", "contracts", views.contracts_json)
bp.add_url_rule(
    "/exports/marches-decp-v2.withheld.csv", "contracts_withheld", views.contracts_withheld_csv
)
bp.add_url_rule("/exports/achats.csv", "purchases", views.purchases_csv)
bp.add_url_rule(
    "/exports/achats-ma-cantine.csv", "purchases_macantine", views.purchases_macantine_csv
)
