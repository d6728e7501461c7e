"""Fixtures of the hostile-input tests: the lycées and supplier the purchase files refer to."""

from __future__ import annotations

import pytest

from tests.imports.conftest import OTHER_UAI, SIRET, UAI


@pytest.fixture
def sites(make):
    return make.site(uai=UAI, name="Lycée A"), make.site(uai=OTHER_UAI, name="Lycée B")


@pytest.fixture
def supplier(make):
    return make.supplier(siret=SIRET, name="Laiterie")


@pytest.fixture
def parse_calls(monkeypatch):
    """How many times a workbook's sheet XML or a JSON document was handed to a parser."""
    import json

    from workbench.imports import parsing, workbooks

    calls = {"sheet": 0, "workbook": 0, "json": 0}
    rows = workbooks._SheetReader.rows
    load = workbooks.open_first_sheet
    loads = json.loads

    def counted_rows(self, width):  # type: ignore[no-untyped-def]
        calls["sheet"] += 1
        return rows(self, width)

    def counted_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["workbook"] += 1
        return load(*args, **kwargs)

    class CountedJson:  # parsing's own ``json`` module, with its ``loads`` counted
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(json, name)

        @staticmethod
        def loads(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls["json"] += 1
            return loads(*args, **kwargs)

    monkeypatch.setattr(workbooks._SheetReader, "rows", counted_rows)
    monkeypatch.setattr(workbooks, "open_first_sheet", counted_load)
    monkeypatch.setattr(parsing, "json", CountedJson())
    return calls
