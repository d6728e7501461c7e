"""The regional demo: 115 lycées, purchase lines streamed ten lycées at a time (bulk path)."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.demo.generate import generate_demo, generate_sites
from workbench.demo.load import load_demo
from workbench.records.models import PurchaseLine
from workbench.reference.models import Site


def test_the_region_has_115_distinct_lycees() -> None:
    sites = generate_sites(115)
    assert len(sites) == 115
    assert sites["uai"].is_unique and sites["siret"].is_unique and sites["name"].is_unique
    assert list(sites["name"][:10]) == list(generate_sites()["name"])


def test_regional_purchases_come_in_deterministic_slices() -> None:
    frames = generate_demo(seed=3, size="regional", lines=3_000)
    assert frames["purchases"].empty, "never the whole year in memory"
    first = list(frames["purchases"].attrs["slices"]())
    again = list(generate_demo(seed=3, size="regional", lines=3_000)["purchases"].attrs["slices"]())
    assert len(first) == 12  # 115 lycées, ten per slice
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    rows = [f["source_row"] for f in first]
    assert all(rows[i].min() > rows[i - 1].max() for i in range(1, len(rows)))
    assert sum(len(f) for f in first) >= 3_000
    assert len({uai for f in first for uai in f["uai"]}) > 100


def test_loading_the_regional_demo_streams_every_line(session) -> None:  # type: ignore[no-untyped-def]
    result = load_demo(session, seed=5, size="regional", lines=2_000)
    stored = session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine))
    assert stored == result.counts["purchase_lines"] >= 2_000
    assert session.scalar(sa.select(sa.func.count()).select_from(Site)) == 115
    keys = session.scalar(sa.select(sa.func.count(sa.distinct(PurchaseLine.line_key))))
    assert keys == stored
