"""CSV exports that neutralise spreadsheet formulas, reversibly.

A text cell that a spreadsheet would run as a formula (``= + - @``, tab, carriage return) is
prefixed with an apostrophe. A cell that already starts with an apostrophe gets one more, so the
encoding can be undone exactly (:func:`restore_cell`) — the audit journal's hashes are verified
from an exported file.
"""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = (*FORMULA_PREFIXES, "'")


def safe_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(_ESCAPED):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The original text of a cell written by :func:`safe_cell`."""
    if value.startswith("'") and value[1:].startswith(_ESCAPED):
        return value[1:]
    return value
