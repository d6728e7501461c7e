"""Column specifications of every tabular import, and their pure (pandas) preparation.

A :class:`Column` says what a column is called (and its accepted aliases), whether it must be
present, whether a value is required, and how a cell is read. :func:`convert` turns a chunk of
text into typed values, adding one report line per unreadable cell. The kind-specific
``prepare_*`` functions then check what needs reference data (known sites, suppliers...) passed
in as plain dictionaries. No Flask, no database here.
"""

from __future__ import annotations

from workbench.imports.formats.columns import (
    FAMILY_ALIASES,
    LABEL_ALIASES,
    Column,
    Format,
    compact_siret,
    normalise_labels,
)
from workbench.imports.formats.convert import check_duplicates, convert, match_headers
from workbench.imports.formats.prepare import (
    PREPARE,
    UAI_PATTERN,
    majority_value,
    prepare_macantine,
    prepare_matrix,
    prepare_nomenclature,
    prepare_purchases,
    prepare_sites,
)
from workbench.imports.formats.specs import (
    FAMILY_DOC,
    FORMATS,
    LABELS_DOC,
    MACANTINE,
    MATRIX,
    NOMENCLATURE,
    PURCHASES,
    SITES,
    SUPPLIERS,
    detect_purchase_format,
)

__all__ = [
    "Column",
    "FAMILY_ALIASES",
    "FAMILY_DOC",
    "FORMATS",
    "Format",
    "LABELS_DOC",
    "LABEL_ALIASES",
    "MACANTINE",
    "MATRIX",
    "NOMENCLATURE",
    "PREPARE",
    "PURCHASES",
    "SITES",
    "SUPPLIERS",
    "UAI_PATTERN",
    "check_duplicates",
    "compact_siret",
    "convert",
    "detect_purchase_format",
    "majority_value",
    "match_headers",
    "normalise_labels",
    "prepare_macantine",
    "prepare_matrix",
    "prepare_nomenclature",
    "prepare_purchases",
    "prepare_sites",
]
