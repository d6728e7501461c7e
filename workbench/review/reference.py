"""Reference lists used to validate corrections (loaded once, cached)."""

from __future__ import annotations

import csv
import functools

from workbench import PACKAGE_DIR


@functools.cache
def cpv_roots() -> frozenset[str]:
    """The 8-digit roots of the CPV 2008 codes (empty if the list is not shipped)."""
    path = PACKAGE_DIR / "data" / "cpv_2008.csv"
    if not path.exists():
        return frozenset()
    with path.open(encoding="utf-8") as handle:
        return frozenset(row["CODE"][:8] for row in csv.DictReader(handle) if row.get("CODE"))
