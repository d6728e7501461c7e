"""Corrections: immediate vs approval, four eyes, conflicts, revert — each journaled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.core.errors import ConflictError, PermissionDenied, ValidationError
from workbench.review import operations
from workbench.review.models import Correction
from workbench.rules.models import Anomaly


def _actions(session, kind, record_id):
    return [
        a
        for (a,) in session.execute(
            sa.select(AuditEntry.action)
            .where(AuditEntry.target_kind == kind, AuditEntry.target_id == str(record_id))
            .order_by(AuditEntry.id)
        )
    ]


@pytest.fixture(autouse=True)
def nomenclature(make):
    """The codes the tests map articles to: a correction must name an active item."""
    return {
        code: make.nomenclature_item(code=code) for code in ("N001", "N1", "N2", "N5", "N9", "N042")
    }


@pytest.fixture
def canteen(make):
    site = make.site()
    user = make.user(role="canteen", sites=[site])
    return user, site


def test_mapping_an_article_applies_at_once_and_is_journaled(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, label="YAOURT NAT 125G")
    correction = operations.propose_correction(
        session,
        user,
        "purchase_line",
        line.id,
        "nomenclature_code",
        "N001",
        "article identifié",
        base_version=line.version,
    )
    assert correction.status == "applied"
    assert line.nomenclature_code == "N001" and line.version == 2
    assert _actions(session, "purchase_line", line.id) == ["correction.applied"]


def test_changing_a_declared_label_waits_for_legal_approval(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, labels="BIO")
    correction = operations.propose_correction(
        session, user, "purchase_line", line.id, "labels", "", "pas bio selon la facture"
    )
    assert correction.status == "pending" and line.labels == "BIO"
    legal = make.user(role="legal")
    operations.decide(session, legal, correction, True, "vu la facture")
    assert correction.status == "applied" and line.labels == ""
    assert _actions(session, "purchase_line", line.id) == [
        "correction.proposed",
        "correction.approved",
        "correction.applied",
    ]


def test_nobody_approves_their_own_proposal_even_with_two_roles_worth_of_rights(session, make):
    legal = make.user(role="legal")
    admin = make.user(role="admin")
    supplier = make.supplier(siret=None, name="Sans SIRET")
    correction = operations.propose_correction(
        session, admin, "supplier", supplier.id, "siret", "552 045 999 00869", "Sirene"
    )
    assert correction.new_value == "55204599900869"
    with pytest.raises(PermissionDenied):
        operations.decide(session, admin, correction, True, "")
    # a legal user who proposes cannot decide either (the database refuses it too)
    correction.proposed_by_id = legal.id
    with pytest.raises(PermissionDenied, match="quatre yeux"):
        operations.decide(session, legal, correction, True, "")


def test_database_refuses_a_decision_by_the_proposer(session, make):
    legal = make.user(role="legal")
    admin = make.user(role="admin")
    supplier = make.supplier(siret=None)
    correction = operations.propose_correction(
        session, admin, "supplier", supplier.id, "name", "ACME", "typo"
    )
    session.flush()
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.update(Correction)
            .where(Correction.id == correction.id)
            .values(decided_by_id=admin.id)
        )
    assert legal.id != admin.id


def test_an_invalid_siret_is_refused_before_it_is_proposed(session, make):
    admin = make.user(role="admin")
    supplier = make.supplier(siret=None)
    with pytest.raises(ValidationError, match="SIRET valide"):
        operations.propose_correction(
            session, admin, "supplier", supplier.id, "siret", "12345678900023", "x"
        )
    assert session.scalar(sa.select(sa.func.count()).select_from(Correction)) == 0


def test_second_editor_gets_a_conflict_with_the_current_value(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site)
    seen_version = line.version
    operations.propose_correction(
        session,
        user,
        "purchase_line",
        line.id,
        "nomenclature_code",
        "N1",
        "a",
        base_version=seen_version,
    )
    with pytest.raises(ConflictError, match="N1"):
        operations.propose_correction(
            session,
            user,
            "purchase_line",
            line.id,
            "nomenclature_code",
            "N2",
            "b",
            base_version=seen_version,
        )
    assert line.nomenclature_code == "N1"


def test_approval_of_an_outdated_proposal_is_marked_conflict_not_applied(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, origin="FRANCE")
    proposal = operations.propose_correction(
        session, user, "purchase_line", line.id, "origin", "UE", "facture"
    )
    operations.propose_correction(
        session, user, "purchase_line", line.id, "nomenclature_code", "N9", "map"
    )
    legal = make.user(role="legal")
    operations.decide(session, legal, proposal, True, "")
    assert proposal.status == "conflict" and line.origin == "FRANCE"


def test_revert_restores_the_old_value_and_is_itself_audited(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site)
    first = operations.propose_correction(
        session, user, "purchase_line", line.id, "nomenclature_code", "N5", "m"
    )
    revert = operations.revert_correction(session, user, first, "mauvais article")
    assert line.nomenclature_code is None
    assert revert.kind == "revert" and revert.status == "applied" and revert.reverts_id == first.id
    assert first.status == "reverted"
    assert _actions(session, "purchase_line", line.id) == [
        "correction.applied",
        "correction.applied",
    ]
    entry = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_kind == "purchase_line", AuditEntry.target_id == str(line.id))
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.after["kind"] == "revert" and entry.after["new_value"] is None, entry.after


def test_canteen_user_cannot_correct_another_lycees_line(session, make, canteen):
    user, _ = canteen
    other_line = make.purchase_line(make.site())
    with pytest.raises(PermissionDenied):
        operations.propose_correction(
            session, user, "purchase_line", other_line.id, "nomenclature_code", "N", "x"
        )


def test_dismissing_a_blocking_anomaly_needs_approval(session, make):
    direction_user = make.user(role="direction")
    contract = make.contract(direction_code=direction_user.direction_code)
    anomaly = make.anomaly(contract, "AMOUNT_OUT_OF_RANGE", "amount", severity="blocking")
    proposal = operations.dismiss_anomaly(
        session, direction_user, anomaly, "accepted_exception", "marché réel"
    )
    assert anomaly.status == "proposed" and proposal.kind == "dismissal"
    legal = make.user(role="legal")
    operations.decide(session, legal, proposal, True, "ok")
    assert anomaly.status == "dismissed" and anomaly.dismiss_reason == "accepted_exception"


def test_dismissal_without_comment_is_refused(session, make):
    user = make.user(role="direction")
    contract = make.contract(direction_code=user.direction_code)
    anomaly = make.anomaly(contract, "X")
    with pytest.raises(ValidationError):
        operations.dismiss_anomaly(session, user, anomaly, "false_positive", " ")
    assert anomaly.status == "open"


def test_record_page_shows_failing_fields_and_history(client, login_as, make, session):
    site = make.site()
    login_as("canteen", sites=[site])
    line = make.purchase_line(site, label="FILET CABILLAUD MSC SURG")
    make.anomaly(line, "ARTICLE_UNMAPPED", "nomenclature_code")
    html = client.get(f"/dossiers/purchase_line/{line.id}").get_data(as_text=True)
    assert "FILET CABILLAUD MSC SURG" in html and "à corriger" in html
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/corriger",
        {
            "field": "nomenclature_code",
            "value": "N042",
            "reason": "poisson",
            "base_version": str(line.version),
        },
    )
    assert response.status_code == 302
    session.refresh(line)
    assert line.nomenclature_code == "N042"
    html = client.get(f"/dossiers/purchase_line/{line.id}").get_data(as_text=True)
    assert "correction.applied" in html


def test_stale_form_gets_a_clear_conflict_message(client, login_as, make, session):
    site = make.site()
    user = login_as("canteen", sites=[site])
    line = make.purchase_line(site)
    operations.propose_correction(
        session, user, "purchase_line", line.id, "nomenclature_code", "N1", "a"
    )
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/corriger",
        {"field": "nomenclature_code", "value": "N2", "reason": "b", "base_version": "1"},
        follow_redirects=True,
    )
    assert "modifié par quelqu" in response.get_data(as_text=True) and "N1" in response.get_data(
        as_text=True
    )


def test_legal_approves_a_batch_and_cannot_decide_their_own(client, login_as, make, session):
    direction = make.user(role="direction")
    suppliers = [
        make.supplier(siret=None, name=f"S{i}", direction_code=direction.direction_code)
        for i in range(3)
    ]
    proposals = [
        operations.propose_correction(
            session, direction, "supplier", s.id, "company_category", "PME", "Sirene"
        )
        for s in suppliers
    ]
    legal = login_as("legal")
    page = client.get("/a-valider").get_data(as_text=True)
    assert "S0" in page and "PME" in page
    response = client.post_form(
        "/a-valider/groupe",
        {"ids": [str(p.id) for p in proposals], "decision": "approve", "comment": ""},
    )
    assert response.status_code == 302
    assert all(p.status == "applied" for p in proposals) and {
        s.company_category for s in suppliers
    } == {"PME"}
    assert all(p.decided_by_id == legal.id for p in proposals)


def test_viewer_cannot_open_the_approval_queue(client, login_as):
    login_as("viewer")
    assert client.get("/a-valider").status_code == 403


def test_record_page_compares_the_line_with_the_supplier_matrix(client, login_as, make, session):
    site = make.site()
    login_as("canteen", sites=[site])
    supplier = make.supplier()
    make.matrix_entry(
        supplier, reference="R-42", label="YAOURT NAT 125G", labels="", origin="FRANCE"
    )
    line = make.purchase_line(
        site, supplier=supplier, reference="R-42", labels="BIO", origin="FRANCE"
    )
    html = client.get(f"/dossiers/purchase_line/{line.id}").get_data(as_text=True)
    assert "Matrice fournisseur" in html and "Accepter la valeur de la matrice" in html
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/corriger",
        {
            "field": "labels",
            "value": "",
            "reason": "Valeur de la matrice fournisseur",
            "base_version": "1",
        },
    )
    assert response.status_code == 302
    assert (
        session.scalar(sa.select(Correction.status).where(Correction.record_id == line.id))
        == "pending"
    )


def test_revert_reopens_the_anomaly_when_the_old_value_breaks_the_rule_again(
    session, make, canteen
):
    from workbench.rules.operations import run_rules

    user, site = canteen
    item = make.nomenclature_item(code="NOM-YAOURT", label="Yaourt nature")
    line = make.purchase_line(site, label="YAOURT NAT 125G")
    run_rules(session, rule_codes=["ARTICLE_UNMAPPED"])
    anomaly = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "ARTICLE_UNMAPPED", Anomaly.record_id == line.id
        )
    )
    assert anomaly.status == "open"
    mapping = operations.propose_correction(
        session,
        user,
        "purchase_line",
        line.id,
        "nomenclature_code",
        item.code,
        "yaourt",
        anomaly_id=anomaly.id,
    )
    session.refresh(anomaly)
    assert anomaly.status == "resolved"  # closed by the incremental re-check, no full run
    operations.revert_correction(session, user, mapping, "mauvais article")
    session.refresh(anomaly)
    assert anomaly.status == "open" and line.nomenclature_code is None
    actions = session.scalars(
        sa.select(AuditEntry.action).where(
            AuditEntry.target_kind == "anomaly", AuditEntry.target_id == str(anomaly.id)
        )
    ).all()
    assert "anomaly.closed_auto" in actions and "anomaly.reopened" in actions


def test_rejection_and_dismissal_are_journaled(session, make):
    direction = make.user(role="direction")
    legal = make.user(role="legal")
    supplier = make.supplier(siret=None, direction_code=direction.direction_code)
    proposal = operations.propose_correction(
        session, direction, "supplier", supplier.id, "name", "ACME SAS", "Kbis"
    )
    with pytest.raises(ValidationError, match="motivé"):
        operations.decide(session, legal, proposal, False, "")
    operations.decide(session, legal, proposal, False, "Le Kbis dit autre chose")
    assert proposal.status == "rejected" and supplier.name != "ACME SAS"
    anomaly = make.anomaly(supplier, "COMPANY_CATEGORY_MISSING", "company_category")
    assert (
        operations.dismiss_anomaly(session, direction, anomaly, "data_unavailable", "Sirene muet")
        is None
    )
    actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "correction.rejected" in actions and "anomaly.dismissed" in actions
    assert anomaly.status == "dismissed" and anomaly.dismiss_comment == "Sirene muet"


def test_a_canteen_reports_a_wrong_matrix_and_the_direction_fixes_it(
    client, login_as, make, session
):
    from workbench.rules.operations import run_rules

    site = make.site()
    supplier = make.supplier(direction_code="DLYC")
    entry = make.matrix_entry(supplier, reference="R-7", label="YAOURT NAT 125G", labels="")
    line = make.purchase_line(site, supplier=supplier, reference="R-7", labels="BIO")
    canteen = login_as("canteen", sites=[site])
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/signaler-matrice",
        {"field": "labels", "comment": "certificat AB du fournisseur"},
    )
    assert response.status_code == 302
    report = session.scalar(sa.select(Anomaly).where(Anomaly.rule_code == "MATRIX_REPORTED"))
    assert (report.record_kind, report.record_id, report.owner_role) == (
        "matrix_entry",
        entry.id,
        "direction",
    )
    assert report.direction_code == "DLYC" and "certificat AB" in report.message
    with pytest.raises(ConflictError, match="déjà signalé"):
        operations.report_matrix(session, canteen, line, "labels", "encore")
    run_rules(session)  # the engine never closes a manual report
    session.refresh(report)
    assert report.status == "open"
    direction = make.user(role="direction", direction="DLYC")
    proposal = operations.propose_correction(
        session,
        direction,
        "matrix_entry",
        entry.id,
        "labels",
        "BIO",
        "certificat vérifié",
        anomaly_id=report.id,
    )
    operations.decide(session, make.user(role="legal"), proposal, True, "ok")
    session.refresh(report)
    assert entry.labels == "BIO" and report.status == "resolved"
    assert "matrix.reported" in session.scalars(sa.select(AuditEntry.action)).all()


def test_reporting_a_matrix_needs_a_reason_and_a_matrix_entry(session, make, canteen):
    user, site = canteen
    line = make.purchase_line(site, reference="SANS-MATRICE")
    with pytest.raises(ValidationError, match="Expliquez"):
        operations.report_matrix(session, user, line, "labels", " ")
    with pytest.raises(ValidationError, match="pas dans la matrice"):
        operations.report_matrix(session, user, line, "labels", "raison")


def test_batch_approval_re_checks_every_record_in_one_run(session, make):
    from workbench.core.signals import records_changed

    direction = make.user(role="direction")
    suppliers = [
        make.supplier(siret=None, name=f"B{i}", direction_code=direction.direction_code)
        for i in range(3)
    ]
    proposals = [
        operations.propose_correction(
            session, direction, "supplier", s.id, "company_category", "PME", "Sirene"
        )
        for s in suppliers
    ]
    sent = []

    def receiver(sender, **kwargs):
        sent.append((kwargs["record_kind"], kwargs["record_ids"]))

    records_changed.connect(receiver)
    try:
        operations.decide_many(
            session, make.user(role="legal"), [p.id for p in proposals], True, ""
        )
    finally:
        records_changed.disconnect(receiver)
    assert sent == [("supplier", sorted(s.id for s in suppliers))]
    assert all(p.status == "applied" for p in proposals)
