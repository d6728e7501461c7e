"""Importing a file: read, check everything, then write all-or-nothing (or the valid rows).

:func:`import_file` is the one entry point (web, CLI, tests, benchmark). It flushes and
journals but never commits: the caller commits once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.auth.models import Role, User
from workbench.core.errors import PermissionDenied, ValidationError
from workbench.core.signals import records_changed
from workbench.imports import decp, formats
from workbench.imports.models import IMPORT_KINDS, ImportBatch
from workbench.imports.parsing import (
    ROW,
    Report,
    UnreadableFile,
    read_table,
    sha256_and_encoding,
)
from workbench.imports.staging import KeyHashes, StagedRows, key_bases, line_keys
from workbench.imports.writer import WRITE_CHUNK, UpsertResult, holder_field, upsert
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import Direction, MatrixEntry, NomenclatureItem, Site, Supplier

logger = logging.getLogger(__name__)

KIND_LABELS = {
    "contracts": "Marchés (DECP)",
    "purchases": "Achats des cantines",
    "matrix": "Matrices fournisseurs",
    "suppliers": "Fournisseurs",
    "nomenclature": "Nomenclature",
    "sites": "Sites (lycées)",
}
#: Formats a user may force with ``--format`` (otherwise detected from the file).
KIND_FORMATS = {
    "contracts": ("decp_v2", "decp_1.5", "decp_csv"),
    "purchases": ("canonique", "macantine"),
}
STATUS_LABELS = {
    "applied": "Importé",
    "rejected": "Refusé",
    "dry_run": "Simulation",
    "duplicate": "Déjà importé",
}
RECORD_KINDS = {
    "contracts": "contract",
    "purchases": "purchase_line",
    "matrix": "matrix_entry",
    "suppliers": "supplier",
    "nomenclature": "nomenclature_item",
}


@dataclass
class ImportResult:
    status: str
    message: str
    report: Report
    batch: ImportBatch | None = None
    previous: ImportBatch | None = None
    file_format: str | None = None
    row_count: int = 0
    counts: UpsertResult = field(default_factory=UpsertResult)

    @property
    def rejected_count(self) -> int:
        return len(self.report.error_rows)


@dataclass
class _StagedPurchases:
    """Pass 1's output for purchase lines: the checked rows on disk, the key occurrences."""

    rows: StagedRows
    occurrences: np.ndarray
    site_ids: set[int]
    first_date: dt.date | None
    last_date: dt.date | None

    def chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Each staged chunk with the key occurrence numbers of its lines."""
        offset = 0
        for chunk in self.rows.chunks():
            yield chunk, self.occurrences[offset : offset + len(chunk)]
            offset += len(chunk)


@dataclass
class _Prepared:
    frame: pd.DataFrame
    file_format: str
    row_count: int
    site_id: int | None = None
    #: Purchase lines are not kept in memory: pass 2 writes them from here, chunk by chunk.
    staged: _StagedPurchases | None = None

    def close(self) -> None:
        if self.staged is not None:
            self.staged.rows.close()


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
    file_name = file_name or Path(path).name
    sha256, size, encoding = sha256_and_encoding(path)

    previous = session.scalar(
        sa.select(ImportBatch).where(
            ImportBatch.kind == kind, ImportBatch.sha256 == sha256, ImportBatch.status == "applied"
        )
    )
    if previous is not None:
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
    rejected = report.fatal or (report.has_errors and not partial)
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


# -- reading and checking (per kind) ------------------------------------------------------------
def _read_tabular(
    path: str | Path, report: Report, context: dict[str, Any], fmt: formats.Format | None
) -> tuple[formats.Format, pd.DataFrame, str]:
    table = read_table(
        path, context["encoding"], report, context["chunk_rows"], context["file_name"]
    )
    if fmt is None:
        if context.get("file_format") == "macantine":
            fmt = formats.MACANTINE
        elif context.get("file_format") == "canonique":
            fmt = formats.PURCHASES
        else:
            fmt = formats.detect_purchase_format(table.headers)
    mapping = formats.match_headers(fmt, table.headers, table.original_headers, report)
    if report.fatal:
        return fmt, pd.DataFrame(), table.file_format
    typed = [formats.convert(chunk, fmt, mapping, report) for chunk in table.chunks]
    frame = pd.concat(typed, ignore_index=True) if typed else pd.DataFrame(columns=[ROW])
    if frame.empty and not report.has_errors:
        report.file_error("Le fichier ne contient aucune ligne de données.")
    return fmt, frame, table.file_format


def _site_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(sa.select(Site.uai, Site.id)).all())


def _supplier_ids(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            sa.select(Supplier.siret, Supplier.id).where(Supplier.siret.is_not(None))
        ).all()
    )


# -- purchase lines: pass 1, chunk by chunk -----------------------------------------------------
#: Arrow types of the staged purchase columns that are not text.
PURCHASE_TYPES = {
    ROW: pa.int64(),
    "line_date": pa.timestamp("ns"),
    "quantity": pa.float64(),
    "amount_ht": pa.float64(),
    "site_id": pa.float64(),
    "supplier_id": pa.float64(),
    "is_short_circuit": pa.bool_(),
    "is_local": pa.bool_(),
}


def _purchase_format(forced: str | None, headers: list[str]) -> formats.Format:
    if forced == "macantine":
        return formats.MACANTINE
    if forced == "canonique":
        return formats.PURCHASES
    return formats.detect_purchase_format(headers)


def _prepare_purchases(
    session: Session, path: str | Path, report: Report, context: dict[str, Any]
) -> _Prepared:
    """Pass 1: read, convert and check the file chunk by chunk; stage the checked rows.

    Every problem goes to ``report`` with its spreadsheet row. Each chunk is dropped once
    staged: what stays in memory is 16 bytes per line (the key hashes) and a few sets.
    """
    table = read_table(
        path, context["encoding"], report, context["chunk_rows"], context["file_name"]
    )
    fmt = _purchase_format(context.get("file_format"), table.headers)
    name = "macantine" if fmt is formats.MACANTINE else "canonique"
    file_format = f"{name}-{table.file_format}"[:20]
    mapping = formats.match_headers(fmt, table.headers, table.original_headers, report)
    if report.fatal:
        return _Prepared(pd.DataFrame(), file_format, 0)
    site_ids = _site_ids(session)
    if fmt is formats.MACANTINE:
        prepare = _macantine_preparer(session, path, report, context, mapping, site_ids)
    else:
        prepare = _canonical_preparer(session, report, context, site_ids)

    staged = StagedRows(PURCHASE_TYPES, WRITE_CHUNK)
    hashes = KeyHashes()
    uais: set[str] = set()
    written_sites: set[int] = set()
    first_date = last_date = None
    row_count = 0
    try:
        for chunk in table.chunks:
            typed = formats.convert(chunk, fmt, mapping, report)
            del chunk
            row_count += len(typed)
            if report.fatal:  # e.g. an unknown --site: keep checking the rows, stage nothing
                continue
            typed = prepare(typed)
            bases = key_bases(typed)
            hashes.add(bases)
            typed["key_base"] = bases
            uais.update(typed["uai"].dropna().unique().tolist())
            written_sites.update(int(s) for s in typed["site_id"].dropna().unique())
            dates = pd.to_datetime(typed["line_date"]).dropna()
            if not dates.empty:
                low, high = dates.min().date(), dates.max().date()
                first_date = low if first_date is None else min(first_date, low)
                last_date = high if last_date is None else max(last_date, high)
            staged.append(typed[[c for c in STAGED_PURCHASE_COLUMNS if c in typed.columns]])
    except BaseException:
        staged.close()
        raise
    if row_count == 0 and not report.has_errors:
        report.file_error("Le fichier ne contient aucune ligne de données.")
    site_id = site_ids.get(next(iter(uais))) if len(uais) == 1 else None
    return _Prepared(
        pd.DataFrame(),
        file_format,
        row_count,
        site_id,
        staged=_StagedPurchases(staged, hashes.occurrences(), written_sites, first_date, last_date),
    )


def _canonical_preparer(
    session: Session, report: Report, context: dict[str, Any], site_ids: dict[str, int]
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    supplier_ids = _supplier_ids(session)
    allowed = context["allowed_site_ids"]

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        return formats.prepare_purchases(frame, report, site_ids, allowed, supplier_ids)

    return prepare


def _macantine_preparer(
    session: Session,
    path: str | Path,
    report: Report,
    context: dict[str, Any],
    mapping: dict[str, list[str]],
    site_ids: dict[str, int],
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """ma-cantine lines go to the chosen lycée (``--site``), else to the lycée of their SIRET."""
    site_uai = (context.get("site_uai") or "").strip().upper()
    allowed = context["allowed_site_ids"]
    if not site_uai:
        return _macantine_sites_by_siret(session, report, allowed)
    if site_uai not in site_ids:
        report.file_error(f"Lycée inconnu : « {site_uai} ».")
    elif allowed is not None and site_ids[site_uai] not in allowed:
        report.file_error(f"Vous ne pouvez pas importer d'achats pour le lycée {site_uai}.")
    if report.fatal:
        return lambda frame: frame
    site_id = site_ids[site_uai]
    canteen = session.scalar(sa.select(Site.siret).where(Site.id == site_id))
    if canteen is None:  # the file's own (majority) canteen SIRET: one more cheap read
        canteen = _majority_canteen_siret(path, context, mapping)

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        frame = formats.prepare_macantine(frame, report, canteen, site_uai)
        frame["site_id"] = site_id
        frame["supplier_id"] = None
        return frame

    return prepare


def _majority_canteen_siret(
    path: str | Path, context: dict[str, Any], mapping: dict[str, list[str]]
) -> str | None:
    table = read_table(
        path, context["encoding"], Report(), context["chunk_rows"], context["file_name"]
    )
    counts = pd.Series(dtype="int64")
    for chunk in table.chunks:
        sirets = formats.convert(chunk, formats.MACANTINE, {"siret": mapping["siret"]}, Report())
        counts = counts.add(sirets["canteen_siret"].dropna().value_counts(), fill_value=0)
    return None if counts.empty else counts.sort_values(ascending=False, kind="stable").index[0]


def _macantine_sites_by_siret(
    session: Session, report: Report, allowed: set[int] | None
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """No site chosen: each line's canteen SIRET designates the lycée (``sites.siret``)."""
    rows = session.execute(
        sa.select(Site.siret, Site.id, Site.uai).where(Site.siret.is_not(None))
    ).all()
    ids = {siret: site_id for siret, site_id, _ in rows}
    uais = {siret: uai for siret, _, uai in rows}

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        frame = formats.prepare_macantine(frame, report, None, None)
        frame["site_id"] = frame["canteen_siret"].map(ids)
        frame["uai"] = frame["canteen_siret"].map(uais)
        unknown = frame["canteen_siret"].notna() & frame["site_id"].isna()
        report.errors_where(
            frame,
            unknown,
            "siret",
            "Aucun lycée n'a le SIRET de cantine « {value} » : choisissez le lycée (option "
            "--site ou champ « Lycée » du formulaire) ou renseignez le SIRET du lycée.",
            frame["canteen_siret"],
        )
        if allowed is not None:
            outside = frame["site_id"].notna() & ~frame["site_id"].isin(list(allowed))
            report.errors_where(
                frame,
                outside,
                "siret",
                "Vous ne pouvez pas importer d'achats pour la cantine de SIRET « {value} ».",
                frame["canteen_siret"],
            )
        frame["supplier_id"] = None
        return frame

    return prepare


