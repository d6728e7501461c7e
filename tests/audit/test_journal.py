"""The audit journal: append-only, hash-chained, verifiable, exported, shown per record."""

from __future__ import annotations

import csv
import io
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.guard import UnauditedChange
from workbench.audit.models import GENESIS_HASH, AuditEntry
from workbench.audit.operations import Actor, acting_as, record, record_many, verify_chain
from workbench.auth import operations as auth_operations
from workbench.core.errors import ValidationError
from workbench.extensions import db
from workbench.reference.models import Supplier
from workbench.review import operations


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def test_entries_chain_from_genesis_and_verify(session):
    record(session, "test.one", target_kind="test", target_id=1, after={"a": 1})
    record_many(session, [{"action": "test.two", "after": {"n": i}} for i in range(3)])
    entries = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    result = verify_chain(session)
    assert result.ok and result.checked == len(entries) == 4


def test_actor_and_request_are_recorded(session):
    with acting_as(Actor(id=7, email="x@region.example", role="legal", request_id="req-1")):
        record(session, "test.actor")
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.actor_id, entry.actor_email, entry.actor_role, entry.request_id) == (
        7,
        "x@region.example",
        "legal",
        "req-1",
    )


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"]
)
def test_database_refuses_update_and_delete(session, statement):
    record(session, "test.immutable")
    session.flush()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text(statement))
    assert session.scalar(sa.select(AuditEntry.action)) == "test.immutable"


def _disable_triggers(session) -> None:
    if _dialect(session) == "sqlite":
        session.execute(sa.text("DROP TRIGGER audit_entries_no_update"))
    else:
        session.execute(
            sa.text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update")
        )


def test_tampering_is_caught_by_verify_at_the_right_entry(session, app):
    for i in range(5):
        record(session, "test.entry", target_kind="test", target_id=i, after={"amount": 100 + i})
    session.flush()
    ids = session.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.id)).all()
    _disable_triggers(session)  # inside the test transaction: rolled back afterwards
    session.execute(
        sa.text("UPDATE audit_entries SET after = :v WHERE id = :id"),
        {"v": '{"amount": 999}', "id": ids[2]},
    )
    session.expire_all()
    result = verify_chain(session)
    assert not result.ok and result.broken_id == ids[2] and result.checked == 2
    runner = app.test_cli_runner()
    out = runner.invoke(args=["audit", "verify"])
    assert out.exit_code == 1 and f"l'entrée {ids[2]}" in out.output


def test_a_failed_operation_leaves_no_entry(session, make):
    admin = make.user(role="admin")
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    supplier = make.supplier(siret=None)
    with pytest.raises(ValidationError):
        operations.propose_correction(session, admin, "supplier", supplier.id, "siret", "123", "x")
    with pytest.raises(ValidationError):
        auth_operations.create_user(session, admin.email, "admin", "motdepasse-long")
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before


def test_every_user_change_is_journaled(session, make):
    site = make.site()
    user = make.user(role="canteen", sites=[site])
    other = make.site()
    auth_operations.update_user(
        session,
        user,
        email=user.email,
        name="Chef",
        role="canteen",
        site_uais=[site.uai, other.uai],
        direction=None,
        is_active=True,
    )
    entries = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_kind == "user", AuditEntry.target_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["user.create", "user.update"]
    assert entries[1].before["sites"] == [site.uai] and entries[1].after["sites"] == sorted(
        [site.uai, other.uai]
    )


def test_login_and_logout_are_journaled(client, make, session):
    user = make.user(role="viewer")
    client.login(user.email)
    client.post_form("/deconnexion")
    actions = session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.target_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["auth.login", "auth.logout"]


