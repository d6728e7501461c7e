"""The foreign keys of the bulk tables: the same behaviour on both databases (SQLite's native
keys, PostgreSQL's statement triggers of :mod:`workbench.core.bulk_keys`), and on PostgreSQL the
parent locked as the native check locks it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from workbench.core import bulk_keys
from workbench.db import Base
from workbench.extensions import db
from workbench.records.models import PurchaseLine
from workbench.reference.models import Site
from workbench.rules.models import Anomaly

LINES = PurchaseLine.__table__
ANOMALIES = Anomaly.__table__
MISSING = 987_654_321


def _on_postgres(session: Any) -> bool:
    return session.connection().dialect.name == "postgresql"


def _refused(session: Any, statement: Any, constraint: str | None = None) -> None:
    """``statement`` fails with an integrity error and changes nothing."""
    with pytest.raises(sa.exc.IntegrityError) as raised, session.begin_nested():
        session.execute(statement)
    if constraint and _on_postgres(session):
        assert raised.value.orig.diag.constraint_name == constraint


def _line(site: int, **values: Any) -> dict[str, Any]:
    return {
        "line_key": f"k{site}-{values.get('label', '')}-{values.get('supplier_id')}",
        "site_id": site,
        "line_date": dt.date(2026, 3, 2),
        "label": "YAOURT",
        **values,
    }


def _anomaly(record_id: int, **values: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "rule_code": "ARTICLE_UNMAPPED",
        "record_kind": "purchase_line",
        "record_id": record_id,
        "field": "",
        "severity": "warning",
        "status": "open",
        "owner_role": "canteen",
        "message": "m",
        "first_seen_at": now,
        "last_seen_at": now,
        **values,
    }


def test_the_references_are_the_models_foreign_keys(app) -> None:  # type: ignore[no-untyped-def]
    declared = set()
    for name in bulk_keys.BULK_TABLES:
        for constraint in Base.metadata.tables[name].foreign_key_constraints:
            (element,) = constraint.elements
            declared.add(
                bulk_keys.Reference(
                    name,
                    element.parent.name,
                    element.column.table.name,
                    element.column.name,
                    constraint.ondelete or "NO ACTION",
                )
            )
    assert declared == set(bulk_keys.REFERENCES)


def test_the_native_keys_exist_on_sqlite_only(session) -> None:  # type: ignore[no-untyped-def]
    inspector = sa.inspect(session.connection())
    names = {
        name: {fk["name"] for fk in inspector.get_foreign_keys(name)}
        for name in bulk_keys.BULK_TABLES
    }
    if _on_postgres(session):
        assert names == {"purchase_lines": set(), "anomalies": set()}
        triggers = set(
            session.execute(
                sa.text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'bulk_keys_%'")
            ).scalars()
        )
        assert {"bulk_keys_purchase_lines_insert", "bulk_keys_sites_delete"} <= triggers
    else:
        counts = {name: len(inspector.get_foreign_keys(name)) for name in bulk_keys.BULK_TABLES}
        assert counts == {"purchase_lines": 3, "anomalies": 5}


@pytest.mark.parametrize(
    ("column", "constraint"),
    [
        ("site_id", "fk_purchase_lines_site_id_sites"),
        ("supplier_id", "fk_purchase_lines_supplier_id_suppliers"),
        ("import_batch_id", "fk_purchase_lines_import_batch_id_import_batches"),
    ],
)
def test_a_line_refers_to_existing_parents(session, make, column, constraint) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    _refused(session, sa.insert(LINES).values(**_line(site.id, **{column: MISSING})), constraint)
    assert session.execute(sa.select(sa.func.count()).select_from(LINES)).scalar() == 0


def test_one_bad_row_refuses_the_whole_statement(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    supplier = make.supplier()
    rows = [_line(site.id, label=str(i), supplier_id=supplier.id) for i in range(50)]
    rows.append(_line(site.id, label="bad", supplier_id=MISSING))
    _refused(session, sa.insert(LINES).values(rows), "fk_purchase_lines_supplier_id_suppliers")
    assert session.execute(sa.select(sa.func.count()).select_from(LINES)).scalar() == 0
    session.execute(sa.insert(LINES).values(rows[:-1]))  # the good rows alone
    assert session.execute(sa.select(sa.func.count()).select_from(LINES)).scalar() == 50


def test_an_update_to_a_missing_parent_is_refused(session, make) -> None:  # type: ignore[no-untyped-def]
    line = make.purchase_line(make.site(), supplier=make.supplier())
    _refused(
        session,
        sa.update(LINES).where(LINES.c.id == line.id).values(supplier_id=MISSING),
        "fk_purchase_lines_supplier_id_suppliers",
    )
    other = make.site()
    session.execute(sa.update(LINES).where(LINES.c.id == line.id).values(site_id=other.id))
    session.execute(sa.update(LINES).where(LINES.c.id == line.id).values(supplier_id=None))
    assert session.execute(sa.select(LINES.c.site_id, LINES.c.supplier_id)).one() == (
        other.id,
        None,
    )


@pytest.mark.parametrize(
    ("column", "constraint"),
    [
        ("site_id", "fk_anomalies_site_id_sites"),
        ("supplier_id", "fk_anomalies_supplier_id_suppliers"),
        ("claimed_by_id", "fk_anomalies_claimed_by_id_users"),
        ("closed_by_id", "fk_anomalies_closed_by_id_users"),
        ("direction_code", "fk_anomalies_direction_code_directions"),
    ],
)
def test_an_anomaly_refers_to_existing_parents(session, make, column, constraint) -> None:  # type: ignore[no-untyped-def]
    line = make.purchase_line(make.site())
    value = "NOPE" if column == "direction_code" else MISSING
    _refused(
        session, sa.insert(ANOMALIES).values(**_anomaly(line.id, **{column: value})), constraint
    )
    assert session.execute(sa.select(sa.func.count()).select_from(ANOMALIES)).scalar() == 0


def test_a_referenced_lycee_or_supplier_cannot_be_deleted(session, make) -> None:  # type: ignore[no-untyped-def]
    site, supplier = make.site(), make.supplier()
    make.purchase_line(site, supplier=supplier)
    sites, suppliers = Site.__table__, Base.metadata.tables["suppliers"]
    _refused(
        session, sa.delete(sites).where(sites.c.id == site.id), "fk_purchase_lines_site_id_sites"
    )
    _refused(
        session,
        sa.delete(suppliers).where(suppliers.c.id == supplier.id),
        "fk_purchase_lines_supplier_id_suppliers",
    )
    _refused(
        session,
        sa.update(sites).where(sites.c.id == site.id).values(id=MISSING),
        "fk_purchase_lines_site_id_sites",
    )
    assert session.execute(sa.select(sa.func.count()).select_from(sites)).scalar() >= 1


def test_a_referenced_user_cannot_be_deleted(session, make) -> None:  # type: ignore[no-untyped-def]
    user = make.user(role="admin")
    line = make.purchase_line(make.site())
    make.anomaly(line, claimed_by_id=user.id, status="claimed")
    users = Base.metadata.tables["users"]
    # the user's other rows (journal, sessions…) may refuse first on SQLite: any refusal holds
    _refused(session, sa.delete(users).where(users.c.id == user.id))


def test_deleting_a_lycee_deletes_its_anomalies_and_a_supplier_clears_them(session, make) -> None:  # type: ignore[no-untyped-def]
    kept_site, gone_site = make.site(), make.site()
    supplier = make.supplier()
    line = make.purchase_line(kept_site)
    kept = make.anomaly(line, rule_code="A", site_id=kept_site.id, supplier_id=supplier.id)
    gone = make.anomaly(line, rule_code="B", site_id=gone_site.id)
    sites, suppliers = Site.__table__, Base.metadata.tables["suppliers"]
    session.execute(sa.delete(sites).where(sites.c.id == gone_site.id))
    session.execute(sa.delete(suppliers).where(suppliers.c.id == supplier.id))
    rows = session.execute(sa.select(ANOMALIES.c.id, ANOMALIES.c.supplier_id)).all()
    assert rows == [(kept.id, None)]
    assert gone.id not in {r.id for r in rows}


def test_a_renumbered_parent_without_children_is_accepted(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    sites = Site.__table__
    session.execute(sa.update(sites).where(sites.c.id == site.id).values(id=MISSING))
    session.execute(sa.update(sites).where(sites.c.id == MISSING).values(name="Renommé"))
    assert session.execute(sa.select(sites.c.name).where(sites.c.id == MISSING)).scalar() == (
        "Renommé"
    )


# -- PostgreSQL: the parent locked as the native check locks it --------------------------------
@pytest.fixture
def committed_site(app):  # type: ignore[no-untyped-def]
    """A lycée committed by another connection (deleted at the end)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer: no parent can be locked by another transaction")
        with db.engine.connect() as other:
            site_id = other.execute(
                sa.insert(Site.__table__)
                .values(uai="9999999Z", name="Lycée témoin")
                .returning(Site.__table__.c.id)
            ).scalar_one()
            other.commit()
        yield site_id
        with db.engine.connect() as other:
            other.execute(sa.delete(LINES).where(LINES.c.site_id == site_id))
            other.execute(sa.delete(Site.__table__).where(Site.__table__.c.id == site_id))
            other.commit()


