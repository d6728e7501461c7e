"""Indicator pages and CSV export at scale (not collected by pytest).

    .venv/bin/python tests/indicators/bench_indicators.py [LINES] [DATABASE_URL]

Builds LINES purchase lines (default 1,000,000) over 115 lycées and two years in a fresh
database, 1 % of them under an open blocking anomaly, then prints a table with the targets:
p50/p95 of the EGalim page (filters: none, lycée, direction, family, year to date, supplier)
and of the SPASER page, **uncached** (the page figures cache is cleared before every request:
what the first visitor after a change gets); the purchase CSV export through the real route
(streamed) and the real command (child process, with its peak RSS, for every line and for one
lycée), against the floor: pandas ``to_csv`` of the same rows already in memory.

An existing database (e.g. a copy of the regional demo, upgraded)::

    BENCH_REUSE=1 BENCH_SKIP_LIVE=1 BENCH_EMAIL=admin@region.example \\
    BENCH_PASSWORD=demo-workbench .venv/bin/python tests/indicators/bench_indicators.py 0 URL

``BENCH_RUNS`` (requests per page, default 20), ``BENCH_YEAR`` (default: the current year if it
has lines, else the latest).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import sqlalchemy as sa

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
URL = sys.argv[2] if len(sys.argv) > 2 else "sqlite:///" + os.path.join(tempfile.mkdtemp(), "b.db")


def main() -> None:
    from flask_migrate import upgrade

    from workbench import create_app
    from workbench.extensions import db

    if URL.startswith("postgresql") and not os.environ.get("BENCH_REUSE"):
        engine = sa.create_engine(URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"ENV": "development", "DATABASE_URL": URL, "SECRET_KEY": "bench"})
    with app.app_context():
        if not os.environ.get("BENCH_REUSE"):  # BENCH_REUSE=1: the database is already loaded
            upgrade()
            load(db)
        bench(app, db)


def load(db) -> None:  # type: ignore[no-untyped-def]
    from workbench.demo import factories

    rng = np.random.default_rng(1)
    session = db.session
    sites = [factories.make_site(session, uai=f"{i:07d}B", name=f"Lycée {i}") for i in range(115)]
    suppliers = [
        factories.make_supplier(session, siret=f"{55204599900000 + i}", commune_code="35238")
        for i in range(200)
    ]
    factories.make_user(session, email="admin@bench", role="admin", password="motdepasse-bench")
    for i in range(300):
        factories.make_contract(session, contract_id=f"C{i}", amount=float(1000 + i))
    from workbench.audit.operations import Actor, acting_as, record

    with acting_as(Actor(id=None, email="bench", role="admin")):
        record(session, "bench.reference", target_kind="bench", target_id=0)
    session.commit()
    start = time.perf_counter()
    labels = np.array(["", "", "BIO", "LABEL_ROUGE,BIO", "HVE", "IGP", "", "FERMIER,HVE", "LOCAL"])
    families = np.array(
        ["VIANDES_VOLAILLES", "PRODUITS_LAITIERS", "FRUITS_ET_LEGUMES", "AUTRES", "BOISSONS"]
    )
    base = dt.date(2025, 1, 1).toordinal()
    table = sa.table(
        "purchase_lines",
        *[
            sa.column(c)
            for c in (
                "line_key", "site_id", "line_date", "supplier_id", "supplier_siret", "label",
                "amount_ht", "family", "labels", "origin", "is_local", "version",
            )
        ],
    )  # fmt: skip
    chunk = 100_000
    for offset in range(0, LINES, chunk):
        n = min(chunk, LINES - offset)
        site = rng.integers(0, len(sites), n)
        sup = rng.integers(0, len(suppliers), n)
        days = rng.integers(0, 730, n)
        lab = rng.integers(0, len(labels), n)
        fam = rng.integers(0, len(families), n)
        amount = np.round(rng.gamma(2, 40, n), 2)
        rows = [
            {
                "line_key": f"k{offset + i}",
                "site_id": sites[site[i]].id,
                "line_date": dt.date.fromordinal(base + int(days[i])),
                "supplier_id": suppliers[sup[i]].id,
                "supplier_siret": suppliers[sup[i]].siret,
                "label": "ARTICLE",
                "amount_ht": float(amount[i]),
                "family": families[fam[i]],
                "labels": labels[lab[i]],
                "origin": "FRANCE" if i % 3 == 0 else None,
                "is_local": bool(lab[i] == 8),
                "version": 1,
            }
            for i in range(n)
        ]
        session.execute(sa.insert(table), rows)
    blocked = (
        session.execute(sa.text("SELECT id FROM purchase_lines WHERE id % 100 = 7")).scalars().all()
    )
    anomalies = sa.table(
        "anomalies",
        *[
            sa.column(c)
            for c in (
                "rule_code", "record_kind", "record_id", "field", "severity", "status",
                "owner_role", "message", "first_seen_at", "last_seen_at", "version",
            )
        ],
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    session.execute(
        sa.insert(anomalies),
        [
            {
                "rule_code": "PURCHASE_AMOUNT_INVALID", "record_kind": "purchase_line",
                "record_id": i, "field": "amount_ht", "severity": "blocking", "status": "open",
                "owner_role": "canteen", "message": "x", "first_seen_at": now,
                "last_seen_at": now, "version": 1,
            }
            for i in blocked
        ],
    )  # fmt: skip
    from workbench.audit.operations import Actor, acting_as, record

    with acting_as(Actor(id=None, email="bench", role="admin")):
        record(session, "bench.loaded", target_kind="bench", target_id=0, after={"lines": LINES})
    session.commit()
    if URL.startswith("postgresql"):
        session.execute(sa.text("ANALYZE"))
        session.commit()
    print(
        f"loaded {LINES:,} lines, {len(blocked):,} blocking anomalies in {time.perf_counter() - start:.0f} s"
    )


def _times(call, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def _login(client) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from bench.common import login

    login(
        client,
        os.environ.get("BENCH_EMAIL", "admin@bench"),
        os.environ.get("BENCH_PASSWORD", "motdepasse-bench"),
    )


def _uncached(client, url: str, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50/p95 of ``url`` with the page figures cache cleared before every request."""
    from workbench.indicators import reports

    def call() -> None:
        reports.clear_cache()
        assert client.get(url).status_code == 200, url

    call()  # warm the process (imports, templates), not the figures
    return _times(call, runs)


