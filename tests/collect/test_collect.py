"""The drop folder: files imported, then filed in done/ or rejected/ with their report."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from workbench.collect import operations as collecting
from workbench.imports.models import ImportBatch
from workbench.records.models import PurchaseLine
from workbench.reference.models import Direction, Site

HEADER = "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht"


def _drop(root: Path, kind: str, name: str, text: str) -> Path:
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_collect_imports_each_dropped_file_and_files_it_with_its_report(app, session, tmp_path):
    root = tmp_path / "depot"
    _drop(root, "directions", "directions.csv", "code;nom\nDLYC;Direction des lycées\n")
    _drop(root, "sites", "sites.csv", "uai;nom;direction\n0350001A;Lycée A;DLYC\n")
    _drop(root, "purchases", "achats.csv", f"{HEADER}\n0350001A;02/03/2026;;F;R1;Pommes;1;kg;2\n")
    _drop(root, "purchases", "mauvais.csv", f"{HEADER}\n0350001A;31/02/2026;;F;R1;Pommes;1;kg;2\n")
    _drop(root, "purchases", "en-cours.csv.part", "not yet")
    result = app.test_cli_runner().invoke(args=["collect", str(root)])
    assert result.exit_code == 0, result.output
    assert "purchases/achats.csv : applied" in result.output
    assert "purchases/mauvais.csv : rejected" in result.output
    # directions before sites: the site's direction exists when the site is imported
    assert session.get(Direction, "DLYC") is not None
    assert session.scalar(sa.select(Site.direction_code)) == "DLYC"
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1
    done = root / "purchases" / "done"
    assert (done / "achats.csv").exists() and not (root / "purchases" / "achats.csv").exists()
    report = json.loads((done / "achats.csv.report.json").read_text())
    assert report["status"] == "applied" and report["inserted"] == 1
    assert session.get(ImportBatch, report["batch_id"]).file_name == "achats.csv"
    rejected = json.loads((root / "purchases" / "rejected" / "mauvais.csv.report.json").read_text())
    assert rejected["status"] == "rejected"
    assert any("ligne 2, colonne date" in line for line in rejected["lines"])
    assert (root / "purchases" / "en-cours.csv.part").exists(), "partial files are left alone"
    assert not list((root / "purchases" / ".processing").iterdir())


def test_collect_is_idempotent_a_file_dropped_again_goes_to_done_unchanged(
    app, session, tmp_path, make
):
    make.site(uai="0350001A")
    root = tmp_path / "depot"
    text = f"{HEADER}\n0350001A;02/03/2026;;F;R1;Pommes;1;kg;2\n"
    runner = app.test_cli_runner()
    _drop(root, "purchases", "achats.csv", text)
    assert runner.invoke(args=["collect", str(root)]).exit_code == 0
    _drop(root, "purchases", "achats.csv", text)  # the same file again (same name)
    result = runner.invoke(args=["collect", str(root)])
    assert "purchases/achats.csv : duplicate" in result.output
    names = sorted(p.name for p in (root / "purchases" / "done").iterdir())
    assert len([n for n in names if n.endswith("achats.csv")]) == 2, names
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1
    assert "Aucun fichier" in runner.invoke(args=["collect", str(root)]).output


def test_two_collectors_at_once_import_each_file_exactly_once(tmp_path):
    """Two threads collect the same folder: the atomic claim gives each file to one of them."""
    root = tmp_path / "depot"
    names = [f"f{i:03}.csv" for i in range(60)]
    for name in names:
        _drop(root, "purchases", name, name)
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def importer(kind: str, path: Path, name: str) -> collecting.Outcome:
        assert path.parent.name == ".processing" and path.read_text() == name
        time.sleep(0.002)  # long enough for the two collectors to interleave
        with lock:
            seen.append((threading.current_thread().name, name))
        return collecting.Outcome("applied", "ok")

    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        collecting.collect(root, importer)

    threads = [threading.Thread(target=run, name=f"c{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    imported = [name for _, name in seen]
    assert sorted(imported) == names, "each file imported exactly once"
    assert {who for who, _ in seen} == {"c0", "c1"}, "both collectors took part"
    done = root / "purchases" / "done"
    assert sorted(p.name for p in done.iterdir() if not p.name.endswith(".json")) == names


def test_an_unexpected_error_files_the_file_as_rejected_with_the_error(tmp_path):
    root = tmp_path / "depot"
    _drop(root, "matrix", "m.csv", "x")

    def importer(kind: str, path: Path, name: str) -> collecting.Outcome:
        raise RuntimeError("disque plein")

    result = collecting.collect(root, importer)
    assert result.files == [("matrix", "m.csv", "rejected")]
    report = json.loads((root / "matrix" / "rejected" / "m.csv.report.json").read_text())
    assert "disque plein" in report["message"]


def test_a_file_left_claimed_by_a_dead_collector_is_taken_back(tmp_path):
    root = collecting.prepare(tmp_path / "depot")
    stale = root / "sites" / ".processing" / "s.csv"
    stale.write_text("x")
    old = time.time() - 2 * collecting.STALE_SECONDS
    import os

    os.utime(stale, (old, old))
    result = collecting.collect(root, lambda k, p, n: collecting.Outcome("applied", "ok"))
    assert result.files == [("sites", "s.csv", "applied")]


def test_watch_mode_collects_files_dropped_between_rounds(app, session, tmp_path, make):
    make.site(uai="0350001A")
    root = tmp_path / "depot"
    _drop(root, "purchases", "a.csv", f"{HEADER}\n0350001A;02/03/2026;;F;R1;Pommes;1;kg;2\n")
    result = app.test_cli_runner().invoke(
        args=["collect", str(root), "--watch", "--interval", "0.01", "--rounds", "2"]
    )
    assert result.exit_code == 0 and "purchases/a.csv : applied" in result.output
