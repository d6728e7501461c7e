"""``workbench indicators egalim|spaser``: the published JSON and CSV."""

from __future__ import annotations

import csv
import json

import pytest

from tests.indicators.test_published import contracts, lines  # noqa: F401 - fixtures


@pytest.fixture
def run(app):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def _run(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return _run


def test_egalim_json_has_the_published_keys(lines, run, tmp_path):  # noqa: F811
    out = tmp_path / "egalim.json"
    output = run("indicators", "egalim", "--year", "2025", "-o", str(out))
    assert "1 ligne(s) exclue(s)" in output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["year"] == 2025
    assert (data["total_ht"], data["bio_ht"], data["egalim_ht"]) == (380.0, 80.0, 130.0)
    assert data["bio_share"] == pytest.approx(80 / 380)
    assert data["egalim_share"] == pytest.approx(130 / 380)
    assert (data["excluded_lines"], data["excluded_ht"]) == (1, 1000.0)
    assert data["including_excluded"]["total_ht"] == 1380.0
    assert data["including_excluded"]["bio_ht"] == 1080.0
    assert data["computed_at"]


def test_egalim_csv_per_site_and_month(lines, run, tmp_path):  # noqa: F811
    out = tmp_path / "egalim.csv"
    run("indicators", "egalim", "--year", "2025", "--site", "0350001A", "--format", "csv",
        "--monthly", "-o", str(out))  # fmt: skip
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["month"], r["total_ht"]) for r in rows] == [("3", "130.0")]


def test_unknown_site_is_refused_in_french(lines, app, tmp_path):  # noqa: F811
    result = app.test_cli_runner().invoke(
        args=["indicators", "egalim", "--site", "9999999Z", "-o", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 1 and "Lycée inconnu" in result.output


def test_spaser_json_follows_the_same_pattern(contracts, run, tmp_path):  # noqa: F811
    out = tmp_path / "spaser.json"
    run("indicators", "spaser", "--year", "2025", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["year"] == 2025 and data["marche"]["contracts"] == 2
    assert data["concession"]["value"] == 1000.0
    assert data["excluded_contracts"] == 1
    assert data["including_excluded"]["marche"]["contracts"] == 3
    out_csv = tmp_path / "spaser.csv"
    run("indicators", "spaser", "--year", "2025", "--format", "csv", "-o", str(out_csv))
    with out_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and {r["kind"] for r in rows} == {"marche", "concession"}
