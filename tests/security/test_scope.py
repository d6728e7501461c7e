"""One scope function, deny by default (``records.access.scope_clause``): what each role reads
of each record kind — in record pages, queues, exports and indicators — including a role the
code does not know, which reads nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.security.conftest import OWN_DIRECTION, assert_unchanged, snapshot
from workbench.auth.models import User
from workbench.exports import queries as export_queries
from workbench.indicators import queries as indicator_queries
from workbench.records.access import RECORD_MODELS, scope_clause
from workbench.reference.models import MatrixEntry
from workbench.rules.models import Anomaly
from workbench.rules.queries import scope_anomalies

KINDS = (*RECORD_MODELS, "anomaly")


def _user(make, world, role: str) -> User:  # type: ignore[no-untyped-def]
    if role == "canteen":
        return make.user(role="canteen", sites=[world.own_site])
    if role == "direction":
        return make.user(role="direction", direction=OWN_DIRECTION)
    if role == "ghost":  # a role the code does not know (the CHECK keeps it out of the table)
        return User(id=-1, email="ghost@region.example", role="ghost", sites=[])
    return make.user(role=role)


def _visible(session, kind: str, user, *, figures: bool = False) -> set[int]:  # type: ignore[no-untyped-def]
    model = Anomaly if kind == "anomaly" else RECORD_MODELS[kind]
    return set(
        session.scalars(sa.select(model.id).where(scope_clause(kind, user, figures=figures)))
    )


def _all(session, kind: str) -> set[int]:  # type: ignore[no-untyped-def]
    model = Anomaly if kind == "anomaly" else RECORD_MODELS[kind]
    return set(session.scalars(sa.select(model.id)))


@pytest.mark.parametrize("role", ["legal", "admin"])
def test_legal_and_admin_read_every_record(session, world, make, role):
    user = _user(make, world, role)
    for kind in KINDS:
        assert _visible(session, kind, user) == _all(session, kind), kind
    clause = scope_clause("import_batch", user)  # a kind the function does not know
    assert session.scalar(sa.select(sa.literal(1)).where(clause)) is None


def test_a_canteen_reads_its_lycees_lines_and_the_shared_reference_only(session, world, make):
    user = _user(make, world, "canteen")
    assert _visible(session, "purchase_line", user) == {world.own_line.id}
    assert _visible(session, "contract", user) == set()
    assert _visible(session, "supplier", user) == set()
    assert _visible(session, "matrix_entry", user) == _all(session, "matrix_entry")
    assert _visible(session, "nomenclature_item", user) == _all(session, "nomenclature_item")
    assert _visible(session, "anomaly", user) == set(), "the world's anomalies are another lycée's"
    assert _visible(session, "contract", user, figures=True) == set()


def test_a_direction_reads_its_contracts_suppliers_and_their_matrices_only(session, world, make):
    user = _user(make, world, "direction")
    own_entry = make.matrix_entry(world.own_supplier, reference="REF-OWN", label="POMME")
    assert _visible(session, "contract", user) == {world.own_contract.id}
    assert _visible(session, "supplier", user) == {world.own_supplier.id}
    assert _visible(session, "matrix_entry", user) == {own_entry.id}
    assert world.matrix_entry.id not in _visible(session, "matrix_entry", user)
    assert _visible(session, "purchase_line", user) == set()
    assert _visible(session, "anomaly", user) == set()
    # figures: the region's purchases (EGalim) and supplier reference, still its own contracts
    assert _visible(session, "purchase_line", user, figures=True) == _all(session, "purchase_line")
    assert _visible(session, "contract", user, figures=True) == {world.own_contract.id}


def test_a_viewer_reads_no_record_but_every_figure(session, world, make):
    user = _user(make, world, "viewer")
    for kind in KINDS:
        assert _visible(session, kind, user) == set(), kind
    for kind in ("purchase_line", "contract", "supplier"):
        assert _visible(session, kind, user, figures=True) == _all(session, kind), kind
    assert _visible(session, "matrix_entry", user, figures=True) == set()


def _egalim_sites(session, user) -> set[int]:  # type: ignore[no-untyped-def]
    frame = indicator_queries.egalim_aggregate(session, user, indicator_queries.Filters(), "53")
    return set() if frame.empty else {int(s) for s in frame["site_id"]}


def test_an_unknown_role_or_no_user_reads_nothing_anywhere(session, world, make):
    ghost = _user(make, world, "ghost")
    for user in (ghost, None):
        for kind in KINDS:
            assert _visible(session, kind, user) == set(), kind
            assert _visible(session, kind, user, figures=True) == set(), kind
    assert session.scalars(scope_anomalies(sa.select(Anomaly.id), ghost)).all() == []
    assert list(export_queries.canonical_rows(session, ghost)) == []
    assert list(export_queries.macantine_rows(session, ghost)) == []
    assert export_queries.contract_rows(session, ghost) == ([], {})
    assert _egalim_sites(session, ghost) == set()
    contracts, holders, suppliers = indicator_queries.contract_frames(session, ghost)
    assert contracts.empty and holders.empty and suppliers.empty


def test_exports_follow_the_scope_function_for_every_role(session, world, make):
    lines = {
        role: len(list(export_queries.canonical_rows(session, _user(make, world, role))))
        for role in ("canteen", "direction", "legal", "admin", "viewer")
    }
    total = len(_all(session, "purchase_line"))
    assert lines == {"canteen": 1, "direction": 0, "legal": total, "admin": total, "viewer": 0}
    contracts, holders = export_queries.contract_rows(session, _user(make, world, "direction"))
    assert [c["id"] for c in contracts] == [world.own_contract.id]
    assert set(holders) <= {world.own_contract.id}
    assert export_queries.contract_rows(session, _user(make, world, "canteen")) == ([], {})
    # the DECP export is open data: the viewer downloads every contract (figures scope)
    contracts, _ = export_queries.contract_rows(session, _user(make, world, "viewer"))
    assert {c["id"] for c in contracts} == _all(session, "contract")


def test_indicators_follow_the_scope_function(session, world, make):
    canteen = _user(make, world, "canteen")
    assert _egalim_sites(session, canteen) == {world.own_site.id}
    direction = _user(make, world, "direction")
    contracts, holders, _ = indicator_queries.contract_frames(session, direction)
    assert set(contracts["id"]) == {world.own_contract.id}
    assert set(holders["contract_id"]) <= {world.own_contract.id}
    viewer = _user(make, world, "viewer")
    contracts, _, _ = indicator_queries.contract_frames(session, viewer)
    assert set(contracts["id"]) == _all(session, "contract")


def test_a_direction_cannot_correct_the_matrix_of_another_directions_supplier(
    client, session, world, make, login_as
):
    own_entry = make.matrix_entry(world.own_supplier, reference="REF-OWN2", label="POIRE")
    login_as("direction", direction=OWN_DIRECTION)
    before = snapshot(session)
    response = client.post_form(
        f"/dossiers/matrix_entry/{world.matrix_entry.id}/corriger",
        {"field": "origin", "value": "FRANCE", "reason": "forgé", "base_version": "1"},
    )
    assert response.status_code in (403, 404)
    assert client.get(f"/dossiers/matrix_entry/{world.matrix_entry.id}").status_code == 404
    assert_unchanged(session, before)
    # the control: its own supplier's matrix entry can be corrected
    response = client.post_form(
        f"/dossiers/matrix_entry/{own_entry.id}/corriger",
        {"field": "origin", "value": "FRANCE", "reason": "vu", "base_version": "1"},
    )
    assert response.status_code in (200, 302)
    with pytest.raises(AssertionError, match="tables changed"):
        assert_unchanged(session, before)
    assert session.get(MatrixEntry, world.matrix_entry.id).origin != "FRANCE"
