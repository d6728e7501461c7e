"""Reference kinds set up by hand on a new instance: directions and user accounts.

These files are small (tens to a few thousand rows), so their rows are written through the
ORM and, for accounts, through :mod:`workbench.auth.operations` (one journal entry per
account, the same checks as ``workbench users create``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from workbench.imports import formats
from workbench.imports.operations.common import _Prepared
from workbench.imports.parsing import ROW, Report
from workbench.imports.writer import UpsertResult
from workbench.reference.models import Direction, Site

_UAI_SPLIT = re.compile(r"[\s,;|]+")
#: Length of the generated passwords (``secrets.token_urlsafe``: about 1.3 characters a byte).
PASSWORD_BYTES = 12


@dataclass
class AccountCounts(UpsertResult):
    """The counts of an accounts import, and the passwords generated for the new accounts.

    The passwords exist only here, in memory: they are shown once by the command that ran
    the import and are never stored (the database keeps their hash).
    """

    passwords: dict[str, str] = field(default_factory=dict)


def _read(path: str | Path, report: Report, context: dict[str, Any], kind: str) -> _Prepared:
    from workbench.imports.operations.prepare import _read_tabular

    _, frame, container = _read_tabular(path, report, context, formats.FORMATS[kind])
    return _Prepared(frame, container, len(frame))


# -- directions ---------------------------------------------------------------------------------
def prepare_directions(
    session: Session, path: str | Path, report: Report, context: dict[str, Any]
) -> _Prepared:
    prepared = _read(path, report, context, "directions")
    frame = prepared.frame
    if report.fatal or frame.empty:
        return prepared
    if "cpv_divisions" in frame:
        frame["cpv_divisions"] = frame["cpv_divisions"].map(
            lambda v: (
                ",".join(d.strip().zfill(2) for d in str(v).split(",") if d.strip())
                if v is not None
                else None
            )
        )
        bad = frame["cpv_divisions"].map(
            lambda v: v is not None and not all(d.isdigit() and len(d) == 2 for d in v.split(","))
        )
        report.errors_where(
            frame,
            bad.astype(bool),
            "divisions_cpv",
            "Divisions CPV invalides « {value} » (deux chiffres, séparées par des virgules).",
            frame["cpv_divisions"],
        )
    formats.check_duplicates(frame, ["code"], "code", report)
    return prepared


def write_directions(
    session: Session, frame: pd.DataFrame, report: Report, batch_id: int
) -> UpsertResult:
    result = UpsertResult()
    existing = {d.code: d for d in session.scalars(sa.select(Direction))}
    for row in frame.to_dict("records"):
        values = {"name": row["name"]}
        if row.get("cpv_divisions") is not None:
            values["cpv_divisions"] = row["cpv_divisions"]
        direction = existing.get(row["code"])
        if direction is None:
            session.add(Direction(code=row["code"], **{"cpv_divisions": "", **values}))
            result.inserted += 1
        elif any(getattr(direction, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(direction, key, value)
            result.updated += 1
        else:
            result.unchanged += 1
        result.changed_keys.append((row["code"],))
    session.flush()
    return result


# -- user accounts ------------------------------------------------------------------------------
def _uais(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [u for u in _UAI_SPLIT.split(str(value).upper()) if u]


def prepare_users(
    session: Session, path: str | Path, report: Report, context: dict[str, Any]
) -> _Prepared:
    """Check every account row against the reference data, like ``workbench users create``."""
    prepared = _read(path, report, context, "users")
    frame = prepared.frame
    if report.fatal or frame.empty:
        return prepared
    sites = set(session.scalars(sa.select(Site.uai)))
    directions = set(session.scalars(sa.select(Direction.code)))
    emails: list[str | None] = []
    uai_lists: list[list[str]] = []
    for row in frame.to_dict("records"):
        number = int(row[ROW])
        email = None
        try:
            email = validate_email(
                str(row.get("email") or ""), check_deliverability=False
            ).normalized.lower()
        except EmailNotValidError:
            report.error(number, "email", row.get("email"), "Adresse électronique invalide.")
        emails.append(email)
        role = (row.get("role") or "").lower()
        uais = _uais(row.get("site_uais"))
        uai_lists.append(uais)
        unknown = [u for u in uais if u not in sites]
        if unknown:
            report.error(
                number,
                "lycees",
                ", ".join(unknown),
                "Lycée(s) inconnu(s) : " + ", ".join(unknown) + " (importez d'abord les sites).",
            )
        if role == "canteen" and not uais:
            report.error(
                number, "lycees", None, "Un compte cantine doit être rattaché à au moins un lycée."
            )
        direction = row.get("direction")
        if role == "direction":
            if not direction:
                report.error(
                    number,
                    "direction",
                    None,
                    "Un compte direction doit être rattaché à une direction.",
                )
            elif direction not in directions:
                report.error(
                    number,
                    "direction",
                    direction,
                    f"Direction inconnue : {direction} (importez d'abord les directions).",
                )
    frame["email"] = emails
    frame["role"] = frame["role"].map(lambda r: r.lower() if isinstance(r, str) else r)
    frame["site_uais"] = uai_lists
    formats.check_duplicates(frame, ["email"], "adresse", report)
    return prepared


def write_users(session: Session, frame: pd.DataFrame, report: Report, batch_id: int):  # type: ignore[no-untyped-def]
    """Create the new accounts (generated password) and update the others (password kept)."""
    from workbench.auth import operations as accounts
    from workbench.auth.models import User
    from workbench.core.errors import ValidationError

    result = AccountCounts()
    existing = {u.email: u for u in session.scalars(sa.select(User))}
    for row in frame.to_dict("records"):
        role = row["role"]
        direction = row.get("direction") if role == "direction" else None
        try:
            user = existing.get(row["email"])
            if user is None:
                password = secrets.token_urlsafe(PASSWORD_BYTES)
                accounts.create_user(
                    session,
                    row["email"],
                    role,
                    password,
                    name=row.get("name") or "",
                    site_uais=row["site_uais"],
                    direction=direction,
                )
                result.passwords[row["email"]] = password
                result.inserted += 1
            else:
                before = (user.name, user.role, sorted(user.site_ids), user.direction_code)
                accounts.update_user(
                    session,
                    user,
                    email=user.email,
                    name=row.get("name") or user.name,
                    role=role,
                    site_uais=row["site_uais"],
                    direction=direction,
                    is_active=user.is_active_account,
                )
                after = (user.name, user.role, sorted(user.site_ids), user.direction_code)
                if after != before:
                    result.updated += 1
                else:
                    result.unchanged += 1
        except ValidationError as error:  # checked in pass 1; kept as a last guard
            report.error(int(row[ROW]), "email", row["email"], error.message)
            raise
        result.changed_keys.append((row["email"],))
    return result
