"""Importing a file: read, check everything, then write all-or-nothing (or the valid rows).

:func:`import_file` is the one entry point (web, CLI, tests, benchmark). It flushes and
journals but never commits: the caller commits once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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
from workbench.imports.writer import UpsertResult, holder_field, upsert
from workbench.records.keys import purchase_line_keys
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
class _Prepared:
    frame: pd.DataFrame
    file_format: str
    row_count: int
    site_id: int | None = None


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
    rejected = report.fatal or (report.has_errors and not partial) or prepared.frame is None
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

    frame = prepared.frame
    if report.error_rows and not frame.empty:
        frame = frame[~frame[ROW].isin(report.error_rows)]
    if dry_run:
        savepoint = session.begin_nested()
        try:
            scratch = _new_batch(session, "dry_run", batch_values, None)
            counts = WRITERS[kind](session, frame, report, scratch.id)
        finally:
            savepoint.rollback()
        status = "dry_run"
    else:
        scratch = None
        status = "applied"
    batch = _new_batch(session, status, batch_values, None)
    if not dry_run:
        counts = WRITERS[kind](session, frame, report, batch.id)
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


def _macantine_sites_by_siret(
    session: Session, frame: pd.DataFrame, report: Report, context: dict[str, Any]
) -> pd.DataFrame:
    """No site chosen: each line's canteen SIRET designates the lycée (``sites.siret``)."""
    rows = session.execute(
        sa.select(Site.siret, Site.id, Site.uai).where(Site.siret.is_not(None))
    ).all()
    ids = {siret: site_id for siret, site_id, _ in rows}
    uais = {siret: uai for siret, _, uai in rows}
    frame = formats.prepare_macantine(frame, report, None, None)
    frame["site_id"] = frame["canteen_siret"].map(ids)
    frame["uai"] = frame["canteen_siret"].map(uais)
    unknown = frame["canteen_siret"].notna() & frame["site_id"].isna()
    report.errors_where(
        frame,
        unknown,
        "siret",
        "Aucun lycée n'a le SIRET de cantine « {value} » : choisissez le lycée (option --site "
        "ou champ « Lycée » du formulaire) ou renseignez le SIRET du lycée.",
        frame["canteen_siret"],
    )
    allowed = context["allowed_site_ids"]
    if allowed is not None:
        outside = frame["site_id"].notna() & ~frame["site_id"].isin(list(allowed))
        report.errors_where(
            frame,
            outside,
            "siret",
            "Vous ne pouvez pas importer d'achats pour la cantine de SIRET « {value} ».",
            frame["canteen_siret"],
        )
    return frame


def _prepare_purchases(
    session: Session, path: str | Path, report: Report, context: dict[str, Any]
) -> _Prepared:
    fmt, frame, container = _read_tabular(path, report, context, None)
    site_ids = _site_ids(session)
    site_id = None
    if fmt is formats.MACANTINE:
        site_uai = (context.get("site_uai") or "").strip().upper()
        if site_uai and site_uai not in site_ids:
            report.file_error(f"Lycée inconnu : « {site_uai} ».")
        elif (
            site_uai
            and context["allowed_site_ids"] is not None
            and (site_ids[site_uai] not in context["allowed_site_ids"])
        ):
            report.file_error(f"Vous ne pouvez pas importer d'achats pour le lycée {site_uai}.")
        elif site_uai:
            site_id = site_ids[site_uai]
        if report.fatal or frame.empty:
            return _Prepared(frame, "macantine", len(frame), site_id)
        if site_id is not None:
            own_siret = session.scalar(sa.select(Site.siret).where(Site.id == site_id))
            canteen = own_siret or formats.majority_value(frame["canteen_siret"])
            frame = formats.prepare_macantine(frame, report, canteen, site_uai)
            frame["site_id"] = site_id
        else:
            frame = _macantine_sites_by_siret(session, frame, report, context)
            uais = frame["uai"].dropna().unique()
            if len(uais) == 1:
                site_id = site_ids.get(uais[0])
        frame["supplier_id"] = None
        frame = frame.drop(
            columns=[
                c for c in ("canteen_siret", "local_definition", "local_km") if c in frame.columns
            ]
        )
        file_format = "macantine"
    else:
        if report.fatal or frame.empty:
            return _Prepared(frame, "canonique", len(frame))
        frame = formats.prepare_purchases(
            frame, report, site_ids, context["allowed_site_ids"], _supplier_ids(session)
        )
        uais = frame["uai"].dropna().unique()
        if len(uais) == 1 and uais[0] in site_ids:
            site_id = site_ids[uais[0]]
        file_format = "canonique"
    frame["line_key"] = line_keys(frame, context["chunk_rows"])
    return _Prepared(frame, f"{file_format}-{container}"[:20], len(frame), site_id)


def line_keys(frame: pd.DataFrame, chunk_rows: int) -> pd.Series:
    """:func:`~workbench.records.keys.purchase_line_keys`, computed by parts to bound memory.

    A key's occurrence number only counts lines with the same site and date, so computing it
    per (site, month) part, lines kept in file order, gives exactly the whole-file keys.
    """
    dates = pd.to_datetime(frame["line_date"])
    month = (dates.dt.year * 12 + dates.dt.month).fillna(-1).astype("int64").to_numpy()
    site = pd.factorize(frame["uai"].astype(object))[0].astype("int64")
    part = site * 1_000_000 + month
    order = np.argsort(part, kind="stable")
    boundaries = np.flatnonzero(np.diff(part[order])) + 1
    groups = np.split(order, boundaries)
    keys = np.empty(len(frame), dtype=object)
    batch: list[np.ndarray] = []
    size = 0
    for positions in [*groups, None]:
        if positions is not None:
            batch.append(positions)
            size += len(positions)
        if batch and (positions is None or size >= chunk_rows):
            selected = np.sort(np.concatenate(batch))
            with pd.option_context("future.infer_string", True):  # Arrow string operations
                keys[selected] = purchase_line_keys(frame.iloc[selected]).to_numpy(dtype=object)
            batch, size = [], 0
    return pd.Series(keys, index=frame.index, dtype="string[pyarrow]")


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


def _present(frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in frame.columns]


def _write_purchases(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
    if frame.empty:
        return UpsertResult()
    table = PurchaseLine.__table__
    values = _present(frame, PURCHASE_VALUES)
    dates = pd.to_datetime(frame["line_date"])
    where = sa.and_(
        table.c.site_id.in_([int(s) for s in frame["site_id"].dropna().unique()]),
        table.c.line_date.between(dates.min().date(), dates.max().date()),
    )
    result, _ = upsert(
        session,
        table,
        "purchase_line",
        frame,
        ["line_key"],
        values,
        report,
        batch_id,
        where=where,
        label="Import d'achats",
    )
    return result


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
