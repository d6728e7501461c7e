"""URL table of the home pages."""

from flask import Blueprint

from workbench.home import views

bp = Blueprint("home", __name__)
bp.add_url_rule("/", "index", views.index)
