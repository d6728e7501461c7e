"""Forms of the reference pages (directions, sites)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class DirectionForm(FlaskForm):
    code = StringField(
        "Code", validators=[DataRequired(message="Le code est obligatoire."), Length(max=20)]
    )
    name = StringField(
        "Nom", validators=[DataRequired(message="Le nom est obligatoire."), Length(max=200)]
    )
    cpv_divisions = StringField(
        "Divisions CPV des marchés (ex. 15,55)", validators=[Optional(), Length(max=200)]
    )


class SiteForm(FlaskForm):
    uai = StringField(
        "UAI", validators=[DataRequired(message="L'UAI est obligatoire."), Length(max=8)]
    )
    name = StringField(
        "Nom", validators=[DataRequired(message="Le nom est obligatoire."), Length(max=200)]
    )
    kind = StringField("Type", default="lycee", validators=[Optional(), Length(max=50)])
    commune = StringField("Commune", validators=[Optional(), Length(max=100)])
    department = StringField("Département", validators=[Optional(), Length(max=3)])
    direction_code = SelectField("Direction", choices=[], validate_choice=True)
    siret = StringField("SIRET de la cantine", validators=[Optional(), Length(max=17)])
