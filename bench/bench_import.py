"""Speed of the purchase import against its floor (run: ``python bench/bench_import.py [--rows N]``).

1. Generates a realistic canonical purchase file (``;`` separated, decimal comma, 5 lycées,
   20 suppliers already known plus a few unknown SIRETs, ~2,000 articles, labels, origins).
2. Imports it into a fresh SQLite database whose schema is built by the migrations
   (``flask db upgrade`` through ``flask_migrate.upgrade``, so the audit triggers exist too),
   through :func:`workbench.imports.operations.import_file` then one commit, as the CLI does.
   The rules engine's ``records_changed`` receiver is disconnected during the timing: the
   re-check of the imported lines is the rules engine's cost, not the import's.
3. Measures the floor in the same run: ``pandas.read_csv(engine="pyarrow")`` of the same file
   plus ``sqlite3`` ``executemany`` of the same 13 columns into a bare table.

Prints both durations, the ratio (target ≤ 4) and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

UAIS = ["0350001A", "0350002B", "0290003C", "0220004D", "0560005E"]
SIRETS = [
    "55204599900869",
    "21974022200019",
    "22130001500247",
    "23350001600040",
    *[f"{7320000000000 + i * 97:014d}" for i in range(16)],
]
FAMILIES = ["VIANDES_VOLAILLES", "PRODUITS_LAITIERS", "FRUITS_ET_LEGUMES", "AUTRES", "BOISSONS"]
LABELS = ["", "", "", "BIO", "BIO", "LABEL_ROUGE", "AOCAOP", "BIO,LABEL_ROUGE", "HVE"]
ORIGINS = ["", "FRANCE", "FRANCE", "UE", "ESPAGNE"]
WORDS = [
    "YAOURT NAT",
    "STEAK HACHE 15%",
    "PDT GT LAVEE",
    "FILET CABILLAUD",
    "LAIT 1/2 ECR",
    "POMME GOLDEN",
    "CAROTTE RAPEE",
    "EMMENTAL RAPE",
    "POULET CUISSE",
    "JUS ORANGE",
]
#: Codes ``N0`` … ``N499`` used by the generated file (see :func:`seed_reference`).
NOMENCLATURE_ITEMS = 500
PACKS = ["125G X48", "10X1KG", "SAC 10KG", "6X1L", "CT 5KG", "BQ 2.5KG", "X60", "1L"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    articles = 2000
    article_words = rng.integers(0, len(WORDS), articles)
    article_packs = rng.integers(0, len(PACKS), articles)
    article_labels = np.array(
        [
            f"{WORDS[w]} {PACKS[p]} {i:04d}"
            for i, (w, p) in enumerate(zip(article_words, article_packs, strict=True))
        ],
        dtype=object,
    )
    article = rng.integers(0, articles, rows)
    siret_pool = np.array([*SIRETS, "99999999900011", "98765432100015"], dtype=object)
    supplier = rng.integers(0, len(siret_pool), rows)
    days = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")
    amount = np.round(rng.gamma(2.0, 40.0, rows) + 0.5, 2)
    frame = pd.DataFrame(
        {
            "uai": np.array(UAIS, dtype=object)[rng.integers(0, len(UAIS), rows)],
            "date": days.strftime("%d/%m/%Y"),
            "siret_fournisseur": siret_pool[supplier],
            "fournisseur": np.array(
                [f"Fournisseur {i}" for i in range(len(siret_pool))], dtype=object
            )[supplier],
            "reference_article": np.char.add("REF", article.astype(str)),
            "libelle": article_labels[article],
            "quantite": rng.integers(1, 60, rows),
            "unite": np.array(["kg", "l", "pièce", "colis"], dtype=object)[
                rng.integers(0, 4, rows)
            ],
            "prix_ht": pd.Series(amount).map("{:.2f}".format).str.replace(".", ",", regex=False),
            "famille_produits": np.array(FAMILIES, dtype=object)[article % len(FAMILIES)],
            "categories_egalim": np.array(LABELS, dtype=object)[rng.integers(0, len(LABELS), rows)],
            "origine": np.array(ORIGINS, dtype=object)[rng.integers(0, len(ORIGINS), rows)],
            "code_nomenclature": np.where(
                article % 3 == 0, "", np.char.add("N", (article % 500).astype(str))
            ),
        }
    )
    frame.to_csv(path, sep=";", index=False)


def seed_reference(session) -> None:  # type: ignore[no-untyped-def]
    from workbench.audit.operations import record
    from workbench.demo import factories

    factories.make_direction(session, "DLYC")
    for i, uai in enumerate(UAIS):
        factories.make_site(session, uai=uai, name=f"Lycée {i}")
    for i, siret in enumerate(SIRETS):
        factories.make_supplier(session, siret=siret, name=f"Fournisseur {i}")
    # the nomenclature the file's codes come from (N0 … N499, families as in the file), loaded
    # first as on a real instance: without it two lines in three carry an invalid code
    for k in range(NOMENCLATURE_ITEMS):
        factories.make_nomenclature_item(
            session, code=f"N{k}", label=f"{WORDS[k % len(WORDS)]} {k}", family=FAMILIES[k % 5]
        )
    record(
        session,
        "bench.seed",
        target_kind="bench",
        after={"sites": 5, "suppliers": 20, "nomenclature_items": NOMENCLATURE_ITEMS},
    )
    session.commit()


def run_import(workdir: Path, csv_path: Path, chunk_rows: int | None) -> tuple[float, str]:
    from flask_migrate import upgrade

    from workbench import create_app
    from workbench.audit.operations import Actor, acting_as
    from workbench.core.signals import records_changed
    from workbench.extensions import db
    from workbench.imports.operations import import_file

    database = workdir / "bench.sqlite3"
    app = create_app({"ENV": "development", "DATABASE_URL": f"sqlite:///{database}"})
    with app.app_context():
        upgrade()
        seed_reference(db.session)
        with records_changed.muted():
            start = time.perf_counter()
            with acting_as(Actor(email="bench", role="admin")):
                result = import_file(
                    db.session,
                    "purchases",
                    csv_path,
                    chunk_rows=chunk_rows or app.config["IMPORT_CHUNK_ROWS"],
                )
                db.session.commit()
            elapsed = time.perf_counter() - start
        count = db.session.execute(db.text("SELECT count(*) FROM purchase_lines")).scalar()
        db.engine.dispose()
    summary = f"{result.status}: {result.message} ({count:,} lignes en base)"
    return elapsed, summary


def run_floor(workdir: Path, csv_path: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_csv(csv_path, sep=";", engine="pyarrow", dtype=str)
    connection = sqlite3.connect(workdir / "floor.sqlite3")
    columns = list(frame.columns)
    connection.execute(f"CREATE TABLE bare ({', '.join(c + ' TEXT' for c in columns)})")
    connection.executemany(
        f"INSERT INTO bare VALUES ({', '.join('?' for _ in columns)})",
        frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None),
    )
    connection.commit()
    connection.close()
    return time.perf_counter() - start


def _peak_mb() -> float:
    """Peak resident memory of this process, in MB.

    ``VmHWM`` (Linux) is the peak of this process image only. ``ru_maxrss`` is not: the kernel
    carries it across ``exec``, so a child spawned by a parent holding the generated 1 GB
    DataFrame would report the parent's size (what earlier versions of this benchmark printed).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(target: str, workdir: str, csv_path: str, chunk_rows, queue) -> None:  # type: ignore[no-untyped-def]
    if target == "floor":
        queue.put((run_floor(Path(workdir), Path(csv_path)), "", _peak_mb()))
    else:
        elapsed, summary = run_import(Path(workdir), Path(csv_path), chunk_rows)
        queue.put((elapsed, summary, _peak_mb()))