def bench(app, db) -> None:  # type: ignore[no-untyped-def]
    from workbench.indicators import queries, reports, summary
    from workbench.indicators.queries import Filters
    from workbench.reference.models import Direction, Site, Supplier

    session = db.session
    runs = int(os.environ.get("BENCH_RUNS", "20"))
    years = queries.years_with_lines(session, None)
    year = int(os.environ.get("BENCH_YEAR") or reports.default_year(years))
    rows: list[list[str]] = []

    def ms(value: float) -> str:
        return f"{value * 1000:.0f} ms"

    if not os.environ.get("BENCH_SKIP_LIVE"):
        session.execute(sa.delete(summary.TABLE))
        session.commit()
        live = _times(lambda: queries.egalim_aggregate(session, None, Filters(year=year), "53"), 1)
        start = time.perf_counter()
        summary.rebuild_all(session, "53")
        session.commit()
        rows.append(["EGalim summed live from the lines (one year)", f"{live[0]:.1f} s", ""])
        rows.append(["summary full rebuild", f"{time.perf_counter() - start:.1f} s", ""])
    assert summary.ensure(session, "53"), (
        "the summary cannot serve: run workbench indicators refresh"
    )
    ids = session.execute(sa.text("SELECT id FROM purchase_lines WHERE id % 9973 = 1")).scalars()
    ids = ids.all()[:10]
    upd = _times(lambda: summary.on_records_changed(session, "purchase_line", ids), 3)
    session.rollback()
    rows.append([f"summary update after a change of {len(ids)} lines (p50)", ms(upd[0]), ""])

    client = app.test_client()
    _login(client)
    reports.CACHE_SECONDS = 0  # and the cache cleared before each request: the first visitor
    site = session.scalar(sa.select(Site.id).order_by(Site.id))
    direction = session.scalar(
        sa.select(Site.direction_code).where(Site.direction_code.is_not(None)).limit(1)
    ) or session.scalar(sa.select(Direction.code).limit(1))
    supplier = session.scalar(
        sa.text(
            "SELECT supplier_id FROM purchase_lines WHERE supplier_id IS NOT NULL "
            "GROUP BY supplier_id ORDER BY count(*) DESC LIMIT 1"
        )
    ) or session.scalar(sa.select(Supplier.id).limit(1))
    base = f"/indicateurs?annee={year}"
    pages = [
        (base, "≤ 500 ms"),
        (f"{base}&site={site}", "≤ 500 ms"),
        (f"{base}&direction={direction}", "≤ 500 ms"),
        (f"{base}&famille=VIANDES_VOLAILLES", "≤ 500 ms"),
        (f"{base}&periode=cumul", "≤ 500 ms"),
        (f"{base}&fournisseur={supplier}", "(live SQL)"),
        (f"/indicateurs/marches?annee={year}", "≤ 500 ms"),
    ]
    for url, target in pages:
        p50, p95 = _uncached(client, url, runs)
        ok = "" if not target.startswith("≤") else ("ok" if p95 <= 0.5 else "NO")
        rows.append([f"GET {url} uncached, p50 / p95", f"{ms(p50)} / {ms(p95)}", f"{target} {ok}"])

    # -- the purchase CSV export, as users get it, against pandas to_csv of the same rows
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from bench.bench_export import measure as measure_export
    from bench.bench_export import rows as export_rows

    exported = measure_export(session, URL, client)
    count = exported["count"]
    rows += [[r[0], r[1], f"{r[2]} {r[4]}".strip()] for r in export_rows(exported)]
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from bench.common import table

    print(f"\n{count:,} purchase lines, {URL.split(':')[0]}, year {year}, {runs} requests per page")
    print(table(["measure", "result", "target"], rows))


if __name__ == "__main__":
    main()
