"""docs/imports.md documents every column of every import format."""

from __future__ import annotations

from pathlib import Path

from workbench.imports.formats import FORMATS
from workbench.imports.models import IMPORT_KINDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "imports.md").read_text(encoding="utf-8")


def test_every_format_and_column_is_documented():
    missing = [
        f"{key}.{column.name}"
        for key, fmt in FORMATS.items()
        for column in fmt.columns
        if f"`{column.name}`" not in DOC or f"`{key}`" not in DOC
    ]
    assert not missing, missing


def test_every_import_kind_is_documented():
    assert all(f"`{kind}`" in DOC for kind in IMPORT_KINDS)
