"""Indicator pages and CSV export at scale (not collected by pytest).

    .venv/bin/python tests/indicators/bench_indicators.py [LINES] [DATABASE_URL]

Builds LINES purchase lines (default 1,000,000) over 115 lycées and two years in a fresh
database, 1 % of them under an open blocking anomaly, then prints p50/p95 of the EGalim and
SPASER pages (logged-in client, cache cold then warm), the aggregate alone, and the canonical
CSV export against pandas ``to_csv`` of the same rows.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
URL = sys.argv[2] if len(sys.argv) > 2 else "sqlite:///" + os.path.join(tempfile.mkdtemp(), "b.db")


def main() -> None:
    from flask_migrate import upgrade

    from workbench import create_app
    from workbench.extensions import db

    if URL.startswith("postgresql"):
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


def bench(app, db) -> None:  # type: ignore[no-untyped-def]
    from workbench.exports import purchases
    from workbench.exports import queries as export_queries
    from workbench.indicators import queries, reports, summary
    from workbench.indicators.queries import Filters

    session = db.session
    if not os.environ.get("BENCH_SKIP_LIVE"):
        session.execute(sa.delete(summary.TABLE))
        session.commit()
        live = _times(lambda: queries.egalim_aggregate(session, None, Filters(year=2025), "53"), 1)
        print(f"EGalim figures summed live from the lines (one year): {live[0]:.1f} s")
        start = time.perf_counter()
        summary.rebuild_all(session, "53")
        session.commit()
        print(f"summary full rebuild: {time.perf_counter() - start:.1f} s")
    ids = session.execute(sa.text("SELECT id FROM purchase_lines WHERE id % 9973 = 1")).scalars()
    ids = ids.all()[:10]
    upd = _times(lambda: summary.on_records_changed(session, "purchase_line", ids), 3)
    session.rollback()
    print(f"summary update after a change of {len(ids)} lines: p50 {upd[0] * 1000:.0f} ms")
    warm = _times(lambda: queries.egalim_aggregate(session, None, Filters(year=2025), "53"), 5)
    print(
        f"EGalim aggregate from the summary: p50 {warm[0] * 1000:.0f} ms, max {warm[1] * 1000:.0f} ms"
    )
    client = app.test_client()
    token_page = client.get("/connexion").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page).group(1)
    client.post(
        "/connexion",
        data={"email": "admin@bench", "password": "motdepasse-bench", "csrf_token": token},
    )
    reports.clear_cache()
    reports.CACHE_SECONDS = 0  # every view computes its figures (no cache): the worst case
    for url in ("/indicateurs?annee=2025", "/indicateurs/marches?annee=2025"):
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        first = time.perf_counter() - start
        p50, p95 = _times(lambda url=url: client.get(url), 10)
        print(
            f"{url}: first (cold) {first * 1000:.0f} ms; then p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        )

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tempfile.mktemp(suffix=".csv")
    start = time.perf_counter()
    with open(out, "w", encoding="utf-8", newline="") as handle:
        count = purchases.write_csv(
            handle,
            purchases.CANONICAL_COLUMNS,
            map(purchases.canonical_row, export_queries.canonical_rows(session, None)),
        )
    export_s = time.perf_counter() - start
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    read_s = time.perf_counter()
    frame = pd.read_sql(
        sa.select(*export_queries.CANONICAL_SELECT).join(
            export_queries.Site, export_queries.Site.id == export_queries.PurchaseLine.site_id
        ),
        session.connection(),
    )
    read_s = time.perf_counter() - read_s
    start = time.perf_counter()
    frame.to_csv(out + ".pandas", index=False)
    pandas_s = time.perf_counter() - start
    print(f"pandas read_sql of the same rows: {read_s:.1f} s")
    print(
        f"CSV export of {count:,} lines: {export_s:.1f} s (peak RSS +{(rss1 - rss0) / 1024:.0f} MB); "
        f"pandas to_csv of the same rows (already in memory): {pandas_s:.1f} s; ratio {export_s / pandas_s:.2f}"
    )


if __name__ == "__main__":
    main()
