"""Big files are checked then written chunk by chunk (two passes); tiny chunks show it here."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from tests.imports.conftest import SIRET, UAI, purchases
from workbench.imports.operations import import_file
from workbench.records.keys import purchase_line_keys
from workbench.records.models import PurchaseLine


def line(n: int, reference: str = "R", amount: str = "1") -> str:
    return f"{UAI};2026-03-02;{SIRET};F;{reference};LIB {n};1;kg;{amount};AUTRES;;;"


def count(session) -> int:
    return session.scalar(sa.select(sa.func.count(PurchaseLine.id)))


def test_errors_in_several_chunks_are_all_reported_with_their_rows_and_nothing_is_written(
    session, sites, write
):
    rows = [line(n, f"R{n}") for n in range(12)]
    rows[1] = rows[1].replace("2026-03-02", "2026-13-02")  # row 3, first chunk
    rows[6] = rows[6].replace(";1;kg;", ";abc;kg;")  # row 8, third chunk
    rows[11] = rows[11].replace(";AUTRES;", ";NOPE;")  # row 13, last chunk
    result = import_file(session, "purchases", write("a.csv", purchases(*rows)), chunk_rows=3)
    assert result.status == "rejected"
    assert sorted(p["row"] for p in result.report.problems) == [3, 8, 13]
    assert result.batch.row_count == 12
    assert count(session) == 0


def test_partial_import_by_chunks_writes_the_valid_rows_of_every_chunk(session, sites, write):
    rows = [line(n, f"R{n}") for n in range(10)]
    rows[4] = rows[4].replace(";1;kg;", ";-1;kg;")  # row 6
    result = import_file(
        session, "purchases", write("a.csv", purchases(*rows)), chunk_rows=3, partial=True
    )
    assert result.status == "applied" and result.counts.inserted == 9
    stored = session.scalars(sa.select(PurchaseLine.source_row).order_by("source_row")).all()
    assert stored == [r for r in range(2, 12) if r != 6]


def test_keys_of_a_chunked_import_equal_the_whole_file_keys_and_re_import_updates(
    session, sites, write
):
    # the same article bought 7 times the same day: occurrences 1..7 across 3 chunks
    rows = [line(n, "SAME", amount=str(n + 1)) for n in range(7)]
    import_file(session, "purchases", write("v1.csv", purchases(*rows)), chunk_rows=3)
    stored = session.execute(
        sa.select(PurchaseLine.line_key, PurchaseLine.source_row).order_by(PurchaseLine.source_row)
    ).all()
    expected = purchase_line_keys(
        pd.DataFrame(
            {
                "uai": [UAI] * 7,
                "line_date": [pd.Timestamp("2026-03-02")] * 7,
                "supplier_siret": [SIRET] * 7,
                "reference": ["SAME"] * 7,
                "label": [f"LIB {n}" for n in range(7)],
            }
        )
    ).tolist()
    assert [key for key, _ in stored] == expected

    rows[5] = line(5, "SAME", amount="99")  # row 7 changes, in the second chunk
    result = import_file(
        session, "purchases", write("v2.csv", purchases(*rows, line(7, "NEW"))), chunk_rows=2
    )
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (1, 1, 6)
    assert count(session) == 8
