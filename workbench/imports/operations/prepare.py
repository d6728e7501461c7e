"""Reading and checking a file, per kind (pass 1; purchase lines chunk by chunk)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.imports import decp, formats
from workbench.imports.operations.common import _Prepared, _StagedPurchases
from workbench.imports.operations.reference import prepare_directions, prepare_users
from workbench.imports.operations.write import STAGED_PURCHASE_COLUMNS
from workbench.imports.parsing import ROW, Report, read_table
from workbench.imports.staging import KeyHashes, StagedRows, key_bases
from workbench.imports.writer import WRITE_CHUNK
from workbench.reference.models import Direction, Site, Supplier


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
    "local_km": pa.float64(),
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
        records, fmt = decp.read_json_contracts(path, report, forced, context["file_name"])
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
        records = decp.contracts_from_csv_rows(rows, report, context["file_name"])
        fmt = "decp_csv"
    if not records and not report.has_errors:
        report.file_error("Le fichier ne contient aucun marché.")
    elif not records and not report.fatal:
        report.file_error(
            "Aucun enregistrement identifiable (identifiant et acheteur) : rien à importer."
        )
    read = sum(r.pop("_read", 1) for r in records)
    frame = pd.DataFrame(records) if records else pd.DataFrame(columns=[ROW, *decp.CONTRACT_FIELDS])
    frame.attrs["file_name"] = context["file_name"]  # named by the history of older publications
    if not frame.empty:
        divisions = _cpv_directions(session)
        frame["direction_code"] = frame["cpv_code"].map(
            lambda c: divisions.get(str(c)[:2]) if c else None
        )
    # record level: refused records are the report's errors, the others are written
    refused = len(report.error_rows)
    return _Prepared(frame, fmt, read + refused, record_level=True, refused=refused)


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
    "directions": prepare_directions,
    "users": prepare_users,
}
