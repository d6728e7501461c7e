"""Importing a file: read, check everything, then write all-or-nothing (or the valid rows).

:func:`import_file` is the one entry point (web, CLI, tests, benchmark). It flushes and
journals but never commits: the caller commits once.
"""

from __future__ import annotations

from workbench.imports.operations.common import (
    KIND_FORMATS,
    KIND_LABELS,
    RECORD_KINDS,
    STATUS_LABELS,
    ImportResult,
)
from workbench.imports.operations.prepare import PREPARERS, PURCHASE_TYPES
from workbench.imports.operations.run import import_file
from workbench.imports.operations.write import (
    KEY_LOOKUP_BATCH,
    PURCHASE_VALUES,
    STAGED_PURCHASE_COLUMNS,
    WRITERS,
)

__all__ = [
    "ImportResult",
    "KEY_LOOKUP_BATCH",
    "KIND_FORMATS",
    "KIND_LABELS",
    "PREPARERS",
    "PURCHASE_TYPES",
    "PURCHASE_VALUES",
    "RECORD_KINDS",
    "STAGED_PURCHASE_COLUMNS",
    "STATUS_LABELS",
    "WRITERS",
    "import_file",
]
