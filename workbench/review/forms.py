"""Forms of the review feature (CSRF on every POST, including button-only ones)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from workbench.rules.models import DISMISS_REASONS


class CorrectionForm(FlaskForm):
    field = HiddenField(validators=[DataRequired()])
    base_version = HiddenField()
    anomaly_id = HiddenField()
    value = StringField("Nouvelle valeur")
    reason = TextAreaField(
        "Raison",
        validators=[DataRequired(message="Indiquez la raison de la correction."), Length(max=2000)],
    )


class DecisionForm(FlaskForm):
    comment = TextAreaField("Commentaire", validators=[Length(max=2000)])
    decision = HiddenField(validators=[DataRequired()])


class RevertForm(FlaskForm):
    reason = TextAreaField(
        "Raison de l'annulation", validators=[DataRequired(message="Indiquez la raison.")]
    )


class DismissForm(FlaskForm):
    reason_code = SelectField("Motif", choices=list(DISMISS_REASONS.items()))
    comment = TextAreaField(
        "Commentaire", validators=[DataRequired(message="Le commentaire est obligatoire.")]
    )


class ButtonForm(FlaskForm):
    """Button-only POST (claim…)."""


class MatrixReportForm(FlaskForm):
    field = HiddenField(validators=[DataRequired()])
    comment = StringField(
        "Pourquoi la matrice est-elle fausse ?",
        validators=[
            DataRequired(message="Expliquez en quoi la matrice est erronée."),
            Length(max=1000),
        ],
    )
