"""Corrected purchase lines as CSV: the canonical import format, and the national ma-cantine format.

Rows are tuples in column order, written in batches (flat memory). Only text cells get the
formula guard (:func:`workbench.core.csvsafe.safe_cell`); numbers and dates never do, so a
credit note stays ``-50.00`` and not the text ``'-50.00``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from workbench.core.csvsafe import safe_cell
from workbench.reference.models import FAMILIES

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
#: ma-cantine's ``categories_egalim`` codes (the others are origin-type characteristics).
MACANTINE_CATEGORIES = (
    "BIO",
    "LABEL_ROUGE",
    "AOCAOP",
    "IGP",
    "STG",
    "HVE",
    "PECHE_DURABLE",
    "RUP",
    "COMMERCE_EQUITABLE",
    "FERMIER",
    "EXTERNALITES",
    "PERFORMANCE",
)
_CATEGORIES = frozenset(MACANTINE_CATEGORIES)
#: Declared origins → ma-cantine ``origine`` (only FRANCE or EUROPE, meaning EU outside France).
ORIGINS = {
    "FRANCE": "FRANCE",
    "FR": "FRANCE",
    "ORIGINE FRANCE": "FRANCE",
    "UE": "EUROPE",
    "EU": "EUROPE",
    "EUROPE": "EUROPE",
    "CEE": "EUROPE",
    "UNION EUROPEENNE": "EUROPE",
    "UNION EUROPÉENNE": "EUROPE",
}
LOCAL_DEFINITIONS = ("PAT", "COMMUNE", "DEPARTEMENT", "REGION", "KM")
BATCH = 10_000


def macantine_origin(origin: str | None, labels: Sequence[str] = ()) -> str:
    """``UE`` → ``EUROPE``, ``FR`` → ``FRANCE``; an origin ma cantine cannot carry → empty."""
    key = (origin or "").strip().upper()
    if key in ORIGINS:
        return ORIGINS[key]
    if "FRANCE" in key or "FRANCE" in labels:
        return "FRANCE"
    return ""


def _number(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


def _quantity(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _date(value: Any) -> str:
    if isinstance(value, str):
        return value[:10]
    return value.isoformat() if isinstance(value, dt.date) else ""


def _guard(value: str) -> str:
    return "'" + value if value[:1] in _GUARDED else value


_GUARDED = frozenset(("=", "+", "-", "@", "\t", "\r", "'"))


def canonical_row(line: Sequence[Any]) -> list[Any]:
    """One canonical row from the tuple of :data:`workbench.exports.queries.CANONICAL_SELECT`.

    Text cells get the formula guard (same rule as :func:`safe_cell`); numbers and dates never.
    """
    uai, date, siret, supplier, reference, label, quantity, unit, amount = line[:9]
    family, labels, origin, code = line[9:13]
    return [
        uai,
        _date(date),
        siret or "",
        _guard(supplier) if supplier else "",
        _guard(reference) if reference else "",
        _guard(label) if label else "",
        "" if quantity is None else _quantity(quantity),
        _guard(unit) if unit else "",
        "" if amount is None else f"{amount:.2f}",
        family or "",
        labels or "",
        _guard(origin) if origin else "",
        _guard(code) if code else "",
    ]


def macantine_row(line: Sequence[Any]) -> list[Any]:
    """One ma-cantine row from the tuple of :data:`workbench.exports.queries.MACANTINE_SELECT`.

    (site_siret, label, supplier_name, date, amount, family, labels, origin, short circuit,
    local, local definition, local km).
    """
    labels = [c for c in (line[6] or "").split(",") if c]
    family = line[5] if line[5] in FAMILIES else "AUTRES"
    is_local = bool(line[9]) or "LOCAL" in labels
    definition = line[10] if is_local else None
    return [
        line[0],
        safe_cell(line[1]),
        safe_cell(line[2] or ""),
        _date(line[3]),
        _number(line[4]),
        family,
        ",".join(c for c in labels if c in _CATEGORIES),
        macantine_origin(line[7], labels),
        "x" if line[8] or "CIRCUIT_COURT" in labels else "",
        "x" if is_local else "",
        definition or "",
        _number(line[11]) if definition == "KM" and line[11] is not None else "",
    ]


class _Buffer:
    """A file-like target for ``csv.writer`` whose text is taken chunk by chunk."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_chunks(
    columns: Sequence[str], rows: Iterable[list[Any]], bom: bool = True
) -> Iterator[str]:
    """The CSV text in chunks of :data:`BATCH` rows (for streaming responses and files)."""

    buffer = _Buffer()
    writer = csv.writer(buffer)
    writer.writerow(list(columns))
    yield ("\ufeff" if bom else "") + buffer.take()
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            writer.writerows(batch)
            batch.clear()
            yield buffer.take()
    if batch:
        writer.writerows(batch)
        yield buffer.take()


