"""The import entry point: read, check, write all-or-nothing (or the valid rows), journal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.auth.models import Role, User
from workbench.core.errors import PermissionDenied, ValidationError
from workbench.core.signals import records_changed
from workbench.imports.models import IMPORT_KINDS, ImportBatch
from workbench.imports.operations.common import KIND_FORMATS, RECORD_KINDS, ImportResult, _Prepared
from workbench.imports.operations.prepare import PREPARERS
from workbench.imports.operations.write import WRITERS
from workbench.imports.parsing import (
    ROW,
    InputLimits,
    Report,
    UnreadableFile,
    clean_text,
    input_limits,
    sha256_and_encoding,
)
from workbench.records.models import Contract, PurchaseLine
from workbench.reference.models import MatrixEntry, NomenclatureItem, Supplier

logger = logging.getLogger(__name__)


# -- entry point --------------------------------------------------------------------------------
def import_file(
    session: Session,
    kind: str,
    path: str | Path,
    *,
    file_name: str | None = None,
    user: User | None = None,
    site_uai: str | None = None,
    dry_run: bool = False,
    partial: bool = False,
    file_format: str | None = None,
    chunk_rows: int = 200_000,
) -> ImportResult:
    """Import ``path`` as ``kind``; ``user`` None means the command line (administrator)."""
    if kind not in IMPORT_KINDS:
        raise ValidationError(
            f"Type d'import « {kind} » inconnu; types possibles : {', '.join(IMPORT_KINDS)}."
        )
    if file_format and file_format not in KIND_FORMATS.get(kind, ()):
        raise ValidationError(
            f"Format « {file_format} » inconnu pour {kind}; formats possibles : "
            + (", ".join(KIND_FORMATS.get(kind, ())) or "aucun (détecté automatiquement)")
            + "."
        )
    allowed_site_ids = _check_permission(user, kind)
    file_name = clean_text(file_name or Path(path).name)
    sha256, size, encoding = sha256_and_encoding(path)

    if not dry_run:
        _lock_file(session, kind, sha256)
    previous = _applied_before(session, kind, sha256)
    if previous is not None:
        return _duplicate(previous)

    report = Report()
    context = {
        "user": user,
        "allowed_site_ids": allowed_site_ids,
        "site_uai": site_uai,
        "file_format": file_format,
        "chunk_rows": chunk_rows,
        "file_name": file_name,
        "encoding": encoding,
    }
    try:
        with input_limits(_configured_limits()):
            prepared = PREPARERS[kind](session, path, report, context)
    except UnreadableFile as error:
        report.file_error(error.message)
        prepared = _Prepared(pd.DataFrame(), "inconnu", 0)
    try:
        return _apply(
            session, kind, prepared, report, file_name, sha256, size, user, dry_run, partial
        )
    finally:
        prepared.close()


def _configured_limits() -> InputLimits:
    """The ``IMPORT_XLSX_*`` / ``IMPORT_JSON_*`` caps of the application (defaults outside)."""
    from flask import current_app, has_app_context

    return InputLimits.from_config(current_app.config) if has_app_context() else InputLimits()


def _apply(
    session: Session,
    kind: str,
    prepared: _Prepared,
    report: Report,
    file_name: str,
    sha256: str,
    size: int,
    user: User | None,
    dry_run: bool,
    partial: bool,
) -> ImportResult:
    """Record the batch; write the rows unless the file is rejected (pass 2)."""
    batch_values = {
        "kind": kind,
        "file_format": prepared.file_format[:20],
        "file_name": file_name[:300],
        "sha256": sha256,
        "size_bytes": size,
        "site_id": prepared.site_id,
        "created_by_id": user.id if user is not None else None,
        "row_count": prepared.row_count + report.skipped_rows,
        "is_partial": bool(partial),
    }
    rejected = report.fatal or (report.has_errors and not (partial or prepared.record_level))
    if rejected:
        batch = _new_batch(session, "rejected", batch_values, report)
        batch.rejected_count = len(report.error_rows) or prepared.row_count
        session.flush()
        _journal(session, "import.rejected", batch)
        return ImportResult(
            status="rejected",
            message=(
                f"Fichier refusé : {report.error_count} erreur(s) bloquante(s); rien n'a été "
                "importé. Corrigez le fichier (ou importez les lignes valides avec l'option "
                "« import partiel »)."
                if not report.fatal
                else "Fichier refusé : " + report.problems[0]["message"]
            ),
            report=report,
            batch=batch,
            file_format=prepared.file_format,
            row_count=batch.row_count,
        )

    if prepared.staged is not None:
        rows: Any = prepared.staged  # the purchase writer skips the rejected rows itself
    else:
        rows = prepared.frame
        if report.error_rows and not rows.empty:
            rows = rows[~rows[ROW].isin(report.error_rows)]
    if dry_run:
        savepoint = session.begin_nested()
        try:
            scratch = _new_batch(session, "dry_run", batch_values, None)
            counts = WRITERS[kind](session, rows, report, scratch.id)
        finally:
            savepoint.rollback()
        status = "dry_run"
    else:
        scratch = None
        status = "applied"
    batch = _new_batch(session, status, batch_values, None)
    if not dry_run:
        counts = WRITERS[kind](session, rows, report, batch.id)
    batch.report = report.sorted_problems()
    batch.inserted_count = counts.inserted
    batch.updated_count = counts.updated
    batch.unchanged_count = counts.unchanged
    batch.conflict_count = counts.conflicts
    batch.rejected_count = len(report.error_rows)
    session.flush()
    if status == "applied":
        _journal(session, "import.applied", batch)
        _signal(session, kind, batch.id)
        verb = "Import terminé"
    else:
        _journal(session, "import.dry_run", batch)
        verb = "Simulation terminée (rien n'a été enregistré)"
    message = (
        f"{verb} : {counts.inserted} ajout(s), {counts.updated} mise(s) à jour, "
        f"{counts.unchanged} inchangé(s)"
        + (f", {counts.conflicts} conflit(s) avec des corrections" if counts.conflicts else "")
        + (f", {len(report.error_rows)} ligne(s) rejetée(s)" if report.error_rows else "")
        + "."
    )
    if prepared.record_level:
        message = _record_level_message(verb, prepared, counts, report)
    logger.info("Import %s of %s (%s): %s", kind, file_name, status, message)
    return ImportResult(
        status=status,
        message=message,
        report=report,
        batch=batch,
        file_format=prepared.file_format,
        row_count=batch.row_count,
        counts=counts,
    )


def _record_level_message(verb: str, prepared: _Prepared, counts: Any, report: Report) -> str:
    """Records read, imported, updated, unchanged, kept as history and refused (with why)."""
    reasons: dict[str, int] = {}
    for problem in report.problems:
        if problem["level"] == "error" and problem["row"] is not None:
            reasons[problem["message"]] = reasons.get(problem["message"], 0) + 1
    refused = (
        f", {prepared.refused} refusé(s) ("
        + "; ".join(
            f"{m.removeprefix('Enregistrement refusé : ').rstrip('.')} : {n}"
            for m, n in reasons.items()
        )
        + ")"
        if prepared.refused
        else ""
    )
    history = getattr(counts, "history", 0)
    return (
        f"{verb} : {prepared.row_count} enregistrement(s) lu(s), {counts.inserted} ajouté(s), "
        f"{counts.updated} mis à jour, {counts.unchanged} inchangé(s)"
        + (f", {history} publication(s) antérieure(s) gardée(s) en historique" if history else "")
        + (f", {counts.conflicts} conflit(s) avec des corrections" if counts.conflicts else "")
        + refused
        + (f", {report.warning_count} valeur(s) signalée(s)" if report.warning_count else "")
        + "."
    )


#: PostgreSQL advisory lock namespace of "one import of a given file at a time".
IMPORT_LOCK_NAMESPACE = 7_240_316


def _lock_file(session: Session, kind: str, sha256: str) -> None:
    """Serialise two imports of the same file (PostgreSQL; SQLite's write transaction already
    holds the only writer lock): the second waits, then finds the first applied."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
            {"ns": IMPORT_LOCK_NAMESPACE, "key": f"{kind}:{sha256}"},
        )


