"""Every value is validated before it is applied; every correction follows its approval policy;
forged hidden fields are a 400, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.core.errors import ValidationError
from workbench.review import operations
from workbench.review.fields import EDITABLE
from workbench.review.models import Correction
from workbench.rules.models import RuleSetting
from workbench.rules.registry import get_rule


@pytest.fixture
def canteen(make):
    site = make.site()
    return make.user(role="canteen", sites=[site]), site


def _journaled(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


@pytest.mark.parametrize("code", ["N-INCONNU", "'; DROP TABLE x; --", "x" * 30])
def test_a_nomenclature_code_that_does_not_exist_is_refused_in_french(session, make, canteen, code):
    user, site = canteen
    line = make.purchase_line(site)
    before = _journaled(session)
    with pytest.raises(ValidationError, match="n'existe pas dans la nomenclature"):
        operations.propose_correction(
            session, user, "purchase_line", line.id, "nomenclature_code", code, "x"
        )
    assert line.nomenclature_code is None and line.version == 1
    assert _journaled(session) == before


def test_an_inactive_nomenclature_code_is_refused(session, make, canteen):
    user, site = canteen
    make.nomenclature_item(code="N-OLD", label="Ancien article", is_active=False)
    line = make.purchase_line(site)
    with pytest.raises(ValidationError, match="désactivé"):
        operations.propose_correction(
            session, user, "purchase_line", line.id, "nomenclature_code", "N-OLD", "x"
        )


def test_a_code_is_stored_as_the_nomenclature_spells_it(session, make, canteen):
    user, site = canteen
    make.nomenclature_item(code="NOM-Yaourt")
    line = make.purchase_line(site)
    operations.propose_correction(
        session, user, "purchase_line", line.id, "nomenclature_code", "nom-yaourt", "x"
    )
    assert line.nomenclature_code == "NOM-Yaourt"


def test_a_matrix_code_is_checked_too_and_again_when_it_is_approved(session, make):
    direction = make.user(role="direction")
    supplier = make.supplier(direction_code=direction.direction_code)
    entry = make.matrix_entry(supplier)
    with pytest.raises(ValidationError, match="n'existe pas"):
        operations.propose_correction(
            session, direction, "matrix_entry", entry.id, "nomenclature_code", "N-NONE", "x"
        )
    item = make.nomenclature_item(code="N-MATRIX")
    proposal = operations.propose_correction(
        session, direction, "matrix_entry", entry.id, "nomenclature_code", "N-MATRIX", "fiche"
    )
    assert proposal.status == "pending"
    item.is_active = False  # deactivated while the proposal waited
    session.flush()
    legal = make.user(role="legal")
    with pytest.raises(ValidationError, match="désactivé"):
        operations.decide(session, legal, proposal, True, "")
    assert entry.nomenclature_code != "N-MATRIX"


def test_a_rule_set_to_approval_holds_direct_corrections_of_its_field(session, make, canteen):
    """ARTICLE_UNMAPPED set to « approval »: a code typed on the record page waits as well."""
    user, site = canteen
    make.nomenclature_item(code="N-OK")
    session.add(RuleSetting(rule_code="ARTICLE_UNMAPPED", approval_policy="approval", params={}))
    session.flush()
    line = make.purchase_line(site)
    correction = operations.propose_correction(
        session, user, "purchase_line", line.id, "nomenclature_code", "N-OK", "sans anomalie"
    )
    assert correction.status == "pending" and line.nomenclature_code is None


def test_a_setting_never_relaxes_a_field_that_needs_approval(session, make):
    """SIRET_INVALID set to « immediate » by an admin: a SIRET still needs the legal department."""
    direction = make.user(role="direction")
    supplier = make.supplier(siret=None, direction_code=direction.direction_code)
    anomaly = make.anomaly(supplier, "SIRET_INVALID", "siret")
    session.add(RuleSetting(rule_code="SIRET_INVALID", approval_policy="immediate", params={}))
    session.flush()
    correction = operations.propose_correction(
        session,
        direction,
        "supplier",
        supplier.id,
        "siret",
        "55204599900869",
        "Sirene",
        anomaly_id=anomaly.id,
    )
    assert correction.status == "pending" and supplier.siret is None


def test_every_immediate_field_names_the_rules_that_govern_it():
    """A field applied at once by default is listed with its rules (their policy then holds)."""
    for kind, fields in EDITABLE.items():
        for name, definition in fields.items():
            if definition.policy == "immediate":
                rules = operations.FIELD_RULES.get((kind, name))
                assert rules and all(get_rule(code) is not None for code in rules), (kind, name)


def test_an_unknown_rule_code_means_approval(session):
    assert operations.approval_policy(session, "purchase_line", "nomenclature_code", "NOPE") == (
        "approval"
    )


@pytest.mark.parametrize(
    "field,value", [("base_version", "abc"), ("base_version", "1e3"), ("anomaly_id", "1; --")]
)
def test_a_forged_hidden_number_is_a_400_not_a_500(client, login_as, make, session, field, value):
    site = make.site()
    login_as("canteen", sites=[site])
    line = make.purchase_line(site)
    data = {"field": "labels", "value": "", "reason": "r", "base_version": "1", field: value}
    response = client.post_form(f"/dossiers/purchase_line/{line.id}/corriger", data)
    assert response.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(Correction)) == 0


def test_a_forged_id_in_a_batch_decision_is_a_400(client, login_as):
    login_as("legal")
    response = client.post_form("/a-valider/groupe", {"decision": "approve", "ids": ["1", "x"]})
    assert response.status_code == 400


def test_deciding_an_already_decided_proposal_says_so_and_journals_nothing(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, labels="BIO")
    proposal = operations.propose_correction(
        session, user, "purchase_line", line.id, "labels", "", "facture"
    )
    legal = make.user(role="legal")
    other_legal = make.user(role="legal")
    operations.decide(session, legal, proposal, False, "non")
    before = _journaled(session)
    with pytest.raises(Exception, match="déjà été traitée"):
        operations.decide(session, other_legal, proposal, True, "")
    assert _journaled(session) == before


def test_a_second_revert_proposal_of_one_field_is_refused(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, labels="BIO")
    proposal = operations.propose_correction(
        session, user, "purchase_line", line.id, "labels", "", "facture"
    )
    operations.decide(session, make.user(role="legal"), proposal, True, "")
    operations.revert_correction(session, user, proposal, "erreur")
    with pytest.raises(Exception, match="attend déjà une validation"):
        operations.revert_correction(session, user, proposal, "erreur bis")