def _prepare_simple(kind: str):  # type: ignore[no-untyped-def]
    fmt = formats.FORMATS[kind]

    def prepare(
        session: Session, path: str | Path, report: Report, context: dict[str, Any]
    ) -> _Prepared:
        _, frame, container = _read_tabular(path, report, context, fmt)
        if report.fatal or frame.empty:
            return _Prepared(frame, container, len(frame))
        if kind == "matrix":
            frame = formats.prepare_matrix(frame, report, _supplier_ids(session))
            formats.check_duplicates(
                frame, ["supplier_siret", "reference"], "fournisseur et référence", report
            )
        elif kind == "sites":
            directions = set(session.scalars(sa.select(Direction.code)))
            frame = formats.prepare_sites(frame, report, directions)
            formats.check_duplicates(frame, ["uai"], "UAI", report)
            if "siret" in frame:
                formats.check_duplicates(frame, ["siret"], "SIRET", report)
        elif kind == "nomenclature":
            frame = formats.prepare_nomenclature(frame, report)
            formats.check_duplicates(frame, ["code"], "code", report)
        elif kind == "suppliers":
            if "is_ess" in frame:
                frame["is_ess"] = frame["is_ess"].map(lambda v: bool(v) if v is not None else False)
            formats.check_duplicates(frame, ["siret"], "SIRET", report)
        return _Prepared(frame, container, len(frame))

    return prepare


