"""Signed checkpoints: the journal cannot be cut or rewritten (even re-chained) unseen up to the
newest checkpoint, which lives outside the database under a key that is not in it either."""

from __future__ import annotations

import json
import stat

import pytest
import sqlalchemy as sa

from workbench.audit import checkpoint as checkpoints
from workbench.audit.models import AuditEntry
from workbench.audit.operations import HASHED_FIELDS, compute_hash, record, verify_chain


@pytest.fixture
def keyed(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "AUDIT_HMAC_KEY", "clé-de-test-hors-base")
    return app.test_cli_runner()


def _entries(session, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    for i in range(n):
        record(session, "test.entry", target_kind="test", target_id=i, after={"amount": i})
    session.flush()
    return list(session.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.id)))


def _unlock(session) -> None:  # type: ignore[no-untyped-def]
    """What a table owner can do: switch off the append-only triggers (in the test transaction)."""
    for name in ("audit_entries_no_update", "audit_entries_no_delete"):
        if session.get_bind().dialect.name == "sqlite":
            session.execute(sa.text(f"DROP TRIGGER {name}"))
        else:
            session.execute(sa.text(f"ALTER TABLE audit_entries DISABLE TRIGGER {name}"))


def _checkpoint(runner, path) -> dict:  # type: ignore[no-untyped-def]
    out = runner.invoke(args=["audit", "checkpoint", "-o", str(path)])
    assert out.exit_code == 0, out.output
    return json.loads(path.read_text())


def _verify(runner, *paths):  # type: ignore[no-untyped-def]
    args = ["audit", "verify"]
    for path in paths:
        args += ["--checkpoint", str(path)]
    return runner.invoke(args=args)


def test_a_checkpoint_records_the_signed_head_and_later_entries_still_verify(
    session, keyed, tmp_path
):
    ids = _entries(session, 5)
    head = _checkpoint(keyed, tmp_path / "cp.json")
    assert head["last_id"] == ids[-1] and head["count"] == len(ids)
    assert head["last_hash"] == session.get(AuditEntry, ids[-1]).hash
    assert len(head["signature"]) == 64 and head["created_at"]
    _entries(session, 3)  # the journal goes on after the checkpoint
    out = _verify(keyed, tmp_path / "cp.json")
    assert out.exit_code == 0 and "conforme à 1 point(s) de contrôle" in out.output


def test_deleting_the_last_entries_passes_the_chain_but_not_the_checkpoint(
    session, keyed, tmp_path
):
    ids = _entries(session, 50)
    _checkpoint(keyed, tmp_path / "cp.json")
    _unlock(session)
    session.execute(sa.delete(AuditEntry).where(AuditEntry.id > ids[9]))
    session.expire_all()
    assert verify_chain(session).ok, "the chain alone cannot see a cut at the end"
    out = _verify(keyed, tmp_path / "cp.json")
    assert out.exit_code == 1
    assert f"journal tronqué : l'entrée {ids[-1]}" in out.output


def test_rewriting_an_entry_and_rechaining_the_rest_is_detected(session, keyed, tmp_path):
    ids = _entries(session, 10)
    _checkpoint(keyed, tmp_path / "cp.json")
    _unlock(session)
    columns = [getattr(AuditEntry, name) for name in HASHED_FIELDS]
    rows = session.execute(
        sa.select(AuditEntry.id, AuditEntry.prev_hash, *columns)
        .where(AuditEntry.id >= ids[3])
        .order_by(AuditEntry.id)
    ).all()
    prev = rows[0].prev_hash
    for row in rows:  # the attacker recomputes every following hash
        content = {name: row._mapping[name] for name in HASHED_FIELDS}
        if row.id == ids[3]:
            content["after"] = {"amount": 999_999}
        digest = compute_hash(content, prev)
        session.execute(
            sa.update(AuditEntry)
            .where(AuditEntry.id == row.id)
            .values(after=content["after"], prev_hash=prev, hash=digest)
        )
        prev = digest
    session.expire_all()
    assert verify_chain(session).ok, "the re-chained journal is self-consistent"
    out = _verify(keyed, tmp_path / "cp.json")
    assert out.exit_code == 1 and "journal réécrit" in out.output


def test_deleting_an_entry_in_the_middle_and_rechaining_is_detected(session, keyed, tmp_path):
    ids = _entries(session, 6)
    cp = tmp_path / "cp.json"
    _checkpoint(keyed, cp)
    result = checkpoints.verify_against(
        session, checkpoints.read_checkpoint(str(cp)), "clé-de-test-hors-base".encode()
    )
    assert result.ok
    _unlock(session)
    session.execute(sa.delete(AuditEntry).where(AuditEntry.id == ids[2]))
    session.expire_all()
    out = _verify(keyed, cp)
    assert out.exit_code == 1  # the chain breaks at ids[3] (or the head differs once re-chained)


def test_an_edited_checkpoint_or_another_key_is_refused(session, keyed, app, tmp_path, monkeypatch):
    _entries(session, 3)
    head = _checkpoint(keyed, tmp_path / "cp.json")
    forged = dict(head, count=head["count"] - 1)
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    out = _verify(keyed, tmp_path / "forged.json")
    assert out.exit_code == 1 and "signature invalide" in out.output
    monkeypatch.setitem(app.config, "AUDIT_HMAC_KEY", "une-autre-clé")
    out = _verify(keyed, tmp_path / "cp.json")
    assert out.exit_code == 1 and "signature invalide" in out.output


def test_not_a_checkpoint_and_csv_with_checkpoint_are_clear_errors(session, keyed, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = _verify(keyed, bad)
    assert out.exit_code == 1 and "n'est pas un point de contrôle" in out.output
    out = keyed.invoke(args=["audit", "verify", "--csv", str(bad), "--checkpoint", str(bad)])
    assert out.exit_code == 2


def test_the_key_file_is_created_on_first_use_private_and_reused(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="introuvable"):
        checkpoints.load_key(None, str(tmp_path), create=False)
    key = checkpoints.load_key(None, str(tmp_path), create=True)
    path = tmp_path / checkpoints.KEY_FILE
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert checkpoints.load_key(None, str(tmp_path), create=True) == key
    assert checkpoints.load_key("réglage", str(tmp_path), create=False) == "réglage".encode()
