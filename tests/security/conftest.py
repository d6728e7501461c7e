"""A small two-lycée, two-direction world, and a snapshot of every table to prove nothing moved.

"Own" records are in the logged-in user's scope (site ``own_site``, direction ``DLYC``); "other"
records belong to another lycée (``other_site``) or another direction (``DOTH``) and must stay
out of reach whatever the request says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from workbench.auth import powers
from workbench.db import Base
from workbench.imports.models import ImportBatch
from workbench.matching.queries import label_key
from workbench.review import operations

OWN_DIRECTION = "DLYC"
OTHER_DIRECTION = "DOTH"
OWN_SIRET = "55204599900869"
OTHER_SIRET = "73282932000074"
SECRET = "SECRET AUTRE LYCEE"


def snapshot(session) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Every row of every table, as sorted text: equal snapshots mean nothing changed."""
    session.flush()  # (setup made after login is undone by a view's rollback: make it before)
    session.expire_all()
    return {
        table.name: sorted(repr(tuple(row)) for row in session.execute(sa.select(table)))
        for table in Base.metadata.sorted_tables
    }


def assert_unchanged(session, before: dict[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    after = snapshot(session)
    changed = {
        name: (
            sorted(set(before[name]) - set(after[name]))[:3],
            sorted(set(after[name]) - set(before[name]))[:3],
        )
        for name in before
        if before[name] != after.get(name)
    }
    assert not changed, f"tables changed (rows gone, rows new): {changed}"


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):  # type: ignore[no-untyped-def]
    """Users are made by the dozen here: a one-round hash keeps the tests fast (tests only)."""
    from werkzeug import security

    monkeypatch.setattr(
        "workbench.auth.models.generate_password_hash",
        lambda password: security.generate_password_hash(password, method="pbkdf2:sha256:1"),
    )


@dataclass
class World:
    own_site: Any
    other_site: Any
    own_line: Any
    other_line: Any
    other_unmapped: Any
    own_contract: Any
    other_contract: Any
    own_supplier: Any
    other_supplier: Any
    matrix_entry: Any
    matrix_line: Any
    code: str
    line_anomaly: Any
    contract_anomaly: Any
    supplier_anomaly: Any
    line_pending: Any
    line_applied: Any
    contract_pending: Any
    contract_applied: Any
    other_batch: Any
    other_canteen: Any
    other_direction: Any
    legal: Any
    account_request: Any

    @property
    def other_group(self) -> str:
        return f"lbl:{label_key(self.other_unmapped.label)}"

    @property
    def other_ref_group(self) -> str:
        return f"ref:{OTHER_SIRET}|REF-SECRET"


def _anomaly(make, rule_code, record, severity="warning", **scope):  # type: ignore[no-untyped-def]
    return make.anomaly(
        record,
        rule_code,
        severity=severity,
        days_old=3,
        value="x",
        message="anomalie de test",
        **scope,
    )


@pytest.fixture
def world(session, make, monkeypatch) -> World:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patch:  # the rules re-check is not under test: skip it here
        patch.setattr(operations, "_recheck_applied", lambda *args, **kwargs: None)
        return _world(session, make)


def _world(session, make) -> World:  # type: ignore[no-untyped-def]
    make.direction(OWN_DIRECTION)
    make.direction(OTHER_DIRECTION, name="Autre direction")
    own_site = make.site(name="Lycée Maison")
    other_site = make.site(name="Lycée Voisin", direction_code=OTHER_DIRECTION)
    item = make.nomenclature_item(label="Yaourt nature")
    own_supplier = make.supplier(siret=OWN_SIRET, name="Fournisseur Maison", direction_code="DLYC")
    other_supplier = make.supplier(
        siret=OTHER_SIRET, name="Fournisseur Voisin", direction_code=OTHER_DIRECTION
    )
    matrix_entry = make.matrix_entry(other_supplier, reference="REF-M", label="YAOURT MATRICE")
    matrix_line = make.purchase_line(
        other_site, label="YAOURT MATRICE", supplier=other_supplier, reference="REF-M", labels="BIO"
    )
    own_line = make.purchase_line(own_site, label="YAOURT MAISON")
    other_line = make.purchase_line(other_site, label="YAOURT VOISIN", labels="BIO")
    other_unmapped = make.purchase_line(other_site, label=SECRET)
    make.purchase_line(
        other_site, label="ARTICLE REF", supplier=other_supplier, reference="REF-SECRET"
    )
    own_contract = make.contract(direction_code=OWN_DIRECTION, holders=[("SIRET", OWN_SIRET)])
    other_contract = make.contract(
        direction_code=OTHER_DIRECTION,
        holders=[("SIRET", OTHER_SIRET)],
        object="Marché secret de l'autre direction",
    )
    other_canteen = make.user(role="canteen", sites=[other_site])
    other_direction = make.user(role="direction", direction=OTHER_DIRECTION)
    legal = make.user(role="legal")

    line_applied = operations.propose_correction(
        session, other_canteen, "purchase_line", other_line.id, "nomenclature_code", item.code, "vu"
    )
    line_pending = operations.propose_correction(
        session, other_canteen, "purchase_line", other_line.id, "labels", "", "pas bio"
    )
    contract_applied = operations.propose_correction(
        session, other_direction, "contract", other_contract.id, "procedure", "MAPA", "erreur"
    )
    operations.decide(session, legal, contract_applied, True, "ok")
    account_request = powers.request_role(session, other_canteen, "legal", by=legal)
    contract_pending = operations.propose_correction(
        session, other_direction, "contract", other_contract.id, "object", "Denrées", "précision"
    )
    assert line_applied.status == "applied" and contract_applied.status == "applied"
    assert line_pending.status == "pending" and contract_pending.status == "pending"

    line_anomaly = _anomaly(make, "LABEL_FAMILY_MISMATCH", other_line)
    contract_anomaly = _anomaly(make, "CONTRACT_FIELD_MISSING", other_contract, severity="blocking")
    supplier_anomaly = _anomaly(
        make, "SIRET_MISSING", other_supplier, supplier_id=other_supplier.id
    )
    assert (line_anomaly.site_id, contract_anomaly.direction_code) == (
        other_site.id,
        OTHER_DIRECTION,
    )
    batch = ImportBatch(
        kind="purchases",
        file_name="achats-voisin.csv",
        sha256="f" * 64,
        status="applied",
        site_id=other_site.id,
        created_by_id=other_canteen.id,
        report=[{"row": 2, "column": "libelle", "value": SECRET, "message": "m", "level": "error"}],
    )
    session.add(batch)
    session.flush()
    return World(
        own_site=own_site,
        other_site=other_site,
        own_line=own_line,
        other_line=other_line,
        other_unmapped=other_unmapped,
        own_contract=own_contract,
        other_contract=other_contract,
        own_supplier=own_supplier,
        other_supplier=other_supplier,
        matrix_entry=matrix_entry,
        matrix_line=matrix_line,
        code=item.code,
        line_anomaly=line_anomaly,
        contract_anomaly=contract_anomaly,
        supplier_anomaly=supplier_anomaly,
        line_pending=line_pending,
        line_applied=line_applied,
        contract_pending=contract_pending,
        contract_applied=contract_applied,
        other_batch=batch,
        other_canteen=other_canteen,
        other_direction=other_direction,
        legal=legal,
        account_request=account_request,
    )


@pytest.fixture
def as_canteen(login_as, world):  # type: ignore[no-untyped-def]
    """Logged in as a canteen user of ``world.own_site`` only."""
    return login_as("canteen", sites=[world.own_site])


@pytest.fixture
def as_direction(login_as, world):  # type: ignore[no-untyped-def]
    """Logged in as a direction user of ``DLYC`` only."""
    return login_as("direction", direction=OWN_DIRECTION)