def _in_child(
    target: str, workdir: Path, csv_path: Path, chunk_rows: int | None = None
) -> tuple[float, str, float]:
    """Run in a fresh process so that each peak memory figure is its own."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_child, args=(target, str(workdir), str(csv_path), chunk_rows, queue)
    )
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="lignes par bloc de l'import (défaut : IMPORT_CHUNK_ROWS de la configuration)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "achats.csv"
        start = time.perf_counter()
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"Fichier : {args.rows:,} lignes, {size_mb:.1f} Mo "
            f"(généré en {time.perf_counter() - start:.1f} s)"
        )
        floor, _, floor_mb = _in_child("floor", workdir, csv_path)
        print(
            f"Plancher (pandas pyarrow + sqlite3 executemany, table nue) : {floor:.2f} s "
            f"(mémoire max. {floor_mb:.0f} Mo)"
        )
        elapsed, summary, import_mb = _in_child("import", workdir, csv_path, args.chunk_rows)
        blocks = f"blocs de {args.chunk_rows:,} lignes" if args.chunk_rows else "IMPORT_CHUNK_ROWS"
        print(
            f"Import workbench (lecture, contrôles, clés, upsert, audit, commit; {blocks}) : "
            f"{elapsed:.2f} s (mémoire max. {import_mb:.0f} Mo)"
        )
        print(f"  {summary}")
        print(f"Ratio import / plancher : {elapsed / floor:.2f} (objectif ≤ 4)")


if __name__ == "__main__":
    main()