def _prepare_contracts(
    session: Session, path: str | Path, report: Report, context: dict[str, Any]
) -> _Prepared:
    forced = context.get("file_format")
    with open(path, "rb") as handle:
        head = handle.read(2048).lstrip(b"\xef\xbb\xbf \t\r\n")
    if forced in ("decp_v2", "decp_1.5") or (forced is None and head.startswith(b"{")):
        records, fmt = decp.read_json_contracts(path, report, forced)
        fmt = fmt or "decp_json"
    else:
        table = read_table(
            path, context["encoding"], report, context["chunk_rows"], context["file_name"]
        )
        if not decp.is_decp_csv(table.headers):
            report.file_error(
                "Ce fichier n'est ni un JSON DECP ni un CSV DECP à plat (colonnes id, "
                "acheteur_id et titulaire_id attendues)."
            )
            return _Prepared(pd.DataFrame(), "decp_csv", 0)
        known = {decp.normalise_header(n) for n in decp.csv_columns()}
        unknown = [
            o for h, o in zip(table.headers, table.original_headers, strict=True) if h not in known
        ]
        if unknown:
            report.warning(
                1,
                ", ".join(unknown)[:200],
                None,
                "Colonne(s) inconnue(s), ignorée(s) : " + ", ".join(unknown) + ".",
            )
        rows: list[dict[str, Any]] = []
        for chunk in table.chunks:
            rows += decp.frame_rows(chunk, table.headers, table.original_headers)
        records = decp.contracts_from_csv_rows(rows, report)
        fmt = "decp_csv"
    if not records and not report.has_errors:
        report.file_error("Le fichier ne contient aucun marché.")
    frame = pd.DataFrame(records) if records else pd.DataFrame(columns=[ROW, *decp.CONTRACT_FIELDS])
    if not frame.empty:
        divisions = _cpv_directions(session)
        frame["direction_code"] = frame["cpv_code"].map(
            lambda c: divisions.get(str(c)[:2]) if c else None
        )
        formats.check_duplicates(
            frame, ["buyer_id", "contract_id"], "acheteur et identifiant", report
        )
    return _Prepared(frame, fmt, len(frame))


