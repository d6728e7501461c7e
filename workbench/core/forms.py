"""French messages for every form's built-in validators (WTForms ships the translation)."""

from __future__ import annotations

from flask import Flask
from flask_wtf import FlaskForm


def use_french_form_messages(app: Flask) -> None:
    """Every FlaskForm speaks French: WTForms' own ``fr`` catalogue, no Babel needed."""
    app.config.setdefault("WTF_I18N_ENABLED", False)
    FlaskForm.Meta.locales = ("fr_FR", "fr")
