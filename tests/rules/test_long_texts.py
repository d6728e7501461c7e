"""Rule runs over records whose texts fill their columns: every anomaly is written.

On PostgreSQL ``group_key`` is 300 characters and a b-tree entry (the covering indexes hold the
group key and the value) at most 2,704 bytes: a label of 500 characters without reference made
a group key of 504, and the whole run — an import's re-check — failed.
"""

from __future__ import annotations

import random

import pandas as pd
import sqlalchemy as sa

from workbench.rules.models import Anomaly
from workbench.rules.operations import run_rules
from workbench.rules.operations.run import GROUP_KEY_MAX, VALUE_MAX, bounded_texts


def _wide(seed: int, size: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("éàçûœ€𝄞漢字ABCxyz") for _ in range(size))


def test_a_run_over_texts_that_fill_their_columns_writes_every_anomaly(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    supplier = make.supplier()
    label = _wide(7, 500)
    lines = [
        make.purchase_line(site, label=label, reference=None, nomenclature_code=None),
        make.purchase_line(site, label=label[:-1] + "Z", reference=None, nomenclature_code=None),
        make.purchase_line(
            site, label=label[::-1], reference=_wide(8, 100), supplier=supplier,
            nomenclature_code="ZZZ",
        ),
    ]  # fmt: skip
    session.flush()
    run_rules(session)
    session.flush()
    rows = session.execute(
        sa.select(Anomaly.record_id, Anomaly.group_key, Anomaly.value).where(
            Anomaly.rule_code == "ARTICLE_UNMAPPED",
            Anomaly.record_id.in_([line.id for line in lines]),
        )
    ).all()
    keys = {record_id: group_key for record_id, group_key, _ in rows}
    assert set(keys) == {lines[0].id, lines[1].id}
    assert all(len(k) <= GROUP_KEY_MAX for k in keys.values())
    # two labels that differ only past the cut stay two groups
    assert keys[lines[0].id] != keys[lines[1].id]
    assert keys[lines[0].id].startswith("lbl:" + label.upper()[:100])


def test_bounded_texts_keep_short_ones_and_cut_long_ones() -> None:
    found = pd.DataFrame(
        {
            "group_key": ["ref:1|A", None, "lbl:" + "x" * 600, "lbl:" + "x" * 599 + "y"],
            "value": ["1,20", 3.5, None, "v" * 1_000],
        }
    )
    out = bounded_texts(found.copy())
    assert out["group_key"].tolist()[:2] == ["ref:1|A", None]
    assert out["value"].tolist()[:3] == ["1,20", 3.5, None]
    long_keys = out["group_key"].tolist()[2:]
    assert all(len(k) == GROUP_KEY_MAX for k in long_keys) and long_keys[0] != long_keys[1]
    assert out["value"].iloc[3] == "v" * (VALUE_MAX - 1) + "…"


def test_the_widest_bounded_texts_fit_the_indexes(session) -> None:  # type: ignore[no-untyped-def]
    """Four-byte characters everywhere, at random (nothing to compress), every text at its
    bound: the row is written (on PostgreSQL its covering index entries stay below 2,704
    bytes)."""
    rng = random.Random(3)

    def wide(size: int) -> str:  # mathematical letters: four bytes each in UTF-8
        return "".join(chr(0x1D400 + rng.randrange(1_000)) for _ in range(size))

    session.connection().execute(
        sa.insert(Anomaly.__table__).values(
            rule_code="R" * 40, record_kind="purchase_line", record_id=-1, field=wide(60),
            severity="warning", status="open", owner_role="canteen", message=wide(5_000),
            value=wide(VALUE_MAX - 1) + "…", group_key=wide(GROUP_KEY_MAX), site_id=None,
            first_seen_at=sa.func.now(), last_seen_at=sa.func.now(), version=1,
        )
    )  # fmt: skip
    assert session.scalar(sa.select(sa.func.count()).where(Anomaly.record_id == -1)) == 1
