"""The Region's year at scale, as users run it: one table of figures against the targets.

    make bench                                   # BENCH_LINES=100000 by default (quick)
    BENCH_LINES=1000000 BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/wb_x \\
        .venv/bin/python bench/bench_scale.py

Steps, each in its own process (its peak RSS is its own):

1. imports of a canonical purchase file of ``BENCH_LINES`` lines **with the re-check connected**
   (as the web page and the CLI run it), on SQLite and, when ``BENCH_POSTGRES_URL`` is set (that
   database is emptied), on PostgreSQL; each against its floor measured in the same run:
   pandas + pyarrow read plus ``sqlite3`` ``executemany``, or plus ``COPY``, into a table with
   the same indexes as ``purchase_lines`` (:data:`FLOOR_INDEXES`); then
   the same file with 1 % of its lines changed, re-imported (peak RSS of every step: ≤ 1 GB);
2. the regional demo (115 lycées, ``BENCH_LINES`` lines) loaded without rules, then: the table
   load (what the rules read, into pandas), the first rule run, a run where nothing changed,
   the re-check after mapping one article group (through the queue's operation);
3. p50/p95 of every page per role over that database (``bench/bench_pages.py``), including the
   indicator pages when ``BENCH_INDICATORS`` is not ``0``.

Matching against its baseline: ``bench/bench_matching.py`` (same deduplicated input).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import WORKBENCH, run_measured, table  # noqa: E402

PYTHON = sys.executable
HERE = Path(__file__).resolve()


# -- steps run in child processes (python bench_scale.py --step NAME ...) -------------------------
def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _vacuum_postgres(url: str) -> None:
    """``VACUUM (ANALYZE)`` of a PostgreSQL database just written in bulk, before its pages are
    measured: what autovacuum does within a minute or so of a bulk load (the visibility map
    set: index-only scans; fresh statistics), done first so that it does not run *during* the
    measurement. Nothing on SQLite (no visibility map; the runs analyse their tables)."""
    if not url.startswith("postgresql"):
        return
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()


def step_import(url: str, csv_path: str) -> dict:
    from flask_migrate import upgrade

    from bench.bench_import import seed_reference
    from workbench import create_app
    from workbench.audit.operations import Actor, acting_as
    from workbench.core.signals import records_changed
    from workbench.extensions import db
    from workbench.imports.operations import import_file

    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = create_app({"ENV": "development", "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        seed_reference(db.session)
        assert records_changed.receivers and not records_changed.is_muted, "re-check connected"
        started = time.perf_counter()
        with acting_as(Actor(email="bench", role="admin")):
            result = import_file(db.session, "purchases", csv_path)
            db.session.commit()
        seconds = time.perf_counter() - started
        anomalies = db.session.execute(db.text("SELECT count(*) FROM anomalies")).scalar()
    return {
        "seconds": seconds,
        "note": f"{result.counts.inserted:,} lines, {anomalies:,} anomalies",
    }


def changed_copy(csv_path: Path) -> Path:
    """The file with 1 % of its lines changed (their amount), beside it (made in the parent:
    the re-import step's memory is the import's own)."""
    import pandas as pd

    frame = pd.read_csv(csv_path, sep=";", dtype=str, keep_default_na=False)
    changed = frame.sample(frac=0.01, random_state=11).index
    frame.loc[changed, "prix_ht"] = "9999,99"
    changed_path = Path(csv_path).with_name("achats-1pc.csv")
    frame.to_csv(changed_path, sep=";", index=False)
    return changed_path


def step_reimport(url: str, changed_path: str) -> dict:
    """The file with 1 % of its lines changed, into the database the import step left: the
    lines are matched by key, the changed ones updated and re-checked."""
    from workbench import create_app
    from workbench.audit.operations import Actor, acting_as
    from workbench.extensions import db
    from workbench.imports.operations import import_file

    app = create_app({"ENV": "development", "DATABASE_URL": url})
    with app.app_context():
        started = time.perf_counter()
        with acting_as(Actor(email="bench", role="admin")):
            result = import_file(db.session, "purchases", changed_path)
            db.session.commit()
        seconds = time.perf_counter() - started
    counts = result.counts
    return {
        "seconds": seconds,
        "note": f"{counts.updated:,} updated, {counts.unchanged:,} unchanged",
    }


#: The indexes of ``purchase_lines`` (natural key, import batch, supplier, unmapped lines,
#: lycée+day, day), on the floor's table of the file's text columns (``batch`` a constant). The
#: unique key is about as wide as ``line_key`` (40 characters): lycée, day, SIRET, reference.
FLOOR_INDEXES = (
    "CREATE UNIQUE INDEX floor_key ON floor_lines "
    "(uai, date, siret_fournisseur, reference_article, id)",
    "CREATE INDEX floor_batch ON floor_lines (batch)",
    "CREATE INDEX floor_supplier ON floor_lines (siret_fournisseur)",
    "CREATE INDEX floor_unmapped ON floor_lines (uai, siret_fournisseur, reference_article) "
    "WHERE code_nomenclature IS NULL",
    "CREATE INDEX floor_site_date ON floor_lines (uai, date)",
    "CREATE INDEX floor_date ON floor_lines (date)",
)


def step_floor(url: str, csv_path: str) -> dict:
    """What an import cannot do without: the file read by pandas + pyarrow, then its rows
    into a table with the same indexes as ``purchase_lines`` — sqlite3 ``executemany`` in one
    transaction, or PostgreSQL ``COPY``."""
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(csv_path, sep=";", engine="pyarrow", dtype=str)
    frame["batch"] = "1"
    columns = list(frame.columns)
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    create = "CREATE TABLE floor_lines (id {pk}, " + ", ".join(f"{c} text" for c in columns) + ")"
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute("DROP TABLE IF EXISTS floor_lines")
            conn.execute(create.format(pk="bigserial PRIMARY KEY"))
            for ddl in FLOOR_INDEXES:
                conn.execute(ddl)
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY floor_lines ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            conn.execute("DROP TABLE floor_lines")
    else:
        import sqlite3

        path = Path(tempfile.mkdtemp(prefix="bench-floor-")) / "floor.sqlite3"
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(create.format(pk="INTEGER PRIMARY KEY"))
        for ddl in FLOOR_INDEXES:
            connection.execute(ddl)
        connection.executemany(
            f"INSERT INTO floor_lines ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            rows,
        )
        connection.commit()
        connection.close()
        path.unlink()
    return {"seconds": time.perf_counter() - started, "note": f"{len(frame):,} rows"}


def step_rules(url: str) -> dict:
    import sqlalchemy as sa

    from workbench import create_app
    from workbench.audit.operations import Actor, acting_as
    from workbench.auth.models import User
    from workbench.extensions import db
    from workbench.matching.operations import map_group
    from workbench.rules.frames import load_frames
    from workbench.rules.models import Anomaly, RuleRun
    from workbench.rules.operations import _tables_for, effective_rules, run_rules

    app = create_app({"DATABASE_URL": url})
    out: dict = {}
    with app.app_context(), acting_as(Actor(email="bench", role="system")):
        session = db.session
        started = time.perf_counter()
        frames = load_frames(session, _tables_for(effective_rules(session).values()))
        out["load"] = time.perf_counter() - started
        del frames
        session.rollback()
        first = run_rules(session)
        session.commit()
        out["first"] = first.duration
        out["first_note"] = f"{first.total('opened'):,} anomalies opened"
        again = run_rules(session)
        session.commit()
        out["again"] = again.duration
        out["again_note"] = f"{again.total('opened')} opened, {again.total('closed')} closed"
        # one article group (the median by lines) mapped region-wide by the administrator
        admin = session.scalar(sa.select(User).where(User.email == "admin@region.example"))
        groups = session.execute(
            sa.select(Anomaly.group_key, sa.func.count())
            .where(
                Anomaly.rule_code == "ARTICLE_UNMAPPED",
                Anomaly.status == "open",
                Anomaly.group_key.like("ref:%"),
            )
            .group_by(Anomaly.group_key)
            .order_by(sa.func.count())
        ).all()
        key, lines = groups[len(groups) // 2]
        code = session.execute(
            sa.text("SELECT code FROM nomenclature_items WHERE is_active ORDER BY code LIMIT 1")
        ).scalar()
        started = time.perf_counter()
        result = map_group(session, admin, key, code, all_sites=True)
        session.commit()
        out["mapped"] = time.perf_counter() - started
        run = session.scalar(sa.select(RuleRun).order_by(RuleRun.id.desc()).limit(1))
        out["recheck"] = run.duration_seconds
        out["mapped_note"] = f"{len(result.line_ids):,} lines of {key[:40]}, {run.closed} closed"
    return out


def step_pages(url: str) -> dict:
    from bench.bench_pages import measure
    from workbench import create_app
    from workbench.service.heap import settle

    app = settle(create_app({"DATABASE_URL": url}))  # as `workbench serve` builds it
    return {"rows": measure(app, int(os.environ.get("BENCH_REPEAT", "10")))}


def step_export(url: str) -> dict:
    from bench.bench_export import measure
    from bench.bench_pages import ACCOUNTS
    from bench.common import login
    from workbench import create_app
    from workbench.extensions import db

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        client = app.test_client()
        login(client, ACCOUNTS["admin"], str(app.config.get("DEMO_PASSWORD") or "demo-workbench"))
        return measure(db.session, url, client)


def step_crowd(url: str, copy: str, anomalies: str) -> dict:
    """The regional database (``url``) with its anomalies multiplied up to ``anomalies``
    (:mod:`bench.inflate_anomalies`, the last copy cut): the pages at the issue's two million
    anomalies. SQLite: in a copy, ``copy``; PostgreSQL (``copy`` is ``url``): in place."""
    import math
    import sqlite3

    import sqlalchemy as sa

    from bench.inflate_anomalies import inflate

    if copy != url:
        source, target = url.removeprefix("sqlite:///"), copy.removeprefix("sqlite:///")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)  # the WAL's pages too
    engine = sa.create_engine(copy)
    with engine.connect() as connection:
        present = connection.exec_driver_sql("SELECT count(*) FROM anomalies").scalar() or 0
    engine.dispose()
    copies = max(1, math.ceil(int(anomalies) / max(present, 1)) - 1)
    started = time.perf_counter()
    total = inflate(copy, copies, int(anomalies))  # the last copy cut at that many
    return {"anomalies": total, "seconds": time.perf_counter() - started}


STEPS = {
    "crowd": step_crowd,
    "import": step_import,
    "reimport": step_reimport,
    "floor": step_floor,
    "rules": step_rules,
    "pages": step_pages,
    "export": step_export,
}


def child(step: str, *args: str) -> tuple[dict, float]:
    seconds, rss, stdout = run_measured([PYTHON, str(HERE), "--step", step, *args], {})
    return json.loads(stdout.strip().splitlines()[-1]), rss


# -- the table ----------------------------------------------------------------------------------
def regional_rows(name: str, url: str, lines: int, crowded: str) -> list[list[str]]:
    """The regional demo of ``lines`` lines loaded into ``url`` (PostgreSQL: emptied first),
    then on it: the rule runs, every page of every role, the export; and the pages again at
    the issue's two million anomalies (SQLite: a copy, ``crowded``; PostgreSQL: in place, last)."""
    from bench.bench_export import rows as export_rows

    if url.startswith("postgresql"):
        _reset_postgres(url)
    env = {"WORKBENCH_DATABASE_URL": url}
    run_measured([WORKBENCH, "db", "upgrade"], env)
    seconds, rss, _ = run_measured(
        [WORKBENCH, "demo", "--size", "regional", "--lines", str(lines), "--no-rules"], env
    )
    rows = [
        [
            f"regional demo load {name} ({lines:,} lines, no rules)",
            f"{seconds:.0f} s",
            "",
            f"{rss:.0f}",
            "",
        ]
    ]
    rules, rss = child("rules", url)
    load = rules["load"]
    rows += [
        [f"rules {name}: table load into pandas", f"{load:.1f} s", "", "", ""],
        [
            f"rules {name}: first run ({rules['first_note']})",
            f"{rules['first']:.1f} s",
            f"{rules['first'] / load:.1f}× load (≤ 3)",
            f"{rss:.0f}",
            "ok" if rules["first"] <= 3 * load else "NO",
        ],
        [
            f"rules {name}: nothing changed ({rules['again_note']})",
            f"{rules['again']:.1f} s",
            f"{rules['again'] / load:.1f}× load (≤ 1.5)",
            "",
            "ok" if rules["again"] <= 1.5 * load else "NO",
        ],
        [
            f"re-check {name} after mapping a group ({rules['mapped_note']})",
            f"{rules['recheck']:.2f} s",
            f"≤ 1 s (whole mapping {rules['mapped']:.2f} s)",
            "",
            "ok" if rules["recheck"] <= 1 else "NO",
        ],
    ]
    print(table(["step", "time", "ratio / target", "peak RSS MB", ""], rows), flush=True)
    _vacuum_postgres(url)
    rows.append(_pages_row(f"pages {name}, p95 of every role's", *child("pages", url)))
    exported, _ = child("export", url)
    rows += [[f"{name}: {row[0]}", *row[1:]] for row in export_rows(exported)]
    crowd = int(os.environ.get("BENCH_ANOMALIES", "2000000" if lines >= 1_000_000 else "0"))
    if crowd:  # every page again, at the two million anomalies
        target = url if url.startswith("postgresql") else crowded
        made, _ = child("crowd", url, target, str(crowd))
        label = (
            f"pages {name} at {made['anomalies']:,} anomalies ({made['seconds']:.0f} s to multiply)"
        )
        _vacuum_postgres(target)
        rows.append(_pages_row(label, *child("pages", target)))
    print(table(["step", "time", "ratio / target", "peak RSS MB", ""], rows), flush=True)
    return rows