def test_a_line_waits_for_a_concurrent_delete_of_its_lycee_then_fails(app, committed_site) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as deleter, db.engine.connect() as writer:
        deleter.execute(sa.delete(Site.__table__).where(Site.__table__.c.id == committed_site))
        writer.execute(sa.text("SET lock_timeout = '300ms'"))
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            writer.execute(sa.insert(LINES).values(**_line(committed_site)))
        writer.rollback()
        deleter.commit()
        with pytest.raises(sa.exc.IntegrityError, match="fk_purchase_lines_site_id_sites"):
            writer.execute(sa.insert(LINES).values(**_line(committed_site)))
        writer.rollback()


def test_a_lycee_with_an_uncommitted_line_cannot_be_deleted(app, committed_site) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as writer, db.engine.connect() as deleter:
        writer.execute(sa.insert(LINES).values(**_line(committed_site)))
        deleter.execute(sa.text("SET lock_timeout = '300ms'"))
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            deleter.execute(sa.delete(Site.__table__).where(Site.__table__.c.id == committed_site))
        deleter.rollback()
        writer.commit()
        with pytest.raises(sa.exc.IntegrityError, match="fk_purchase_lines_site_id_sites"):
            deleter.execute(sa.delete(Site.__table__).where(Site.__table__.c.id == committed_site))
        deleter.rollback()
