"""Login and user management forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from workbench.auth.models import ROLE_LABELS


class LoginForm(FlaskForm):
    email = EmailField(
        "Adresse électronique", validators=[DataRequired(message="Saisissez votre adresse.")]
    )
    password = PasswordField(
        "Mot de passe", validators=[DataRequired(message="Saisissez votre mot de passe.")]
    )


class UserForm(FlaskForm):
    email = EmailField(
        "Adresse électronique",
        validators=[
            DataRequired(message="L'adresse est obligatoire."),
            Email(message="Adresse invalide."),
        ],
    )
    name = StringField("Nom", validators=[Optional(), Length(max=200)])
    role = SelectField("Rôle", choices=[(str(r), label) for r, label in ROLE_LABELS.items()])
    sites = SelectMultipleField("Lycées (cantine)", choices=[], coerce=str)
    direction = SelectField("Direction", choices=[], validate_choice=False)
    password = PasswordField(
        "Mot de passe (laisser vide pour ne pas changer)",
        validators=[Optional(), Length(min=10, message="Au moins 10 caractères.")],
    )
    is_active = BooleanField("Compte actif", default=True)


class AccountRequestDecisionForm(FlaskForm):
    comment = TextAreaField("Commentaire", validators=[Optional(), Length(max=2000)])
