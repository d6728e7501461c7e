"""Bulk SQL helpers: ``any_of`` (one array parameter on PostgreSQL, a plain ``IN`` on SQLite
that the planner can use) and the staged inserts (``insert_staged``, ``insert_dicts``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from workbench.db import any_of, like_ci
from workbench.imports.writer import insert_dicts, insert_staged
from workbench.records.models import PurchaseLine
from workbench.reference.models import Direction


def test_any_of_is_one_array_parameter_on_postgresql() -> None:
    ids = list(range(5000))
    statement = sa.select(PurchaseLine.id).where(any_of(PurchaseLine.id, ids))
    sql = str(statement.compile(dialect=postgresql.psycopg.dialect()))
    assert "= ANY (%(param_1)s::INTEGER[])" in sql
    assert sql.count("%(") == 1  # not 5,000 placeholders


def test_any_of_is_a_plain_in_on_sqlite() -> None:
    statement = sa.select(PurchaseLine.id).where(
        any_of(PurchaseLine.id, [1, 2]), PurchaseLine.site_id == 3
    )
    sql = str(statement.compile(dialect=sqlite.dialect()))
    assert "purchase_lines.id IN (" in sql
    assert "= 1" not in sql  # « (x IN (…)) = 1 » would hide the index from the planner


def test_any_of_selects_updates_and_deletes(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    lines = [make.purchase_line(site, label=f"ARTICLE {i}") for i in range(5)]
    session.flush()
    ids = [line.id for line in lines]
    chosen = [ids[0], ids[2], ids[4], 10**9]
    found = session.scalars(sa.select(PurchaseLine.id).where(any_of(PurchaseLine.id, chosen)))
    assert sorted(found) == sorted(chosen[:3])
    keys = [lines[1].line_key]
    assert (
        session.scalar(sa.select(PurchaseLine.id).where(any_of(PurchaseLine.line_key, keys)))
        == (ids[1])
    )
    assert (
        session.scalars(sa.select(PurchaseLine.id).where(any_of(PurchaseLine.id, []))).all() == []
    )
    table = PurchaseLine.__table__
    session.execute(sa.update(table).where(any_of(table.c.id, ids[:2])).values(label="RENOMMÉ"))
    labels = session.scalars(sa.select(PurchaseLine.label).where(PurchaseLine.id.in_(ids)))
    assert sorted(labels).count("RENOMMÉ") == 2


def test_staged_insert_and_copy_of_dicts_land_every_row(session) -> None:  # type: ignore[no-untyped-def]
    table = Direction.__table__
    before = session.scalar(sa.select(sa.func.count()).select_from(table))
    insert_staged(
        session, "directions", ["code", "name"], [("BULK1", "Première"), ("BULK2", "Deuxième")]
    )
    insert_dicts(session.connection(), table, [{"code": "BULK3", "name": "Troisième"}])
    names = dict(
        session.execute(
            sa.select(table.c.code, table.c.name).where(table.c.code.like("BULK%"))
        ).all()
    )
    assert names == {"BULK1": "Première", "BULK2": "Deuxième", "BULK3": "Troisième"}
    assert session.scalar(sa.select(sa.func.count()).select_from(table)) == before + 3


def test_like_ci_is_a_plain_like_on_sqlite_and_lower_like_on_postgresql() -> None:
    where = sa.or_(like_ci(Direction.name, "%bio%"), like_ci(Direction.code, "%bio%"))
    lite = str(sa.select(Direction.code).where(where).compile(dialect=sqlite.dialect()))
    assert "directions.name LIKE ?" in lite and "lower(" not in lite
    assert "= 1" not in lite
    pg = str(sa.select(Direction.code).where(where).compile(dialect=postgresql.psycopg.dialect()))
    # both sides folded (half the time of ILIKE there), the pattern once
    assert "lower(directions.name) LIKE lower(" in pg and "ILIKE" not in pg


def test_like_ci_ignores_the_case_on_both_databases(session) -> None:  # type: ignore[no-untyped-def]
    session.add(Direction(code="DXBIO", name="Direction Bio Régionale"))
    session.flush()
    for pattern in ("%bio%", "%BIO%", "%Bio r%"):
        found = session.scalars(
            sa.select(Direction.code).where(like_ci(Direction.name, pattern))
        ).all()
        assert "DXBIO" in found, pattern
    assert (
        "DXBIO"
        not in session.scalars(
            sa.select(Direction.code).where(like_ci(Direction.name, "%bioz%"))
        ).all()
    )
