"""Benchmark: p50 / p95 of every page per role, with a logged-in client, over the regional demo.

    .venv/bin/python bench/bench_pages.py            # builds a SQLite regional demo (BENCH_LINES)
    BENCH_DATABASE_URL=... .venv/bin/python bench/bench_pages.py   # an already loaded database

Environment: ``BENCH_LINES`` (purchase lines of the demo built, default 100,000),
``BENCH_REPEAT`` (requests per page, default 12; 3 at most for the indicator pages),
``BENCH_INDICATORS=0`` (skip the indicator pages, which are measured uncached: the page
figures cache is cleared before each of their requests), ``BENCH_QUEUES=0`` (skip the queue
views: both views of every queue, pages 1 and 2, each sort, filters), ``BENCH_ONLY`` (measure
only the pages whose address contains this text), ``BENCH_SETTLE=0`` (the application's heap
not settled, as a test process builds it: see :mod:`workbench.service.heap`), ``BENCH_DATABASE_URL`` (use that database as
is; it must hold the regional demo). Prints one row per (role, page) and the target (p95 ≤ 300 ms,
indicator pages ≤ 500 ms); exits 0 whatever the figures (it measures, it does not judge).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import build_regional, login, peak_rss_mb, table  # noqa: E402

ACCOUNTS = {
    "admin": "admin@region.example",
    "legal": "juridique@region.example",
    "direction": "direction.lycees@region.example",
    "canteen": "cantine.chateaubriand@region.example",
    "viewer": "observatoire@region.example",
}
PAGES = {
    "admin": [
        "/",
        "/articles",
        "/articles?page=2",
        "/articles?tri=lignes",
        "/articles?q=yaourt",
        "/files/matrix",
        "/files/purchases",
        "/files/suppliers",
        "/files/contracts",
        "/files/purchases?page=20",
        "/a-valider",
        "/regles/",
        "/indicateurs",
        "/indicateurs/qualite",
        "/indicateurs/marches",
    ],
    "legal": ["/", "/a-valider", "/files/contracts", "/regles/"],
    "direction": ["/", "/files/suppliers", "/files/contracts"],
    "canteen": [
        "/",
        "/articles",
        "/articles?page=2",
        "/articles?q=yaourt",
        "/files/matrix",
        "/files/purchases",
        "/files/purchases?tri=recent",
    ],
    "viewer": ["/", "/indicateurs"],
}
INDICATORS = ("/indicateurs",)

#: The anomaly queues each role opens (admin and legal read every queue).
ROLE_QUEUES = {
    "admin": ("articles", "matrix", "purchases", "suppliers", "contracts"),
    "legal": ("matrix", "contracts"),
    "direction": ("suppliers", "contracts"),
    "canteen": ("articles", "matrix", "purchases"),
}
#: One filter per queue the bench opens (rule, gravité, search), besides page 2 and the sorts.
QUEUE_FILTERS = {
    # searches: one that matches every article group (« ref » is in every reference key),
    # a precise one (most searches: a product), one that finds nothing
    "articles": ("gravite=warning", "q=ref", "q=yaourt", "q=zzz"),
    "matrix": ("regle=MATRIX_PRICE_GAP", "gravite=warning", "q=BIO"),
    "purchases": ("regle=PURCHASE_DUPLICATE", "gravite=blocking", "q=poulet"),
    "suppliers": ("gravite=warning", "q=sarl"),
    "contracts": ("gravite=warning", "q=restauration"),
}
LINE_SORTS = ("regle", "-gravite", "etat", "champ", "valeur", "-depuis")
#: A filter and a sort together (the form keeps a header's sort when filtering).
FILTERED_SORTS = ("gravite=warning&ordre=valeur", "etat=open&ordre=champ")
GROUP_SORTS = ("nombre", "anciens", "recents", "regle")


def queue_pages(role: str) -> list[str]:
    """Both views of every queue of ``role``: page 1 and 2, each sort, each filter."""
    pages: list[str] = []
    for queue in ROLE_QUEUES.get(role, ()):
        base = f"/files/{queue}"
        pages += [f"{base}?page=2", f"{base}?tri=recent"]
        pages += [f"{base}?ordre={s}" for s in LINE_SORTS]
        pages.append(f"{base}?ordre=valeur&page=2")
        pages += [f"{base}?{f}" for f in FILTERED_SORTS]
        pages += [f"{base}?{f}" for f in QUEUE_FILTERS.get(queue, ())]
        pages += [f"{base}?vue=groupes", f"{base}?vue=groupes&page=2"]
        pages += [f"{base}?vue=groupes&ordre={s}" for s in GROUP_SORTS[1:]]
        pages.append(f"{base}?vue=groupes&etat=open")
        pages += [f"{base}?vue=groupes&{f}" for f in QUEUE_FILTERS.get(queue, ())]
    return pages


def measure(app, repeat: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    from workbench.indicators import reports

    password = str(app.config.get("DEMO_PASSWORD") or "demo-workbench")
    rows = []
    for role, pages in PAGES.items():
        client = app.test_client()
        login(client, ACCOUNTS[role], password)
        if os.environ.get("BENCH_QUEUES") != "0":
            pages = [*pages, *(p for p in queue_pages(role) if p not in pages)]
        only = os.environ.get("BENCH_ONLY")
        for page in pages:
            if only and only not in page:
                continue
            indicator = page.startswith(INDICATORS)
            if indicator and os.environ.get("BENCH_INDICATORS") == "0":
                continue
            first = client.get(page)
            if first.status_code == 404:
                continue  # the page does not exist in this version
            timings = []
            for _ in range(min(repeat, 3) if indicator else repeat):
                if indicator:  # uncached: what the first visitor after a change gets
                    reports.clear_cache()
                started = time.perf_counter()
                response = client.get(page)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]
            target = 500 if page.startswith(INDICATORS) else 300
            rows.append(
                [
                    role,
                    page,
                    str(response.status_code),
                    f"{statistics.median(timings):.0f}",
                    f"{p95:.0f}",
                    f"≤ {target}",
                    "ok" if p95 <= target else "NO",
                ]
            )
    return rows


def main() -> None:
    repeat = int(os.environ.get("BENCH_REPEAT", "12"))
    url = os.environ.get("BENCH_DATABASE_URL")
    tmp = None
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="wb-bench-pages-")
        url = f"sqlite:///{tmp.name}/regional.sqlite3"
        lines = int(os.environ.get("BENCH_LINES", "100000"))
        seconds = build_regional(url, lines)
        print(f"regional demo, {lines:,} lines, loaded with its rules in {seconds:.0f} s")
    os.environ["WORKBENCH_DATABASE_URL"] = url
    from workbench import create_app
    from workbench.service.heap import settle

    app = create_app() if os.environ.get("BENCH_SETTLE") == "0" else settle(create_app())
    rows = measure(app, repeat)
    print(table(["role", "page", "status", "p50 ms", "p95 ms", "target", ""], rows))
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
