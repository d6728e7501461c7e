"""Forms of the reference pages (directions, sites)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from workbench.reference.models import FAMILIES


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


class ProposalForm(FlaskForm):
    label = StringField(
        "Libellé du nouvel article",
        validators=[DataRequired(message="Le libellé est obligatoire."), Length(max=300)],
    )
    family = SelectField("Famille", choices=[(k, v) for k, v in FAMILIES.items()])
    parent_code = StringField("Code parent (facultatif)", validators=[Optional(), Length(max=30)])
    comment = StringField(
        "Pourquoi aucun article existant ne convient", validators=[Optional(), Length(max=1000)]
    )
    group = HiddenField(validators=[Optional(), Length(max=600)])


class ApproveForm(FlaskForm):
    code = StringField(
        "Code", validators=[DataRequired(message="Le code est obligatoire."), Length(max=30)]
    )
    label = StringField(
        "Libellé", validators=[DataRequired(message="Le libellé est obligatoire."), Length(max=300)]
    )
    family = SelectField("Famille", choices=[(k, v) for k, v in FAMILIES.items()])
    parent_code = StringField("Code parent", validators=[Optional(), Length(max=30)])


class RefuseForm(FlaskForm):
    reason = StringField(
        "Motif", validators=[DataRequired(message="Indiquez le motif."), Length(max=1000)]
    )


class MergeForm(FlaskForm):
    target = StringField(
        "Fusionner dans le code",
        validators=[DataRequired(message="Indiquez le code cible."), Length(max=30)],
    )
