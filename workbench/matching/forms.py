"""Forms of the "Articles à rattacher" queue (CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional


class MapForm(FlaskForm):
    """One decision: map a whole group to a nomenclature code."""

    group = HiddenField(validators=[DataRequired(message="Groupe manquant."), Length(max=600)])
    code = StringField(
        "Code nomenclature",
        validators=[DataRequired(message="Indiquez un code de la nomenclature."), Length(max=30)],
    )
    site = HiddenField(validators=[Optional()])
    all_sites = BooleanField("Appliquer aussi dans les autres lycées")
    next = HiddenField()


class RejectForm(FlaskForm):
    """Refuse a suggestion for the group's label: never offered again."""

    group = HiddenField(validators=[DataRequired(message="Groupe manquant."), Length(max=600)])
    code = HiddenField(validators=[DataRequired(message="Code manquant."), Length(max=30)])
    site = HiddenField(validators=[Optional()])
    next = HiddenField()
