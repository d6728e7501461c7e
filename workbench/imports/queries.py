"""Read side of imports: recent batches within the user's scope, report rendering."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.core.csvsafe import safe_cell
from workbench.imports.models import ImportBatch
from workbench.reference.models import Site

REPORT_COLUMNS = ("ligne", "colonne", "valeur", "message", "niveau")
LEVEL_LABELS = {"error": "erreur", "warning": "avertissement"}


def batch_scope(user: User) -> sa.ColumnElement[bool]:
    """Admins see every batch; canteen users the batches they made or of their sites."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.CANTEEN:
        return sa.or_(
            ImportBatch.created_by_id == user.id,
            ImportBatch.site_id.in_(user.site_ids or {-1}),
        )
    return sa.false()


def batches_statement(user: User) -> sa.Select:
    """The batches ``user`` may see, the latest first."""
    return sa.select(ImportBatch).where(batch_scope(user)).order_by(ImportBatch.id.desc())


def recent_batches(session: Session, user: User, limit: int = 30) -> list[ImportBatch]:
    return list(session.scalars(batches_statement(user).limit(limit)))


def get_batch(session: Session, user: User, batch_id: int) -> ImportBatch | None:
    return session.scalar(
        sa.select(ImportBatch).where(ImportBatch.id == batch_id, batch_scope(user))
    )


def importable_sites(session: Session, user: User) -> list[Site]:
    statement = sa.select(Site).order_by(Site.uai)
    if user.role != Role.ADMIN:
        statement = statement.where(Site.id.in_(user.site_ids or {-1}))
    return list(session.scalars(statement))


def report_lines(problems: list[dict[str, Any]]) -> list[str]:
    """One printable line per problem: ``ligne 12, colonne prix_ht, valeur « abc » : message``."""
    lines = []
    for p in problems:
        where = []
        if p.get("row") is not None:
            where.append(f"ligne {p['row']}")
        if p.get("column"):
            where.append(f"colonne {p['column']}")
        if p.get("value") not in (None, ""):
            where.append(f"valeur « {p['value']} »")
        prefix = "ERREUR" if p.get("level") == "error" else "AVERTISSEMENT"
        lines.append(f"{prefix} {', '.join(where) or 'fichier'} : {p['message']}")
    return lines


def report_csv(problems: list[dict[str, Any]]) -> str:
    """The report as CSV (``;``), with spreadsheet formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(REPORT_COLUMNS)
    for p in problems:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    p.get("row") if p.get("row") is not None else "",
                    p.get("column") or "",
                    p.get("value") or "",
                    p.get("message") or "",
                    LEVEL_LABELS.get(p.get("level") or "", p.get("level") or ""),
                )
            ]
        )
    return "\ufeff" + buffer.getvalue()