def test_journal_page_filters_and_export_has_hashes(client, login_as, session):
    login_as("legal")
    record(
        session, "correction.applied", target_kind="contract", target_id=42, after={"v": "=cmd()"}
    )
    record(session, "import.applied", target_kind="import_batch", target_id=1)
    html = client.get("/journal?action=correction").get_data(as_text=True)
    assert 'data-action="correction.applied"' in html
    assert 'data-action="import.applied"' not in html
    response = client.get("/journal/export.csv?type=contract")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 and len(rows[0]["hash"]) == 64 and len(rows[0]["prev_hash"]) == 64
    assert rows[0]["after"].startswith("{")  # JSON, not a formula
    assert "'=cmd()" not in rows[0]["after"]


def test_canteen_user_cannot_read_the_journal(client, login_as):
    login_as("canteen")
    assert client.get("/journal").status_code == 403
    assert client.get("/journal/export.csv").status_code == 403


@pytest.mark.skipif(
    "postgresql" not in (__import__("os").environ.get("WORKBENCH_TEST_DATABASE_URL") or ""),
    reason="concurrent writers are serialised by PostgreSQL advisory locks; SQLite has one writer",
)
def test_concurrent_writers_keep_one_valid_chain_on_postgresql(app):
    with app.app_context():
        engine = db.engine
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(10):
                    with Session(engine) as s, acting_as(Actor(email=f"w{n}", role="system")):
                        record(
                            s, "test.concurrent", target_kind="concurrency", target_id=f"{n}-{i}"
                        )
                        s.commit()
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            with Session(engine) as s:
                count = s.scalar(
                    sa.select(sa.func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.target_kind == "concurrency")
                )
                assert count == 60
                result = verify_chain(s)
                assert result.ok, result
        finally:
            with engine.begin() as conn:  # leave the shared database as we found it
                conn.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
                conn.execute(sa.text("DELETE FROM audit_entries WHERE target_kind = 'concurrency'"))
                conn.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))


def test_a_change_without_its_entry_cannot_commit(session, make):
    make.supplier(siret=None, name="Écrit sans journal")
    with pytest.raises(UnauditedChange, match="suppliers"):
        session.commit()
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Supplier)) == 0


def test_a_bulk_statement_without_its_entry_cannot_commit(session, make):
    supplier = make.supplier(siret=None)
    record(session, "test.setup")
    session.commit()
    session.execute(
        sa.update(Supplier).where(Supplier.id == supplier.id).values(name="modifié en masse")
    )
    with pytest.raises(UnauditedChange):
        session.commit()
    session.rollback()


def test_a_change_with_its_entry_commits(session, make):
    supplier = make.supplier(siret=None, name="Journalisé")
    record(session, "supplier.create", target_kind="supplier", target_id=supplier.id)
    session.commit()
    assert (
        session.scalar(sa.select(Supplier.name).where(Supplier.id == supplier.id)) == "Journalisé"
    )


def test_an_exported_journal_verifies_offline_and_shows_tampering(session, app, tmp_path):
    from workbench.audit.operations import verify_rows
    from workbench.audit.queries import JournalFilter, write_journal_csv

    with acting_as(Actor(id=3, email="=formule@region.example", role="legal")):
        record(
            session,
            "test.export",
            target_kind="test",
            target_id=1,
            target_label="'apostrophe",
            after={"v": 1.5, "texte": "=SOMME(A1)"},
        )
        record(session, "test.export", target_kind="test", target_id=2, before={"d": "2026-01-01"})
    path = tmp_path / "journal.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_journal_csv(session, handle, JournalFilter())
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["actor_email"].startswith("'=")  # neutralised for spreadsheets
    assert verify_rows(rows).ok and verify_rows(rows).checked == 2
    out = app.test_cli_runner().invoke(args=["audit", "verify", "--csv", str(path)])
    assert out.exit_code == 0 and "2 entrées" in out.output
    rows[1]["after"] = rows[1]["after"].replace("null", "{}") if rows[1]["after"] else "{}"
    result = verify_rows(rows)
    assert not result.ok and result.broken_id == int(rows[1]["id"])
