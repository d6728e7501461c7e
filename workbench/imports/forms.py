"""Upload form of the imports page (CSRF on)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField

from workbench.imports.operations import KIND_LABELS

FORMAT_OPTIONS = (
    ("", "Détection automatique"),
    ("canonique", "Achats : export du logiciel de gestion (canonique)"),
    ("macantine", "Achats : format national ma-cantine"),
    ("decp_v2", "Marchés : DECP v2 (JSON)"),
    ("decp_1.5", "Marchés : DECP 1.5 (JSON)"),
    ("decp_csv", "Marchés : DECP à plat (CSV)"),
)


class UploadForm(FlaskForm):
    kind = SelectField("Type de fichier", choices=list(KIND_LABELS.items()))
    file = FileField(
        "Fichier (CSV, XLSX ou JSON)", validators=[FileRequired(message="Choisissez un fichier.")]
    )
    site = SelectField("Lycée (fichiers ma-cantine)", choices=[("", "—")], validate_choice=True)
    file_format = SelectField("Format", choices=list(FORMAT_OPTIONS))
    dry_run = BooleanField("Simulation : vérifier sans rien enregistrer")
    partial = BooleanField("Import partiel : importer les lignes valides, rejeter les autres")
