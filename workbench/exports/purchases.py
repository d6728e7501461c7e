"""Corrected purchase lines as CSV: the canonical import format, and the national ma-cantine format."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from workbench.core.csvsafe import safe_cell

CANONICAL_COLUMNS = (
    "uai",
    "date",
    "siret_fournisseur",
    "fournisseur",
    "reference_article",
    "libelle",
    "quantite",
    "unite",
    "prix_ht",
    "famille_produits",
    "categories_egalim",
    "origine",
    "code_nomenclature",
)
MACANTINE_COLUMNS = (
    "siret",
    "description",
    "fournisseur",
    "date",
    "prix_ht",
    "famille_produits",
    "categories_egalim",
    "origine",
    "est_circuit_court",
    "est_local",
    "definition_local",
    "definition_local_km",
)
#: Characteristics that ma-cantine carries in ``origine`` or flags rather than in ``categories_egalim``.
_NOT_CATEGORIES = {"FRANCE", "CIRCUIT_COURT", "LOCAL"}


def _number(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


def canonical_row(line: dict[str, Any]) -> list[Any]:
    return [
        line["uai"],
        line["line_date"].isoformat(),
        line.get("supplier_siret") or "",
        line.get("supplier_name") or "",
        line.get("reference") or "",
        line["label"],
        "" if line.get("quantity") is None else line["quantity"],
        line.get("unit") or "",
        _number(line.get("amount_ht")),
        line.get("family") or "",
        line.get("labels") or "",
        line.get("origin") or "",
        line.get("nomenclature_code") or "",
    ]


def macantine_row(line: dict[str, Any]) -> list[Any]:
    labels = [c for c in (line.get("labels") or "").split(",") if c]
    categories = [c for c in labels if c not in _NOT_CATEGORIES]
    origin = line.get("origin") or ("FRANCE" if "FRANCE" in labels else "")
    return [
        line.get("site_siret") or "",
        line["label"],
        line.get("supplier_name") or "",
        line["line_date"].isoformat(),
        _number(line.get("amount_ht")),
        line.get("family") or "AUTRES",
        ",".join(categories),
        origin,
        "x" if line.get("is_short_circuit") or "CIRCUIT_COURT" in labels else "",
        "x" if line.get("is_local") or "LOCAL" in labels else "",
        "",
        "",
    ]


def write_csv(handle: IO[str], columns: Iterable[str], rows: Iterable[list[Any]]) -> int:
    """Write rows with formula-neutralised cells; returns the number of rows."""
    writer = csv.writer(handle)
    writer.writerow(list(columns))
    count = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        count += 1
    return count
