"""Signed checkpoints of the journal head, kept outside the database.

The hash chain proves the journal is consistent with itself; it cannot prove that it is the
journal that was written: whoever owns the table can disable the triggers, delete the last
entries, or rewrite one and recompute every following hash, and the chain verifies again. A
checkpoint records the head (last id, its hash, the entry count, the time) in a file outside the
database, signed with HMAC-SHA256 under a key that is not in the database either
(``AUDIT_HMAC_KEY``, or ``instance/audit-hmac.key`` created on first use). Verifying against it
detects, for every entry up to the checkpoint's head:

- truncation: the head entry is gone, or fewer entries than counted remain;
- rewriting, even re-chained: the hash at the head differs (every hash depends on all before it);
- a forged or edited checkpoint: its signature does not match without the key.

It does not protect entries written after the newest checkpoint, nor against someone holding
both the database and the key, nor against a checkpoint file deleted (keep copies elsewhere).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.models import GENESIS_HASH, AuditEntry
from workbench.audit.operations import VerifyResult, verify_chain
from workbench.db import utcnow

KEY_FILE = "audit-hmac.key"
FORMAT = "workbench-audit-checkpoint/1"
SIGNED_FIELDS = ("format", "last_id", "last_hash", "count", "created_at")


class CheckpointError(Exception):
    """A checkpoint that cannot be used (unreadable, no key); the message is French."""


def load_key(configured: str | None, instance_path: str, *, create: bool) -> bytes:
    """The HMAC key: the setting, else the instance key file (created when ``create``)."""
    if configured:
        return configured.encode("utf-8")
    path = Path(instance_path) / KEY_FILE
    if not path.exists():
        if not create:
            raise CheckpointError(
                f"Clé de signature introuvable ({path}; réglage WORKBENCH_AUDIT_HMAC_KEY)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def _canonical(checkpoint: dict[str, Any]) -> bytes:
    content = {name: checkpoint.get(name) for name in SIGNED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(checkpoint: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(checkpoint), hashlib.sha256).hexdigest()


def make_checkpoint(session: Session, key: bytes, now: dt.datetime | None = None) -> dict[str, Any]:
    """The signed head of the journal as it is now."""
    last = session.execute(
        sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    count = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0
    checkpoint: dict[str, Any] = {
        "format": FORMAT,
        "last_id": last.id if last else 0,
        "last_hash": last.hash if last else GENESIS_HASH,
        "count": count,
        "created_at": (now or utcnow()).astimezone(dt.UTC).isoformat(),
    }
    checkpoint["signature"] = sign(checkpoint, key)
    return checkpoint


def read_checkpoint(path: str) -> dict[str, Any]:
    try:
        checkpoint = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"Point de contrôle illisible : {path}.") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path} n'est pas un point de contrôle du journal.")
    return checkpoint


def verify_against(session: Session, checkpoint: dict[str, Any], key: bytes) -> VerifyResult:
    """The chain, then the checkpoint's head: signature, head entry and hash, entry count."""
    if not hmac.compare_digest(str(checkpoint.get("signature", "")), sign(checkpoint, key)):
        return VerifyResult(False, 0, None, "point de contrôle falsifié (signature invalide)")
    result = verify_chain(session)
    if not result.ok:
        return result
    last_id, count = int(checkpoint["last_id"]), int(checkpoint["count"])
    stamp = checkpoint["created_at"]
    if last_id:
        head = session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.id == last_id))
        if head is None:
            return VerifyResult(
                False,
                result.checked,
                last_id,
                f"journal tronqué : l'entrée {last_id} du point de contrôle du {stamp} a disparu",
            )
        if head != checkpoint["last_hash"]:
            return VerifyResult(
                False,
                result.checked,
                last_id,
                f"journal réécrit : l'entrée {last_id} n'a plus le hash du point de contrôle "
                f"du {stamp} (une entrée antérieure a été modifiée puis rechaînée)",
            )
    kept = session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.id <= last_id)
    )
    if kept != count:
        return VerifyResult(
            False,
            result.checked,
            last_id or None,
            f"journal tronqué : {kept} entrées jusqu'à l'entrée {last_id}, "
            f"le point de contrôle du {stamp} en comptait {count}",
        )
    return result
