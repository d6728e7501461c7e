"""What the import steps share: labels per kind and status, the result and staging records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.imports.models import ImportBatch
from workbench.imports.parsing import Report
from workbench.imports.staging import StagedRows
from workbench.imports.writer import UpsertResult

KIND_LABELS = {
    "contracts": "Marchés (DECP)",
    "purchases": "Achats des cantines",
    "matrix": "Matrices fournisseurs",
    "suppliers": "Fournisseurs",
    "nomenclature": "Nomenclature",
    "sites": "Sites (lycées)",
    "directions": "Directions",
    "users": "Comptes utilisateurs",
}
#: Formats a user may force with ``--format`` (otherwise detected from the file).
KIND_FORMATS = {
    "contracts": ("decp_v2", "decp_1.5", "decp_csv"),
    "purchases": ("canonique", "macantine"),
}
STATUS_LABELS = {
    "applied": "Importé",
    "rejected": "Refusé",
    "dry_run": "Simulation",
    "duplicate": "Déjà importé",
}
RECORD_KINDS = {
    "contracts": "contract",
    "purchases": "purchase_line",
    "matrix": "matrix_entry",
    "suppliers": "supplier",
    "nomenclature": "nomenclature_item",
}


@dataclass
class ImportResult:
    status: str
    message: str
    report: Report
    batch: ImportBatch | None = None
    previous: ImportBatch | None = None
    file_format: str | None = None
    row_count: int = 0
    counts: UpsertResult = field(default_factory=UpsertResult)

    @property
    def rejected_count(self) -> int:
        return len(self.report.error_rows)


@dataclass
class _StagedPurchases:
    """Pass 1's output for purchase lines: the checked rows on disk, the key occurrences."""

    rows: StagedRows
    occurrences: np.ndarray
    site_ids: set[int]
    first_date: dt.date | None
    last_date: dt.date | None

    def chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Each staged chunk with the key occurrence numbers of its lines."""
        offset = 0
        for chunk in self.rows.chunks():
            yield chunk, self.occurrences[offset : offset + len(chunk)]
            offset += len(chunk)


@dataclass
class _Prepared:
    frame: pd.DataFrame
    file_format: str
    row_count: int
    site_id: int | None = None
    #: Purchase lines are not kept in memory: pass 2 writes them from here, chunk by chunk.
    staged: _StagedPurchases | None = None
    #: Contracts: a refused record (an error of its row) does not refuse the file.
    record_level: bool = False
    #: Records refused (record-level imports).
    refused: int = 0

    def close(self) -> None:
        if self.staged is not None:
            self.staged.rows.close()