def _applied_before(session: Session, kind: str, sha256: str) -> ImportBatch | None:
    return session.scalar(
        sa.select(ImportBatch).where(
            ImportBatch.kind == kind, ImportBatch.sha256 == sha256, ImportBatch.status == "applied"
        )
    )


def _duplicate(previous: ImportBatch) -> ImportResult:
    when = previous.created_at.strftime("%d/%m/%Y %H:%M")
    return ImportResult(
        status="duplicate",
        message=(
            f"Ce fichier a déjà été importé le {when} UTC (lot n° {previous.id}, "
            f"« {previous.file_name} ») : rien n'a été modifié."
        ),
        report=Report(),
        previous=previous,
    )


def _check_permission(user: User | None, kind: str) -> set[int] | None:
    """None = every site; a set = the canteen user's sites."""
    if user is None or user.role == Role.ADMIN:
        return None
    if user.role == Role.CANTEEN and kind == "purchases":
        return set(user.site_ids)
    raise PermissionDenied("Vous ne pouvez pas importer ce type de fichier.")


def _new_batch(
    session: Session, status: str, values: dict[str, Any], report: Report | None
) -> ImportBatch:
    batch = ImportBatch(status=status, **values)
    if report is not None:
        batch.report = report.sorted_problems()
    session.add(batch)
    session.flush()
    return batch


def _journal(session: Session, action: str, batch: ImportBatch) -> None:
    record(
        session,
        action,
        target_kind="import_batch",
        target_id=batch.id,
        target_label=batch.file_name,
        after={
            "kind": batch.kind,
            "file_name": batch.file_name,
            "sha256": batch.sha256,
            "file_format": batch.file_format,
            "rows": batch.row_count,
            "inserted": batch.inserted_count,
            "updated": batch.updated_count,
            "unchanged": batch.unchanged_count,
            "rejected": batch.rejected_count,
            "conflicts": batch.conflict_count,
            "partial": batch.is_partial,
        },
        import_batch_id=batch.id,
    )


def _signal(session: Session, kind: str, batch_id: int) -> None:
    record_kind = RECORD_KINDS.get(kind)
    if record_kind is None or not records_changed.receivers or records_changed.is_muted:
        return
    model = {
        "contract": Contract,
        "purchase_line": PurchaseLine,
        "matrix_entry": MatrixEntry,
        "supplier": Supplier,
        "nomenclature_item": NomenclatureItem,
    }[record_kind]
    ids = list(session.scalars(sa.select(model.id).where(model.import_batch_id == batch_id)))
    if ids:
        records_changed.send(session, record_kind=record_kind, record_ids=ids)