def _cpv_directions(session: Session) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for code, divisions in session.execute(sa.select(Direction.code, Direction.cpv_divisions)):
        for division in (divisions or "").split(","):
            division = division.strip()
            if division:
                mapping.setdefault(division.zfill(2), code)
    return mapping


PREPARERS = {
    "purchases": _prepare_purchases,
    "contracts": _prepare_contracts,
    "matrix": _prepare_simple("matrix"),
    "suppliers": _prepare_simple("suppliers"),
    "nomenclature": _prepare_simple("nomenclature"),
    "sites": _prepare_simple("sites"),
}


# -- writing (per kind) -------------------------------------------------------------------------
PURCHASE_VALUES = (
    "site_id",
    "line_date",
    "supplier_id",
    "supplier_siret",
    "supplier_name",
    "reference",
    "label",
    "quantity",
    "unit",
    "amount_ht",
    "family",
    "labels",
    "origin",
    "nomenclature_code",
    "is_short_circuit",
    "is_local",
)


#: What pass 1 stages per purchase line (the raw text columns are dropped once converted).
STAGED_PURCHASE_COLUMNS = (ROW, *PURCHASE_VALUES, "key_base")
#: Keys per ``line_key IN (...)`` look-up of the existing lines (below every driver's limit).
KEY_LOOKUP_BATCH = 5_000


