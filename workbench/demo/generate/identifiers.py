"""Demo identifiers: UAI codes, SIREN/SIRET (valid or corrupted), school days, EPLE SIRETs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from stdnum import luhn

from workbench.demo.catalogue import HOLIDAYS, SCHOOL_YEAR

# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


def uai_code(number: int) -> str:
    """A UAI (ex-RNE) code: 7 digits and the check letter (number mod 23 in the 23-letter alphabet)."""
    return f"{number:07d}" + "ABCDEFGHJKLMNPRSTUVWXYZ"[number % 23]


def make_siren(rng: np.random.Generator) -> str:
    """A random SIREN with a valid Luhn check digit (never starting with 0)."""
    body = str(int(rng.integers(1, 10))) + "".join(str(d) for d in rng.integers(0, 10, 7))
    return body + luhn.calc_check_digit(body)


def make_siret(rng: np.random.Generator, siren: str | None = None) -> str:
    """A random valid SIRET (SIREN and 14-digit Luhn both valid) of ``siren`` if given."""
    siren = siren or make_siren(rng)
    nic = "".join(str(d) for d in rng.integers(0, 10, 4))
    return siren + nic + luhn.calc_check_digit(siren + nic)


def corrupt_siret(siret: str) -> str:
    """The same SIRET with its last digit changed, so that the Luhn checksum fails."""
    return siret[:-1] + str((int(siret[-1]) + 3) % 10)


def school_days(start: dt.date = SCHOOL_YEAR[0], end: dt.date = SCHOOL_YEAR[1]) -> pd.DatetimeIndex:
    days = pd.bdate_range(start, end)
    for first, last in HOLIDAYS:
        days = days[(days < pd.Timestamp(first)) | (days > pd.Timestamp(last))]
    return days
