"""A posted batch becomes a file in the canonical format, imported like an uploaded one.

Writing the batch to a temporary file and calling :func:`workbench.imports.operations.import_file`
shares everything with file imports: validation and its per-record report, idempotence (the
SHA-256 of the canonical file: posting the same lines twice imports them once), provenance
(the batch and each record's source row), the journal and the re-check of the rules.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.api.models import ApiBatch, ApiToken
from workbench.auth.models import Role
from workbench.imports.formats import FORMATS
from workbench.imports.models import ImportBatch
from workbench.imports.operations import ImportResult, import_file

#: The canonical columns of each tabular batch kind, in file order.
BATCH_FORMATS = {"purchases": FORMATS["purchases"], "matrix": FORMATS["matrix"]}


@dataclass
class TokenPrincipal:
    """The import permissions of a site-scoped token: those of a canteen team on its lycées."""

    site_ids: set[int]
    id: None = None
    role: str = Role.CANTEEN


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def canonical_csv(kind: str, lines: list[dict[str, Any]]) -> bytes:
    """The lines as a canonical CSV (``;``, UTF-8): the columns used by any line, in spec order."""
    used = set().union(*(line.keys() for line in lines)) if lines else set()
    columns = [c.name for c in BATCH_FORMATS[kind].columns if c.name in used]
    with tempfile.SpooledTemporaryFile(mode="w+", newline="", encoding="utf-8") as buffer:
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer.writerow(columns)
        for line in lines:
            writer.writerow([_cell(line.get(c)) for c in columns])
        buffer.seek(0)
        return buffer.read().encode("utf-8")


def canonical_decp(document: Any) -> bytes:
    """DECP JSON: ``{"marches": ...}`` as posted, or a bare list read as DECP v2 ``marche`` items."""
    if isinstance(document, list):
        document = {"marches": {"marche": document}}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def import_batch(
    session: Session,
    token: ApiToken,
    kind: str,
    content: bytes,
    suffix: str,
    *,
    count: int,
    dry_run: bool = False,
    partial: bool = False,
    chunk_rows: int = 100_000,
) -> ImportResult:
    """Import ``content`` (a canonical file) for ``token``; link the batch to the token."""
    user = None
    if token.site_uais and kind == "purchases":
        from workbench.reference.models import Site

        ids = set(session.scalars(sa.select(Site.id).where(Site.uai.in_(token.site_uais))))
        user = TokenPrincipal(site_ids=ids)
    handle, path = tempfile.mkstemp(prefix=f"workbench-api-{kind}-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        result = import_file(
            session,
            kind,
            path,
            file_name=f"api {token.name} : {kind}, {count} enregistrement(s){suffix}"[:300],
            user=user,  # type: ignore[arg-type]
            dry_run=dry_run,
            partial=partial,
            chunk_rows=chunk_rows,
        )
    finally:
        os.unlink(path)
    if result.batch is not None:
        session.add(ApiBatch(import_batch_id=result.batch.id, api_token_id=token.id))
        session.flush()
    return result


def token_batch(session: Session, token: ApiToken, batch_id: int) -> ImportBatch | None:
    """A batch posted by ``token`` (None for any other batch: no reading another system's)."""
    return session.scalar(
        sa.select(ImportBatch)
        .join(ApiBatch, ApiBatch.import_batch_id == ImportBatch.id)
        .where(ImportBatch.id == batch_id, ApiBatch.api_token_id == token.id)
    )


def problems_by_line(batch: ImportBatch | None, report: list[dict[str, Any]]) -> list[dict]:
    """The report with positions in the posted list (``line`` 1 = the first record)."""
    tabular = batch is None or batch.kind in BATCH_FORMATS
    out = []
    for problem in report:
        row = problem.get("row")
        line = None if row is None else (int(row) - 1 if tabular else int(row))
        out.append(
            {
                "line": line,
                "column": problem.get("column"),
                "value": None if problem.get("value") is None else str(problem.get("value")),
                "message": problem.get("message") or "",
                "level": problem.get("level") or "error",
            }
        )
    return out
