"""Demo contract records in DECP v2 shape (pure: numpy/pandas, no Flask, no database).

:func:`decp_marche` and :func:`decp_concession` build one record exactly as the official schema
(``schema_decp_v2.0.3.json``) lays it out — the dict stored in ``Contract.raw`` and reusable by
exports. :func:`contract_columns` maps such a record to the ``contracts`` columns,
:func:`holder_rows` and :func:`modification_rows` to its children. :data:`ERRORS` lists the
real-world mistakes injected in a share of the records (DOMAIN.md, "Known real-world quality
rules"); the frame's ``error`` column says which record carries which.
"""

from __future__ import annotations

from workbench.demo.decp.columns import contract_columns, holder_rows, modification_rows
from workbench.demo.decp.contracts import DIVISIONS, generate_contracts
from workbench.demo.decp.records import (
    CONCESSION_PROCEDURES,
    CONCESSION_REQUIRED,
    CONTRACT_COUNT,
    ENVIRONMENTAL,
    ERROR_SHARE,
    ERRORS,
    MARCHE_REQUIRED,
    NO_ENVIRONMENTAL,
    NO_SOCIAL,
    PROCEDURE_WEIGHTS,
    PROCEDURES,
    REGION_SIRET,
    SOCIAL,
    cpv_table,
    decp_concession,
    decp_marche,
)

__all__ = [
    "CONCESSION_PROCEDURES",
    "CONCESSION_REQUIRED",
    "CONTRACT_COUNT",
    "DIVISIONS",
    "ENVIRONMENTAL",
    "ERRORS",
    "ERROR_SHARE",
    "MARCHE_REQUIRED",
    "NO_ENVIRONMENTAL",
    "NO_SOCIAL",
    "PROCEDURES",
    "PROCEDURE_WEIGHTS",
    "REGION_SIRET",
    "SOCIAL",
    "contract_columns",
    "cpv_table",
    "decp_concession",
    "decp_marche",
    "generate_contracts",
    "holder_rows",
    "modification_rows",
]
