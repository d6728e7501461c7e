"""Whether a value fits the column it is meant for: shared by imports and correction forms.

Pure Python (no Flask, no database). PostgreSQL refuses what SQLite silently stores: a number
beyond a ``NUMERIC(p, s)`` column (``NumericValueOutOfRange``), an integer beyond ``INTEGER``,
a NUL character in text. Checking here turns each into a French message before anything is
written.
"""

from __future__ import annotations

import math
from typing import Any

#: ``workbench.db.Money`` is ``NUMERIC(14, 2)`` (a test checks they agree).
MONEY_PRECISION = 14
MONEY_SCALE = 2
#: PostgreSQL ``INTEGER``.
INTEGER_MAX = 2**31 - 1
#: Quantities are ``FLOAT``: any finite value is stored, this keeps sums and ratios sane.
QUANTITY_MAX = 1e12


def numeric_limit(precision: int = MONEY_PRECISION, scale: int = MONEY_SCALE) -> float:
    """The exclusive bound on ``abs(value)`` for ``NUMERIC(precision, scale)``.

    Half a unit of the last digit below ``10 ** (precision - scale)``: a value at the bound
    would round up to ``10 ** (precision - scale)``, which does not fit.
    """
    return 10 ** (precision - scale) - 0.5 * 10**-scale


def fits_numeric(
    value: float | int, precision: int = MONEY_PRECISION, scale: int = MONEY_SCALE
) -> bool:
    """``value`` is finite and, once rounded to ``scale`` digits, fits ``NUMERIC(precision, scale)``."""
    number = float(value)
    return math.isfinite(number) and abs(number) < numeric_limit(precision, scale)


def money_range_message(precision: int = MONEY_PRECISION, scale: int = MONEY_SCALE) -> str:
    largest = f"{10 ** (precision - scale) - 10**-scale:,.{scale}f}"
    largest = largest.replace(",", " ").replace(".", ",")
    return f"Montant hors limites : au plus {largest} en valeur absolue."


def fits_integer(value: int) -> bool:
    return -INTEGER_MAX - 1 <= value <= INTEGER_MAX


def has_nul(value: Any) -> bool:
    """A NUL character (PostgreSQL text cannot hold one)."""
    return isinstance(value, str) and "\x00" in value
