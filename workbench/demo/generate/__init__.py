"""The demo dataset as DataFrames, one per table (pure: numpy/pandas, no Flask, no database).

:func:`generate_demo` returns the same frames for the same ``(seed, size, lines)``: every random
draw comes from one ``numpy.random.Generator`` seeded once, and reference lists are fixed.
Columns named like the model columns are loaded as such; a few extra columns (``key``,
``supplier_key``, ``true_code``, ``error``...) link frames together or document the truth
behind the deliberate mistakes, and are not loaded.

Closed lists and conventions (documented in ``docs/demo.md``):

- origins are ``FRANCE``, ``UE`` (European Union outside France) or ``HORS_UE`` — :data:`ORIGINS`;
- units are ``KG``, ``L``, ``U`` (piece / pot) — :data:`UNITS`;
- contract directions follow :data:`DIRECTIONS` ``cpv_divisions``; a CPV division listed by no
  direction (energy 09, transport 60, insurance 66...) leaves ``direction_code`` NULL, so only
  region-wide roles (admin, legal, viewer) see those contracts.
"""

from __future__ import annotations

from workbench.demo.catalogue import (  # noqa: F401  (re-exported)
    ALL,
    BRETON_COMMUNES,
    DIRECTIONS,
    DUPLICATE_SPELLING,
    FAMILY_SPECS,
    FOOD_SUPPLIERS,
    HEADCOUNT,
    HOLIDAYS,
    LABEL_RATES,
    LABEL_TOKENS,
    LYCEES,
    ORIGIN_RATES,
    ORIGINS,
    OTHER_COMMUNES,
    OTHER_SUPPLIERS,
    REGION_NAME,
    REGION_SIRET,
    SCHOOL_YEAR,
    SIZES,
    UNITS,
    Spec,
)
from workbench.demo.generate.dataset import egalim_shares, generate_accounts, generate_demo
from workbench.demo.generate.identifiers import (
    corrupt_siret,
    make_siren,
    make_siret,
    school_days,
    uai_code,
)
from workbench.demo.generate.matrices import generate_matrix
from workbench.demo.generate.purchases import generate_purchases, label_variant
from workbench.demo.generate.reference import eple_siret, generate_sites, generate_suppliers

__all__ = [
    "corrupt_siret",
    "egalim_shares",
    "eple_siret",
    "generate_accounts",
    "generate_demo",
    "generate_matrix",
    "generate_purchases",
    "generate_sites",
    "generate_suppliers",
    "label_variant",
    "make_siren",
    "make_siret",
    "school_days",
    "uai_code",
]
