"""The caps on what an import file may cost before it is parsed (hostile input, issue #9).

:func:`input_limits` sets them for a block of code (the import entry point reads them from the
settings); the readers ask :func:`current_limits`. Pure Python: no Flask, no database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InputLimits:
    """What a file may cost before a byte of it is parsed (settings ``IMPORT_XLSX_*``...)."""

    #: Rows (``<row>`` elements) of any sheet of a workbook; Excel itself stops at 1,048,576.
    xlsx_max_rows: int = 1_048_576
    #: Sum of the declared uncompressed sizes of a workbook's ZIP entries, in MB.
    xlsx_max_uncompressed_mb: int = 1_000
    #: Uncompressed / compressed size of one ZIP entry (real workbooks stay under ~20).
    xlsx_max_ratio: int = 200
    #: Nesting levels of a JSON document (DECP needs fewer than 10).
    json_max_depth: int = 64

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> InputLimits:
        default = cls()
        return cls(
            xlsx_max_rows=int(config.get("IMPORT_XLSX_MAX_ROWS", default.xlsx_max_rows)),
            xlsx_max_uncompressed_mb=int(
                config.get("IMPORT_XLSX_MAX_UNCOMPRESSED_MB", default.xlsx_max_uncompressed_mb)
            ),
            xlsx_max_ratio=int(config.get("IMPORT_XLSX_MAX_RATIO", default.xlsx_max_ratio)),
            json_max_depth=int(config.get("IMPORT_JSON_MAX_DEPTH", default.json_max_depth)),
        )


_LIMITS: ContextVar[InputLimits | None] = ContextVar("workbench_input_limits", default=None)


def current_limits() -> InputLimits:
    """The caps in force (set by :func:`input_limits`, else the defaults)."""
    return _LIMITS.get() or InputLimits()


@contextlib.contextmanager
def input_limits(limits: InputLimits) -> Iterator[InputLimits]:
    """Read the files of this block under ``limits`` (the import entry point sets them)."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)
