"""The page groupings: plain-Python sums of a few lines equal the pandas aggregate's."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from workbench.indicators import engine, queries

LABELS = ["", "BIO", "LABEL_ROUGE,BIO", " hve , FERMIER", "IGP", "FRANCE", "LOCAL,BIO",
          "CIRCUIT_COURT", "bio;hve", None, "AOCAOP,FRANCE ", "PECHE_DURABLE"]  # fmt: skip


def _lines(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "line_date": [dt.date(2025 + rng.randint(0, 1), rng.randint(1, 12), 1) for _ in range(n)],
            "site_id": [rng.randint(1, 4) for _ in range(n)],
            "labels": [rng.choice(LABELS) for _ in range(n)],
            "origin": [rng.choice([None, "France", "UE", "ORIGINE FRANCE"]) for _ in range(n)],
            "family": [rng.choice(["AUTRES", "VIANDES_VOLAILLES", "PRODUITS_DE_LA_MER"]) for _ in range(n)],
            "amount_ht": [rng.choice([None, "50", 12.5, -20.0, rng.uniform(0, 300)]) for _ in range(n)],
            "is_local": [rng.choice([None, True, False]) for _ in range(n)],
            "is_short_circuit": [rng.choice([None, True, False]) for _ in range(n)],
            "local_definition": [rng.choice([None, "PAT", "KM"]) for _ in range(n)],
            "commune_code": [rng.choice([None, "35238", "75056", "29019"]) for _ in range(n)],
            "blocked": [rng.choice([True, False, 0, 1]) for _ in range(n)],
        }
    )  # fmt: skip


def _rounded(parts: engine.Parts) -> dict:
    return {group: [round(v, 6) for v in values] for group, values in parts.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_python_parts_of_lines_equal_the_pandas_aggregate(seed: int) -> None:
    lines = _lines(400, seed)
    departments = engine.REGION_DEPARTMENTS["53"]
    expected = engine.parts_by_margin(engine.aggregate_lines(lines, departments), queries.MARGINS)
    got = engine.parts_of_lines(lines, departments, queries.MARGINS)
    assert {k: _rounded(v) for k, v in got.items()} == {k: _rounded(v) for k, v in expected.items()}


def _close(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        return {k: _close(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_close(v) for v in value]
    return round(value, 9) if isinstance(value, float) else value


def test_figures_of_parts_equal_the_figures_of_the_aggregate() -> None:
    agg = engine.aggregate_lines(_lines(300, 9), engine.REGION_DEPARTMENTS["53"])
    parts = engine.parts_by_margin(agg, queries.MARGINS)
    assert _close(engine.published_of_parts(parts["site"])) == _close(engine.published(agg))
    for name, keys in (("site", ["site_id"]), ("month", ["year", "month"]), ("family", ["family"])):
        expected = [
            {**dict(zip(keys, group, strict=True)), **engine.published(part)}
            for group, part in agg.groupby(keys, sort=True)
        ]
        assert _close(engine.figures_of_parts(parts[name], keys)) == _close(expected)
    categories = engine.categories_of_parts(parts["category"])
    assert _close(categories) == _close(engine.categories_of(agg))
    assert _close(engine.local_definitions_of_parts(parts["local"])) == _close(
        engine.local_definitions(agg)
    )


def test_parts_of_database_rows_equal_the_pandas_parts() -> None:
    agg = engine.aggregate_lines(_lines(500, 4), engine.REGION_DEPARTMENTS["53"])
    names = list(agg.columns)
    rows = [tuple(r) for r in agg.astype(object).itertuples(index=False)]
    got = engine.parts_of_rows(rows, names, queries.MARGINS)
    expected = engine.parts_by_margin(agg, queries.MARGINS)
    assert {k: _rounded(v) for k, v in got.items()} == {k: _rounded(v) for k, v in expected.items()}
