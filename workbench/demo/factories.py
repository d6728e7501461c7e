"""Object factories shared by the tests and the demo dataset (one way to make each record)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from workbench.auth import operations as auth_operations
from workbench.auth.models import User
from workbench.records.access import RECORD_MODELS
from workbench.records.keys import purchase_line_key
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import Direction, MatrixEntry, NomenclatureItem, Site, Supplier
from workbench.rules.models import Anomaly

_counter = itertools.count(1)


def make_direction(
    session: Session,
    code: str = "DLYC",
    name: str = "Direction des lycées",
    cpv_divisions: str = "15,55",
) -> Direction:
    direction = session.get(Direction, code)
    if direction is None:
        direction = Direction(code=code, name=name, cpv_divisions=cpv_divisions)
        session.add(direction)
        session.flush()
    return direction


def make_site(
    session: Session,
    uai: str | None = None,
    name: str | None = None,
    direction_code: str | None = "DLYC",
    **extra: Any,
) -> Site:
    n = next(_counter)
    if direction_code:
        make_direction(session, direction_code)
    site = Site(
        uai=uai or f"{n:07d}X"[-8:],
        name=name or f"Lycée n° {n}",
        direction_code=direction_code,
        **extra,
    )
    session.add(site)
    session.flush()
    return site


def make_user(
    session: Session,
    email: str | None = None,
    role: str = "admin",
    password: str = "motdepasse-test",
    sites: list[Site] | None = None,
    direction: str | None = None,
    name: str = "",
) -> User:
    if role == "direction" and direction is None:
        direction = make_direction(session).code
    if role == "canteen" and not sites:
        sites = [make_site(session)]
    return auth_operations.create_user(
        session,
        email or f"user{next(_counter)}@region.example",
        role,
        password,
        name=name,
        site_uais=[s.uai for s in sites or []],
        direction=direction,
    )


def make_supplier(
    session: Session, siret: str | None = "55204599900869", name: str | None = None, **extra: Any
) -> Supplier:
    supplier = Supplier(siret=siret, name=name or f"Fournisseur {next(_counter)}", **extra)
    session.add(supplier)
    session.flush()
    return supplier


def make_nomenclature_item(
    session: Session,
    code: str | None = None,
    label: str = "Yaourt nature",
    family: str = "PRODUITS_LAITIERS",
    **extra: Any,
) -> NomenclatureItem:
    item = NomenclatureItem(
        code=code or f"N{next(_counter):05d}", label=label, family=family, **extra
    )
    session.add(item)
    session.flush()
    return item


def make_matrix_entry(
    session: Session,
    supplier: Supplier,
    reference: str = "REF-1",
    label: str = "YAOURT NAT 125G",
    **extra: Any,
) -> MatrixEntry:
    entry = MatrixEntry(supplier_id=supplier.id, reference=reference, label=label, **extra)
    session.add(entry)
    session.flush()
    return entry


def make_purchase_line(
    session: Session,
    site: Site,
    label: str = "YAOURT NAT BIO 125G X48",
    line_date: dt.date = dt.date(2026, 3, 2),
    supplier: Supplier | None = None,
    reference: str | None = None,
    amount_ht: float = 120.0,
    **extra: Any,
) -> PurchaseLine:
    siret = supplier.siret if supplier else None
    occurrence = next(_counter)
    line = PurchaseLine(
        line_key=purchase_line_key(site.uai, line_date, siret, reference, label, occurrence),
        site_id=site.id,
        line_date=line_date,
        supplier_id=supplier.id if supplier else None,
        supplier_siret=siret,
        supplier_name=supplier.name if supplier else None,
        reference=reference,
        label=label,
        amount_ht=amount_ht,
        **extra,
    )
    session.add(line)
    session.flush()
    return line


def make_contract(
    session: Session,
    contract_id: str | None = None,
    buyer_id: str = "23350001600040",
    holders: list[tuple[str, str]] | None = None,
    direction_code: str | None = "DLYC",
    **extra: Any,
) -> Contract:
    if direction_code:
        make_direction(session, direction_code)
    values: dict[str, Any] = {
        "nature": "Marché",
        "object": "Fourniture de denrées alimentaires",
        "cpv_code": "15000000-8",
        "procedure": "Appel d'offres ouvert",
        "duration_months": 12,
        "notification_date": dt.date(2025, 3, 1),
        "publication_date": dt.date(2025, 3, 15),
        "amount": 150000.0,
        "offers_received": 3,
        "social_considerations": ["Pas de considération sociale"],
        "environmental_considerations": ["Pas de considération environnementale"],
        "source_format": "decp_v2",
    }
    values.update(extra)
    contract = Contract(
        contract_id=contract_id or f"2025-{next(_counter):05d}",
        buyer_id=buyer_id,
        direction_code=direction_code,
        **values,
    )
    for position, (id_type, identifier) in enumerate(holders or [("SIRET", "55204599900869")]):
        contract.holders.append(
            ContractHolder(role="holder", position=position, id_type=id_type, identifier=identifier)
        )
    session.add(contract)
    session.flush()
    return contract


def make_anomaly(
    session: Session,
    record: Any,
    rule_code: str = "ARTICLE_UNMAPPED",
    field: str = "",
    severity: str = "warning",
    days_old: int = 0,
    **extra: Any,
) -> Anomaly:
    """An open anomaly on ``record``: kind, owner and scope are derived from the record."""
    kind = next(k for k, model in RECORD_MODELS.items() if isinstance(record, model))
    values: dict[str, Any] = {
        "owner_role": "canteen" if kind == "purchase_line" else "direction",
        "site_id": getattr(record, "site_id", None) if kind == "purchase_line" else None,
        "direction_code": getattr(record, "direction_code", None),
        "value": None,
        "message": f"Anomalie {rule_code}",
        "first_seen_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=days_old),
    }
    values.update(extra)
    anomaly = Anomaly(
        rule_code=rule_code,
        record_kind=kind,
        record_id=record.id,
        field=field,
        severity=severity,
        **values,
    )
    session.add(anomaly)
    session.flush()
    return anomaly


# -- builders shared with the demo dataset (workbench/demo/generate/, workbench/demo/decp/) -------------


def demo_siret(seed: int = 0, *, valid: bool = True) -> str:
    """A SIRET as the demo generates them: valid (SIREN and SIRET Luhn) or failing Luhn."""
    import numpy as np

    from workbench.demo.generate import corrupt_siret, make_siret

    siret = make_siret(np.random.default_rng(seed))
    return siret if valid else corrupt_siret(siret)


def article_label(
    nomenclature_label: str, *, quality: str = "", origin: str = "", state: str = "", pack: str = ""
) -> str:
    """A supplier-style label built like the demo's: ``article_label("Boeuf, steak haché 15% MG, cru",
    origin="VBF", pack="10X1KG")`` → ``STEAK HACHE 15% MG BF VBF 10X1KG``."""
    from workbench.demo.nomenclature import article_core, compose_label

    return compose_label(
        article_core(nomenclature_label), quality=quality, origin=origin, state=state, pack=pack
    )


def make_decp_contract(
    session: Session,
    kind: str = "marche",
    direction_code: str | None = "DLYC",
    error: str | None = None,
    **fields: Any,
) -> Contract:
    """A contract built from a DECP v2 record (``raw`` set), as the demo loads them.

    ``fields`` are the keyword arguments of :func:`workbench.demo.decp.decp_marche` (or
    ``decp_concession`` when ``kind="concession"``); ``error`` applies one of
    :data:`workbench.demo.decp.ERRORS` (e.g. ``"DURATION_DAYS"``) to the record.
    """
    from workbench.demo import decp

    fields.setdefault("id", f"T{next(_counter):06d}")
    record = decp.decp_concession(**fields) if kind == "concession" else decp.decp_marche(**fields)
    if error:
        decp.ERRORS[error](record)
    if direction_code:
        make_direction(session, direction_code)
    contract = Contract(direction_code=direction_code, **decp.contract_columns(record, kind))
    for row in decp.holder_rows(record, kind):
        contract.holders.append(ContractHolder(**row))
    for row in decp.modification_rows(record, kind):
        contract.modifications.append(ContractModification(**row))
    session.add(contract)
    session.flush()
    return contract
