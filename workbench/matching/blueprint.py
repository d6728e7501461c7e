"""URL table of the matching feature: the "Articles à rattacher" queue."""

from flask import Blueprint

from workbench.matching import groups, views

bp = Blueprint("matching", __name__)
# The groups table follows every change of purchase lines, in the same transaction.
groups.install()
bp.add_url_rule("/articles", "articles", views.articles)
bp.add_url_rule("/articles/rattacher", "map_group", views.map_group, methods=["POST"])
bp.add_url_rule("/articles/refuser", "reject", views.reject, methods=["POST"])
bp.add_url_rule("/articles/nomenclature", "search", views.search)
bp.add_url_rule("/articles/annuler", "undo", views.undo, methods=["POST"])
bp.add_url_rule("/articles/lot", "bulk_preview", views.bulk_preview)
bp.add_url_rule("/articles/lot/confirmer", "bulk_accept", views.bulk_accept, methods=["POST"])
