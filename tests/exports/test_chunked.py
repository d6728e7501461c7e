"""The canonical purchase export, written in chunks from the cursor: same bytes as row by row."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.exports.test_roundtrip import cli  # noqa: F401 - fixture
from workbench.exports import purchases, queries

ALL = queries.PurchaseFilter()
AWKWARD = (
    '=HYPERLINK("x")',
    "+33 1 23",
    "-moins",
    "@arobase",
    "\ttab",
    "\rretour",
    "'apostrophe",
    'guillemets "doubles", virgule',
    "ligne\nsuivante",
    "Pâté de campagne œuf",
    "",
)


@pytest.fixture
def lines(make, session):  # type: ignore[no-untyped-def]
    site = make.site(uai="0350001A")
    other = make.site(uai="0350002B")
    supplier = make.supplier(siret="55204599900869", name="=Fournisseur")
    for i, text in enumerate(AWKWARD):
        make.purchase_line(
            site if i % 3 else other,
            label=text or "LIBELLE",
            reference=text or None,
            unit=text[:20] or None,
            origin=text[:50] or None,
            nomenclature_code=text[:30] or None,
            supplier=supplier if i % 2 else None,
            quantity=(None, 3.0, 2.5, 0.1, 1e16, 0.0)[i % 6],
            amount_ht=(120.0, -50.0, 0.1, 1234567.89, 2.675, 0.0)[i % 6] if i != 4 else None,
            family="AUTRES" if i % 4 else None,
            labels="BIO,FRANCE" if i % 2 else "",
            line_date=dt.date(2025 + i % 2, 1 + i % 12, 1 + i),
        )
    return site


def _row_by_row(session, user=None, filt=ALL, bom=True) -> str:  # type: ignore[no-untyped-def]
    rows = map(purchases.canonical_row, queries.canonical_rows(session, user, filt))
    return "".join(purchases.csv_chunks(purchases.CANONICAL_COLUMNS, rows, bom=bom))


def _chunked(session, size: int, user=None, filt=ALL, bom=True) -> str:  # type: ignore[no-untyped-def]
    chunks = queries.canonical_chunks(session, user, filt, size=size)
    return "".join(purchases.canonical_csv(chunks, bom=bom))


def test_small_chunks_write_the_same_bytes_as_one_chunk_and_as_row_by_row(lines, session):
    reference = _row_by_row(session)
    assert reference.count("\n") > len(AWKWARD)  # header, rows, and a newline inside a cell
    assert _chunked(session, size=1_000_000) == reference
    for size in (1, 2, 3, 7):
        assert _chunked(session, size=size) == reference


def test_filters_and_scope_give_the_same_bytes(lines, session, make):
    canteen = make.user(role="canteen", sites=[lines])
    for filt in (
        queries.PurchaseFilter(year=2025),
        queries.PurchaseFilter(site_id=lines.id),
        queries.PurchaseFilter(year=2026, site_id=lines.id),
    ):
        assert _chunked(session, 2, filt=filt) == _row_by_row(session, filt=filt)
    assert _chunked(session, 2, user=canteen) == _row_by_row(session, user=canteen)


def test_the_route_and_the_command_write_those_bytes(
    lines,
    session,
    client,
    login_as,
    cli,  # noqa: F811
    tmp_path,
):
    expected = _row_by_row(session, bom=False)
    path = tmp_path / "achats.csv"
    cli("export", "purchases", "-o", str(path))
    assert path.read_bytes() == expected.encode("utf-8")
    login_as("admin")
    body = client.get("/exports/achats.csv").get_data(as_text=True)
    assert body == "\ufeff" + expected


def _exported(session, user=None, filt=ALL, bom=True) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    export = queries.CanonicalExport(session, user, filt, bom=bom)
    return b"".join(export), export.rows


def test_the_export_writes_those_bytes_and_counts_its_rows(lines, session, make):
    """On PostgreSQL the server writes the rows (``COPY``): the same bytes as :mod:`csv`."""
    on_postgres = session.connection().dialect.name == "postgresql"
    assert queries.copy_applies(session, None, ALL) is on_postgres
    canteen = make.user(role="canteen", sites=[lines])
    for user, filt in (
        (None, ALL),
        (None, queries.PurchaseFilter(year=2025)),
        (None, queries.PurchaseFilter(year=2026, site_id=lines.id)),
        (canteen, ALL),
    ):
        body, rows = _exported(session, user, filt, bom=False)
        expected = _row_by_row(session, user, filt, bom=False)
        assert body == expected.encode("utf-8")
        assert rows == len(list(queries.canonical_rows(session, user, filt))) > 0
    body, rows = _exported(session)
    assert body.startswith("\ufeff".encode()) and rows == len(AWKWARD)
    # a line break inside a cell stays as it is; only the rows end with \r\n
    assert b"ligne\nsuivante" in body and b"ligne\r\nsuivante" not in body


@pytest.mark.parametrize("quantity", [1e15 + 0.5, 1e19, float("inf")])
def test_a_quantity_postgresql_would_write_otherwise_is_written_by_python(
    lines, session, make, quantity
):
    """PostgreSQL writes ``1.0000000000000005e+15`` where ``repr`` writes
    ``1000000000000000.5``: one such quantity in scope, and :mod:`csv` writes the export."""
    other = make.site(uai="0350009Z")
    make.purchase_line(other, label="ENORME", quantity=quantity)
    expected = _row_by_row(session, bom=False)
    assert queries.copy_applies(session, None, ALL) is False
    assert queries.copy_applies(session, None, queries.PurchaseFilter(site_id=lines.id)) is (
        session.connection().dialect.name == "postgresql"
    )
    assert _exported(session, bom=False)[0] == expected.encode("utf-8")


def test_each_number_is_formatted_as_alone_whatever_came_before(monkeypatch):
    """Numbers are formatted once each (a bounded memo): a repeat, a zero of either sign, an
    integer-valued float, a value past the memo's bound read as they would alone."""
    monkeypatch.setattr(purchases, "_QUANTITY_TEXTS", {})
    monkeypatch.setattr(purchases, "_AMOUNT_TEXTS", {})
    monkeypatch.setattr(purchases, "FORMATTED_MAX", 4)
    numbers = [2.5, 0.0, -0.0, 2.5, 3.0, 1e16, None, 0.1, -0.0, 2.675, 7.0, 2.5, 0.0, 1234567.89]
    rows = [("U", "2025-01-01", None, "F", "R", "L", n, "kg", n, None, "", None, None)
            for n in numbers]  # fmt: skip
    ready = purchases.canonical_chunk(rows)
    assert [r[6] for r in ready] == [purchases._quantities(n) for n in numbers]
    assert [r[8] for r in ready] == ["" if n is None else f"{n:.2f}" for n in numbers]
    assert [r[8] for r in ready][1:3] == ["0.00", "-0.00"]
    assert len(purchases._AMOUNT_TEXTS) == 4


def test_the_export_reads_its_users_scope_when_it_is_made(lines, session, make):
    """A streamed response reads its rows once the view has returned, where the request's user
    is no longer bound to a session: the export's statements are made beforehand."""
    canteen = make.user(role="canteen", sites=[lines])
    expected = _row_by_row(session, canteen, bom=False).encode("utf-8")
    export = queries.CanonicalExport(session, canteen, ALL, bom=False)
    session.expire(canteen)
    session.expunge(canteen)  # reading its role now would raise DetachedInstanceError
    assert b"".join(export) == expected and export.rows > 0