def _present(frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in frame.columns]


def _write_purchases(session: Session, staged: Any, report: Report, batch_id: int) -> UpsertResult:
    """Pass 2: upsert the staged lines chunk by chunk, skipping the rejected rows.

    The existing lines are looked up by key for each chunk, and only when the database holds
    lines of the file's lycées and dates at all (a first import skips the look-ups).
    """
    result = UpsertResult()
    if not isinstance(staged, _StagedPurchases):
        return result
    table = PurchaseLine.__table__
    look_up = bool(staged.site_ids) and bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    table.c.site_id.in_(sorted(staged.site_ids)),
                    table.c.line_date.between(staged.first_date, staged.last_date),
                )
            )
        )
    )
    for chunk, numbers in staged.chunks():
        bases = chunk.pop("key_base")
        if report.error_rows:
            keep = ~chunk[ROW].isin(report.error_rows).to_numpy()
            chunk, bases, numbers = chunk[keep].copy(), bases[keep], numbers[keep]
        if chunk.empty:
            continue
        chunk["line_key"] = line_keys(bases, numbers)
        values = _present(chunk, PURCHASE_VALUES)
        if look_up:
            existing = _existing_lines(session, table, chunk["line_key"], values)
        else:
            existing = pd.DataFrame(columns=["id", "line_key", *values])
        part, _ = upsert(
            session,
            table,
            "purchase_line",
            chunk,
            ["line_key"],
            values,
            report,
            batch_id,
            existing=existing,
            label="Import d'achats",
        )
        result.inserted += part.inserted
        result.updated += part.updated
        result.unchanged += part.unchanged
        result.conflicts += part.conflicts
    return result


def _existing_lines(
    session: Session, table: sa.Table, keys: pd.Series, values: list[str]
) -> pd.DataFrame:
    """The stored lines (id, key, compared values) having one of ``keys``."""
    columns = ["id", "line_key", *values]
    selected = [table.c[c] for c in columns]
    wanted = keys.tolist()
    rows: list[Any] = []
    for start in range(0, len(wanted), KEY_LOOKUP_BATCH):
        batch = wanted[start : start + KEY_LOOKUP_BATCH]
        rows += session.execute(sa.select(*selected).where(table.c.line_key.in_(batch))).all()
    return pd.DataFrame(rows, columns=columns)


