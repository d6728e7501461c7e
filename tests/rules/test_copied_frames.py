"""On PostgreSQL the rules read their tables through ``COPY … TO STDOUT`` parsed by pyarrow:
the very frames row tuples give, for every table and for awkward values (NULL against the
empty string, separators, quotes, line breaks, digit-only text, booleans with NULL)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.rules.fixture import build
from workbench import db as db_module
from workbench.rules import frames
from workbench.rules.frames import COLUMNS, read_table


def _by_rows(monkeypatch, session, name, where=None):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patch:
        patch.setattr(frames, "copied_frame", lambda *_: None)
        return read_table(session, name, where)


@pytest.fixture
def postgresql(session):  # type: ignore[no-untyped-def]
    if session.connection().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite reads row tuples")


def test_every_table_reads_the_same_as_row_tuples(session, make, monkeypatch, postgresql) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    site = make.site()
    supplier = make.supplier(siret="00012345600018", name='Ferme "La Noë", SARL')
    awkward = {
        "a": {"label": "", "reference": "", "unit": None, "origin": "FRANCE", "quantity": None},
        "b": {"label": 'CRÈME "épaisse"\nligne 2;x,y', "reference": "0042", "unit": "kg"},
        "c": {"label": "\\N", "reference": None, "is_local": True, "is_short_circuit": False},
        "d": {"label": " espaces ", "reference": "  ", "amount_ht": 0.01, "labels": ""},
    }
    for values in awkward.values():
        make.purchase_line(site, supplier=supplier, line_date=dt.date(2026, 1, 5), **values)
    session.flush()
    copied = 0
    for name in COLUMNS:
        expected = _by_rows(monkeypatch, session, name)
        got = read_table(session, name)
        pd.testing.assert_frame_equal(got, expected, check_dtype=True)
        columns = [(c.key, c.type) for c in COLUMNS[name]]
        if (
            db_module.copied_frame(session.connection(), sa.select(*COLUMNS[name]), columns)
            is not None
        ):
            copied += 1
    assert copied >= 3, "purchase lines, suppliers and matrix entries go through COPY"
    lines = read_table(session, "purchase_lines")
    mine = lines[lines["site_id"] == site.id].sort_values("id")
    assert mine["label"].tolist() == [v["label"] for v in awkward.values()]
    assert mine["reference"].tolist() == ["", "0042", None, "  "]
    assert mine["supplier_siret"].tolist() == ["00012345600018"] * 4


def test_filters_and_lists_are_bound_as_row_reads_bind_them(
    session, make, monkeypatch, postgresql
) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    session.flush()
    ids = session.scalars(sa.select(frames.PurchaseLine.id).order_by(frames.PurchaseLine.id)).all()
    where = sa.and_(
        frames.PurchaseLine.id.in_(ids[::2]),
        frames.PurchaseLine.label != "it's",
        frames.PurchaseLine.line_date >= dt.date(2000, 1, 1),
    )
    got = read_table(session, "purchase_lines", where)
    assert len(got) == len(ids[::2])
    pd.testing.assert_frame_equal(got, _by_rows(monkeypatch, session, "purchase_lines", where))
    empty = read_table(session, "purchase_lines", sa.false())
    assert empty.empty and list(empty.columns) == [c.key for c in COLUMNS["purchase_lines"]]