def _pages_row(label: str, pages: dict, rss: float) -> list[str]:
    """The pages' table printed, summed up in one row of the main table."""
    print(table(["role", "page", "status", "p50 ms", "p95 ms", "target", ""], pages["rows"]))
    late = [r for r in pages["rows"] if r[-1] != "ok"]
    return [
        f"{label} ({len(pages['rows'])} pages, list above)",
        f"{len(pages['rows']) - len(late)} met",
        "≤ 300 ms (indicators ≤ 500 ms)",
        f"{rss:.0f}",
        "ok" if not late else f"NO ({len(late)} over)",
    ]


def main() -> None:
    from bench.bench_import import generate

    lines = int(os.environ.get("BENCH_LINES", "100000"))
    postgres = os.environ.get("BENCH_POSTGRES_URL")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        csv_path = Path(tmp) / "achats.csv"
        generate(csv_path, lines)
        print(f"file: {lines:,} lines, {csv_path.stat().st_size / 1e6:.0f} MB", flush=True)
        changed = changed_copy(csv_path)
        databases = [("SQLite", f"sqlite:///{tmp}/import.sqlite3")]
        if postgres:
            databases.append(("PostgreSQL", postgres))
        for name, url in databases:
            floor, floor_rss = child("floor", url, str(csv_path))
            done, rss = child("import", url, str(csv_path))
            ratio = done["seconds"] / floor["seconds"]
            rows.append([f"floor {name}", f"{floor['seconds']:.1f} s", "", f"{floor_rss:.0f}", ""])
            rows.append(
                [
                    f"import + re-check {name} ({done['note']})",
                    f"{done['seconds']:.1f} s",
                    f"{ratio:.1f}× floor (≤ 4)",
                    f"{rss:.0f} (≤ 1024)",
                    "ok" if ratio <= 4 and rss <= 1024 else "NO",
                ]
            )
            again, again_rss = child("reimport", url, str(changed))
            rows.append(
                [
                    f"re-import, 1 % changed, {name} ({again['note']})",
                    f"{again['seconds']:.1f} s",
                    f"{again['seconds'] / floor['seconds']:.1f}× floor",
                    f"{again_rss:.0f} (≤ 1024)",
                    "ok" if again_rss <= 1024 else "NO",
                ]
            )
            print(
                table(["step", "time", "ratio / target", "peak RSS MB", ""], rows[-3:]), flush=True
            )

        regionals = [("SQLite", f"sqlite:///{tmp}/regional.sqlite3")]
        if postgres:
            regionals.append(("PostgreSQL", postgres))
        for name, url in regionals:
            rows += regional_rows(name, url, lines, f"sqlite:///{tmp}/crowded.sqlite3")
        print(table(["step", "time", "ratio / target", "peak RSS MB", ""], rows), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--step":
        import logging

        logging.disable(logging.INFO)
        print(json.dumps(STEPS[sys.argv[2]](*sys.argv[3:])))
    else:
        main()