def _write_simple(model: type, record_kind: str | None, keys: list[str], values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def write(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
        if frame.empty:
            return UpsertResult()
        present = _present(frame, values)
        result, _ = upsert(
            session,
            model.__table__,
            record_kind,
            frame[[*keys, ROW, *present]],
            keys,
            present,
            report,
            batch_id,
            label=f"Import {model.__tablename__}",
        )
        return result

    return write


def _write_contracts(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
    if frame.empty:
        return UpsertResult()
    table = Contract.__table__
    values = [c for c in decp.CONTRACT_FIELDS if c not in ("contract_id", "buyer_id")] + [
        "direction_code"
    ]
    frame = frame.copy()
    existing = _existing_contracts(session, values)

    def holder_getter(idx: Any, name: str):  # type: ignore[no-untyped-def]
        parsed = holder_field(name)
        if parsed is None:
            return None
        role, position = parsed
        holders = frame.at[idx, "holders"]
        for holder in holders:
            if holder["role"] == role and holder["position"] == position:

                def put(value: Any, h: dict = holder) -> None:
                    h["identifier"] = value

                return (lambda h=holder: h["identifier"]), put
        return None

    result, changed_index = upsert(
        session,
        table,
        "contract",
        frame[["buyer_id", "contract_id", ROW, *values, "holders", "modifications"]],
        ["buyer_id", "contract_id"],
        [*values, "holders", "modifications"],
        report,
        batch_id,
        existing=existing,
        pseudo_cols=["holders", "modifications"],
        holder_getter=holder_getter,
        label="Import de marchés",
    )
    changed = frame.loc[changed_index]
    if changed.empty:
        return result
    ids = dict(
        (tuple(k), i)
        for *k, i in session.execute(
            sa.select(Contract.buyer_id, Contract.contract_id, Contract.id).where(
                Contract.import_batch_id == batch_id
            )
        )
    )
    contract_ids = [
        ids[(b, c)] for b, c in zip(changed["buyer_id"], changed["contract_id"], strict=True)
    ]
    session.execute(sa.delete(ContractHolder).where(ContractHolder.contract_id.in_(contract_ids)))
    session.execute(
        sa.delete(ContractModification).where(ContractModification.contract_id.in_(contract_ids))
    )
    holders = []
    modifications = []
    for contract_id, hs, ms in zip(
        contract_ids, changed["holders"], changed["modifications"], strict=True
    ):
        holders += [{**h, "contract_id": contract_id} for h in hs]
        modifications += [{**m, "contract_id": contract_id} for m in ms]
    if holders:
        session.execute(sa.insert(ContractHolder), holders)
    if modifications:
        session.execute(sa.insert(ContractModification), modifications)
    session.expire_all()
    return result


def _existing_contracts(session: Session, values: list[str]) -> pd.DataFrame:
    table = Contract.__table__
    columns = ["id", "buyer_id", "contract_id", *values]
    rows = session.execute(sa.select(*(table.c[c] for c in columns))).all()
    frame = pd.DataFrame(rows, columns=columns)
    holders: dict[int, list] = {}
    for h in session.execute(
        sa.select(ContractHolder).order_by(
            ContractHolder.contract_id, ContractHolder.role, ContractHolder.position
        )
    ).scalars():
        holders.setdefault(h.contract_id, []).append(
            {
                "role": h.role,
                "position": h.position,
                "id_type": h.id_type,
                "identifier": h.identifier,
                "name": h.name,
                "amount": h.amount,
                "details": h.details,
            }
        )
    modifications: dict[int, list] = {}
    for m in session.execute(
        sa.select(ContractModification).order_by(
            ContractModification.contract_id, ContractModification.position
        )
    ).scalars():
        modifications.setdefault(m.contract_id, []).append(
            {
                "position": m.position,
                "object": m.object,
                "duration_months": m.duration_months,
                "amount": m.amount,
                "notification_date": m.notification_date,
                "publication_date": m.publication_date,
                "holders": m.holders,
            }
        )
    frame["holders"] = [holders.get(i, []) for i in frame["id"]]
    frame["modifications"] = [modifications.get(i, []) for i in frame["id"]]
    return frame


WRITERS = {
    "purchases": _write_purchases,
    "contracts": _write_contracts,
    "matrix": _write_simple(
        MatrixEntry,
        "matrix_entry",
        ["supplier_id", "reference"],
        (
            "label",
            "nomenclature_code",
            "labels",
            "origin",
            "unit_price",
            "unit",
            "valid_from",
            "valid_to",
        ),
    ),
    "suppliers": _write_simple(
        Supplier,
        "supplier",
        ["siret"],
        ("name", "company_category", "headcount_bracket", "commune_code", "is_ess"),
    ),
    "nomenclature": _write_simple(
        NomenclatureItem,
        "nomenclature_item",
        ["code"],
        ("label", "family", "parent_code", "is_active"),
    ),
    "sites": _write_simple(
        Site, None, ["uai"], ("name", "kind", "commune", "department", "direction_code", "siret")
    ),
}
