"""Marshmallow schemas of the API: the batch bodies (canonical columns) and the batch report."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from workbench.imports.formats import FORMATS
from workbench.imports.formats.columns import Format

#: Most records in one posted batch (larger extracts: several batches, or the drop folder).
MAX_LINES = 100_000
_NUMBER_TYPES = ("decimal",)


class Text(fields.String):
    """A JSON string (numbers are not turned into text) without NUL or lone surrogates."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            raise ma.ValidationError("Texte invalide (caractère nul ou codage incorrect).")
        return value


class Number(fields.Float):
    """A JSON number only (no numeric text, no NaN)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _line_schema(fmt: Format, name: str) -> type[ma.Schema]:
    """One record: the format's canonical columns as keys; unknown keys are refused."""
    attributes: dict[str, Any] = {}
    for column in fmt.columns:
        doc = column.doc + (" (colonne obligatoire)" if column.required else "")
        field_class = Number if column.type in _NUMBER_TYPES else Text
        attributes[column.name] = field_class(
            allow_none=not column.not_null, metadata={"description": doc}
        )
    attributes["Meta"] = type("Meta", (), {"unknown": ma.RAISE})
    return ma.Schema.from_dict(attributes, name=name)


PurchaseLineSchema = _line_schema(FORMATS["purchases"], "LigneAchat")
MatrixEntrySchema = _line_schema(FORMATS["matrix"], "ArticleMatrice")


class _BatchOptions(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    partial = fields.Boolean(
        load_default=False,
        metadata={"description": "importer les enregistrements valides, rejeter les autres"},
    )
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "vérifier et compter sans rien enregistrer"}
    )


class PurchaseBatchSchema(_BatchOptions):
    lines = fields.List(
        fields.Nested(PurchaseLineSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
        metadata={"description": "lignes d'achat, colonnes du format canonique `purchases`"},
    )


class MatrixBatchSchema(_BatchOptions):
    lines = fields.List(
        fields.Nested(MatrixEntrySchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
        metadata={"description": "articles de matrices, colonnes du format canonique `matrix`"},
    )


#: The DECP body is checked by the import itself (JSON schema of DECP v2 / 1.5).
CONTRACTS_BODY = {
    "description": (
        'Marchés au format DECP JSON : {"marches": {"marche": [...]}} (v2), {"marches": [...]} '
        "(1.5), ou directement la liste des marchés (lue comme DECP v2)."
    ),
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["marches"],
                        "properties": {
                            "marches": {
                                "oneOf": [
                                    {"type": "object"},
                                    {"type": "array", "items": {"type": "object"}},
                                ]
                            }
                        },
                    },
                    {"type": "array", "minItems": 1, "items": {"type": "object"}},
                ]
            }
        }
    },
}


class ProblemSchema(ma.Schema):
    line = fields.Integer(
        allow_none=True,
        metadata={"description": "position de l'enregistrement dans le lot (1 = le premier)"},
    )
    column = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    message = fields.String()
    level = fields.String(metadata={"description": "error ou warning"})


class BatchSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "numéro du lot"})
    kind = fields.String()
    status = fields.String(
        metadata={"description": "applied, rejected, dry_run ou duplicate (déjà importé)"}
    )
    message = fields.String()
    file_name = fields.String()
    created_at = fields.DateTime()
    rows = fields.Integer()
    inserted = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    conflicts = fields.Integer()
    anomalies = fields.Integer(
        metadata={"description": "anomalies ouvertes sur les enregistrements du lot"}
    )
    report = fields.List(fields.Nested(ProblemSchema))


class BatchPathSchema(ma.Schema):
    batch_id = fields.Integer()
