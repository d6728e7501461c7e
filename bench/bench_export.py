"""The purchase CSV export as users get it, against pandas ``to_csv`` of the same rows.

Measured over a loaded database (``bench_scale`` runs it on the regional demo, and
``tests/indicators/bench_indicators.py`` on its own): the streamed route ``/exports/achats.csv``
with a logged-in administrator, the command ``workbench export purchases`` in a child process
(its peak RSS, for every line and for one lycée: flat memory means the same), against the floor,
pandas ``to_csv`` of the same rows already in memory (their ``read_sql`` is printed, not counted).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa

from bench.common import WORKBENCH, run_measured

#: Peak RSS the whole export may take above a one-lycée export ("flat memory").
FLAT_MB = 100


def _cli_export(url: str, args: list[str]) -> tuple[float, float, int]:
    """``workbench export purchases`` in a child process: (seconds, peak RSS MB, rows)."""
    out = tempfile.mktemp(suffix=".csv")
    seconds, rss, stdout = run_measured(
        [WORKBENCH, "export", "purchases", "-o", out, *args], {"WORKBENCH_DATABASE_URL": url}
    )
    rows = int(stdout.strip().split()[-5]) if stdout.strip() else -1
    os.unlink(out)
    return seconds, rss, rows


def measure(session: Any, url: str, client: Any) -> dict[str, Any]:
    """The export's figures (``client``: logged in with the right to export every line)."""
    from workbench.exports import queries as export_queries
    from workbench.reference.models import Site

    start = time.perf_counter()
    response = client.get("/exports/achats.csv")
    size = sum(len(chunk) for chunk in response.response)
    response.close()
    route = time.perf_counter() - start
    cli, cli_rss, count = _cli_export(url, [])
    uai = session.scalar(sa.select(Site.uai).order_by(Site.id).limit(1))
    small, small_rss, small_count = _cli_export(url, ["--site", uai])
    started = time.perf_counter()
    stmt = (
        sa.select(*export_queries.CANONICAL_SELECT)
        .join(export_queries.Site, export_queries.Site.id == export_queries.PurchaseLine.site_id)
        .order_by(export_queries.PurchaseLine.id)
    )
    frame = pd.read_sql(stmt, session.connection())
    read = time.perf_counter() - started
    out = tempfile.mktemp(suffix=".csv")
    started = time.perf_counter()
    frame.to_csv(out, index=False)
    floor = time.perf_counter() - started
    os.unlink(out)
    del frame
    session.rollback()
    return {
        "route": route,
        "size": size,
        "cli": cli,
        "cli_rss": cli_rss,
        "count": count,
        "uai": uai,
        "small": small,
        "small_rss": small_rss,
        "small_count": small_count,
        "read": read,
        "floor": floor,
    }


def rows(figures: dict[str, Any]) -> list[list[str]]:
    """Table rows (measure, time, ratio / target, peak RSS MB, verdict)."""
    f = figures
    floor = f["floor"]

    def judged(seconds: float) -> list[str]:
        return [f"{seconds / floor:.2f}× floor (≤ 2)", "ok" if seconds <= 2 * floor else "NO"]

    flat = f["cli_rss"] - f["small_rss"]  # flat: every line costs what one lycée costs
    route_ratio, route_ok = judged(f["route"])
    cli_ratio, cli_ok = judged(f["cli"])
    return [
        [f"export: pandas read_sql of the {f['count']:,} rows (not in the floor)",
         f"{f['read']:.1f} s", "", "", ""],
        ["export floor: pandas to_csv of the same rows, in memory", f"{floor:.1f} s", "", "", ""],
        [f"GET /exports/achats.csv ({f['size'] / 1e6:.0f} MB streamed)", f"{f['route']:.1f} s",
         route_ratio, "", route_ok],
        [f"workbench export purchases ({f['count']:,} lines)", f"{f['cli']:.1f} s", cli_ratio,
         f"{f['cli_rss']:.0f}", cli_ok],
        [f"workbench export purchases --site {f['uai']} ({f['small_count']:,} lines)",
         f"{f['small']:.1f} s", f"{flat:+.0f} MB for all lines (flat: ≤ +{FLAT_MB})",
         f"{f['small_rss']:.0f}", "ok" if flat <= FLAT_MB else "NO"],
    ]  # fmt: skip