def _quantities(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is not float:
        value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _amounts(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


#: The text of each number already formatted, per column, up to :data:`FORMATTED_MAX` numbers
#: (bounded memory): numbers repeat — 1,493 distinct quantities and 65,536 amounts over the
#: regional demo's million lines —, and a dictionary look-up costs a fifth of a formatting.
FORMATTED_MAX = 200_000
_QUANTITY_TEXTS: dict[Any, str] = {}
_AMOUNT_TEXTS: dict[Any, str] = {}


def _remembered(cache: dict[Any, str], value: Any, format_: Callable[[Any], str]) -> str:
    """``format_(value)``, kept in ``cache`` while it holds fewer than :data:`FORMATTED_MAX`
    (not zero: 0.0 and -0.0 are one key, and two texts; nor None)."""
    text = format_(value)
    if value and len(cache) < FORMATTED_MAX:
        cache[value] = text
    return text


def canonical_chunk(rows: list[tuple]) -> list[tuple]:
    """A chunk of :data:`workbench.exports.queries.CANONICAL_EXPORT_SELECT` rows, ready to write.

    The database already guarded the text cells and gave the dates as ISO text (NULL is written
    as an empty cell by :mod:`csv`); only the two number columns are formatted here, as
    :func:`canonical_row` does (quantity as an integer when whole, amount with two decimals),
    each distinct number once (:data:`FORMATTED_MAX`; a text found is never empty).
    """
    q, a = _QUANTITY_TEXTS.get, _AMOUNT_TEXTS.get
    return [
        (
            r[0], r[1], r[2], r[3], r[4], r[5],
            q(r[6]) or _remembered(_QUANTITY_TEXTS, r[6], _quantities), r[7],
            a(r[8]) or _remembered(_AMOUNT_TEXTS, r[8], _amounts), r[9], r[10], r[11], r[12],
        )
        for r in rows
    ]  # fmt: skip


def chunked_csv(
    columns: Sequence[str], chunks: Iterable[list[Any]], bom: bool = True
) -> Iterator[str]:
    """The CSV text of the header and of each chunk of ready rows (one string per chunk)."""

    buffer = _Buffer()
    writer = csv.writer(buffer)
    writer.writerow(list(columns))
    yield ("\ufeff" if bom else "") + buffer.take()
    for chunk in chunks:
        writer.writerows(chunk)
        yield buffer.take()


def canonical_csv(chunks: Iterable[list[tuple]], bom: bool = True) -> Iterator[str]:
    """The canonical CSV of chunks from :func:`workbench.exports.queries.canonical_chunks`."""
    return chunked_csv(CANONICAL_COLUMNS, map(canonical_chunk, chunks), bom=bom)


def write_csv(handle: IO[str], columns: Iterable[str], rows: Iterable[list[Any]]) -> int:
    """Write already-guarded rows; returns the number of rows."""
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for chunk in csv_chunks(list(columns), counted(), bom=False):
        handle.write(chunk)
    return count
