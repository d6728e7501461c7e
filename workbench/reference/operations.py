"""Reference data edited by the administrator: directions and sites (flush and journal)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.core.errors import ValidationError
from workbench.imports.formats import UAI_PATTERN
from workbench.reference.models import Direction, Site


def _direction_snapshot(direction: Direction) -> dict:
    return {"code": direction.code, "name": direction.name, "cpv": direction.cpv_divisions}


def _site_snapshot(site: Site) -> dict:
    return {
        "uai": site.uai,
        "name": site.name,
        "kind": site.kind,
        "commune": site.commune,
        "department": site.department,
        "direction": site.direction_code,
        "siret": site.siret,
    }


def _cpv(text: str) -> str:
    divisions = [d.strip().zfill(2) for d in (text or "").split(",") if d.strip()]
    if not all(d.isdigit() and len(d) == 2 for d in divisions):
        raise ValidationError("Divisions CPV : deux chiffres séparés par des virgules (ex. 15,55).")
    return ",".join(divisions)


def save_direction(
    session: Session, direction: Direction | None, *, code: str, name: str, cpv_divisions: str = ""
) -> Direction:
    """Create (``direction`` None) or update a direction; the code of an existing one stays."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("Le nom de la direction est obligatoire.")
    divisions = _cpv(cpv_divisions)
    before = None
    if direction is None:
        code = (code or "").strip().upper()
        if not code or len(code) > 20:
            raise ValidationError(
                "Le code de la direction est obligatoire (20 caractères au plus)."
            )
        if session.get(Direction, code) is not None:
            raise ValidationError(f"La direction {code} existe déjà.")
        direction = Direction(code=code, name=name, cpv_divisions=divisions)
        session.add(direction)
    else:
        before = _direction_snapshot(direction)
        direction.name, direction.cpv_divisions = name, divisions
    session.flush()
    _journal_change(
        session, "direction", direction.code, direction.name, before, _direction_snapshot(direction)
    )
    return direction


def save_site(
    session: Session,
    site: Site | None,
    *,
    uai: str,
    name: str,
    kind: str = "lycee",
    commune: str | None = None,
    department: str | None = None,
    direction_code: str | None = None,
    siret: str | None = None,
) -> Site:
    """Create (``site`` None) or update a site, with the checks of the sites import."""
    uai = (uai or "").strip().upper()
    if not UAI_PATTERN.match(uai):
        raise ValidationError(f"Code UAI invalide « {uai} » (7 chiffres et une lettre).")
    name = (name or "").strip()
    if not name:
        raise ValidationError("Le nom du site est obligatoire.")
    direction_code = (direction_code or "").strip().upper() or None
    if direction_code and session.get(Direction, direction_code) is None:
        raise ValidationError(f"Direction inconnue : {direction_code}.")
    siret = "".join((siret or "").split()) or None
    if siret and (not siret.isdigit() or len(siret) != 14):
        raise ValidationError("Le SIRET de la cantine compte 14 chiffres.")
    other = session.scalar(
        sa.select(Site).where(
            sa.or_(Site.uai == uai, sa.and_(Site.siret.is_not(None), Site.siret == siret))
        )
    )
    if other is not None and other is not site:
        what = "l'UAI" if other.uai == uai else "le SIRET"
        raise ValidationError(f"Un autre site ({other.uai}) a déjà {what} saisi.")
    before = None if site is None else _site_snapshot(site)
    if site is None:
        site = Site(uai=uai)
        session.add(site)
    site.uai, site.name, site.kind = uai, name, (kind or "lycee").strip() or "lycee"
    site.commune = (commune or "").strip() or None
    site.department = (department or "").strip() or None
    site.direction_code, site.siret = direction_code, siret
    session.flush()
    _journal_change(session, "site", site.id, site.uai, before, _site_snapshot(site))
    return site


def _journal_change(
    session: Session, kind: str, target_id: Any, label: str, before: Any, after: Any
) -> None:
    """``<kind>.create`` or ``<kind>.update`` with before/after, when something changed."""
    if after != before:
        record(
            session,
            f"{kind}.create" if before is None else f"{kind}.update",
            target_kind=kind,
            target_id=target_id,
            target_label=label,
            before=before,
            after=after,
        )
