"""Writing the journal. Operations call :func:`record` in the same transaction as their change.

The chain is serialised: on PostgreSQL an advisory transaction lock is taken before reading the
last hash; on SQLite the single writer lock does it. A unique constraint on ``prev_hash`` makes a
fork impossible even if the lock were bypassed.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.guard import mark_audited
from workbench.audit.models import GENESIS_HASH, AuditEntry
from workbench.db import utcnow

ADVISORY_LOCK_KEY = 7_240_315  # arbitrary, constant: "the audit chain"

HASHED_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_email",
    "actor_role",
    "action",
    "target_kind",
    "target_id",
    "target_label",
    "before",
    "after",
    "request_id",
    "import_batch_id",
)


@dataclass
class Actor:
    """Who acts: a user (web or CLI) or the system itself."""

    id: int | None = None
    email: str | None = "système"
    role: str | None = "system"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    import_batch_id: int | None = None

    @classmethod
    def of(cls, user: Any, request_id: str | None = None) -> Actor:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            request_id=request_id or uuid.uuid4().hex,
        )


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


def current_actor() -> Actor:
    actor = _current_actor.get()
    return actor if actor is not None else Actor()


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run a block with ``actor`` as the author of every journal entry written inside."""
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def set_actor(actor: Actor | None) -> None:
    """Set the actor for the rest of the current context (one web request)."""
    _current_actor.set(actor)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of ``value`` (dates as ISO strings, numpy scalars as Python)."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def canonical_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(content: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of the entry's content and its predecessor's hash."""
    payload = dict(content)
    payload["occurred_at"] = canonical_timestamp(payload["occurred_at"])
    text = json.dumps(
        {"content": payload, "prev_hash": prev_hash},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_json_default,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})


def _last_hash(session: Session) -> str:
    last = session.execute(
        sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    return last or GENESIS_HASH


def record(
    session: Session,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: Any = None,
    target_label: str | None = None,
    before: Any = None,
    after: Any = None,
    actor: Actor | None = None,
    import_batch_id: int | None = None,
) -> None:
    """Append one entry to the journal (flushes; never commits)."""
    record_many(
        session,
        [
            {
                "action": action,
                "target_kind": target_kind,
                "target_id": target_id,
                "target_label": target_label,
                "before": before,
                "after": after,
            }
        ],
        actor=actor,
        import_batch_id=import_batch_id,
    )


def record_many(
    session: Session,
    entries: Iterable[dict[str, Any]],
    *,
    actor: Actor | None = None,
    import_batch_id: int | None = None,
) -> int:
    """Append many entries in one bulk insert, chaining them in order. Returns the count."""
    actor = actor or current_actor()
    session.flush()
    _lock_chain(session)
    prev = _last_hash(session)
    now = utcnow()
    rows = []
    for entry in entries:
        content = {
            "occurred_at": now,
            "actor_id": actor.id,
            "actor_email": actor.email,
            "actor_role": actor.role,
            "action": entry["action"],
            "target_kind": entry.get("target_kind"),
            "target_id": None if entry.get("target_id") is None else str(entry["target_id"]),
            "target_label": (entry.get("target_label") or None)
            and str(entry["target_label"])[:300],
            "before": jsonable(entry.get("before")),
            "after": jsonable(entry.get("after")),
            "request_id": actor.request_id,
            "import_batch_id": entry.get(
                "import_batch_id", import_batch_id or actor.import_batch_id
            ),
        }
        digest = compute_hash(content, prev)
        rows.append({**content, "prev_hash": prev, "hash": digest})
        prev = digest
    if rows:
        session.execute(sa.insert(AuditEntry), rows)
        mark_audited(session)
    return len(rows)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session, batch_size: int = 5000) -> VerifyResult:
    """Walk the journal in order and report the first entry whose hash or link is wrong."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    columns = [getattr(AuditEntry, name) for name in HASHED_FIELDS]
    while True:
        rows = session.execute(
            sa.select(AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash, *columns)
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return VerifyResult(ok=True, checked=checked)
        for row in rows:
            mapping = row._mapping
            if mapping["prev_hash"] != prev:
                return VerifyResult(
                    False, checked, row.id, "chaînage rompu (hash précédent inattendu)"
                )
            content = {name: mapping[name] for name in HASHED_FIELDS}
            if compute_hash(content, prev) != mapping["hash"]:
                return VerifyResult(False, checked, row.id, "contenu modifié (hash invalide)")
            prev = mapping["hash"]
            checked += 1
            last_id = row.id


def _parse_exported(row: dict[str, str]) -> dict[str, Any]:
    """The hashed content of one exported CSV row, with its original types."""
    from workbench.core.csvsafe import restore_cell

    values = {name: restore_cell(row.get(name, "")) for name in HASHED_FIELDS}
    content: dict[str, Any] = {
        name: (value if value != "" else None) for name, value in values.items()
    }
    content["occurred_at"] = dt.datetime.fromisoformat(values["occurred_at"])
    for name in ("actor_id", "import_batch_id"):
        content[name] = int(values[name]) if values[name] else None
    for name in ("before", "after"):
        content[name] = json.loads(values[name]) if values[name] else None
    return content


def verify_rows(rows: Iterable[dict[str, str]]) -> VerifyResult:
    """Verify an exported journal (rows of ``workbench audit export``) without the database.

    The first row's ``prev_hash`` is trusted as the anchor, so a filtered or partial export
    verifies as long as its rows are consecutive in the chain.
    """
    checked = 0
    prev: str | None = None
    for row in rows:
        entry_id = int(row["id"])
        if prev is not None and row["prev_hash"] != prev:
            return VerifyResult(
                False, checked, entry_id, "chaînage rompu (hash précédent inattendu)"
            )
        if compute_hash(_parse_exported(row), row["prev_hash"]) != row["hash"]:
            return VerifyResult(False, checked, entry_id, "contenu modifié (hash invalide)")
        prev = row["hash"]
        checked += 1
    return VerifyResult(True, checked)
