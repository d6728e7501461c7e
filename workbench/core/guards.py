"""Request-level input guards: what no form of the workbench may receive.

- A NUL character, in any form field, query argument or uploaded file name: PostgreSQL cannot
  store one in text (``ValueError``/``DataError`` → HTTP 500), so the request is refused up
  front with a French 400 and nothing is read further.
- A non-integer (or absurdly long) value in a form field named like an identifier or a version
  (``anomaly_id``, ``base_version``...): these are hidden fields, written by our own pages;
  anything else is a forged request (HTTP 400), not a crash in ``int()``.
"""

from __future__ import annotations

import re

from flask import Flask, request

from workbench.core.errors import ValidationError

#: Hidden form fields holding integers (record ids, optimistic-lock versions).
INTEGER_FIELD = re.compile(r"(?:^|_)(?:id|version)$")
#: Digits of a bigint at most (an empty value means "none").
INTEGER_VALUE = re.compile(r"^\s*[0-9]{0,18}\s*$")

NUL_MESSAGE = (
    "La requête contient un caractère nul (0x00), interdit dans un formulaire ou un nom de "
    "fichier : rien n'a été enregistré."
)


def check_request_input() -> None:
    """Raise :class:`ValidationError` (400) for a NUL anywhere in the input or a bad id."""
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise ValidationError(NUL_MESSAGE)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    for key, value in request.form.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise ValidationError(NUL_MESSAGE)
        if INTEGER_FIELD.search(key) and not INTEGER_VALUE.match(value):
            raise ValidationError(
                f"Valeur invalide pour le champ « {key} » (nombre entier attendu) : rechargez "
                "la page et recommencez."
            )
    for key, upload in request.files.items(multi=True):
        if "\x00" in key or "\x00" in (upload.filename or ""):
            raise ValidationError(NUL_MESSAGE)


def register_input_guards(app: Flask) -> None:
    app.before_request(check_request_input)
