"""Nomenclature governance: proposals from the queue, decisions, retiring and merging items."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.core.errors import ValidationError
from workbench.matching.models import MatchAlias
from workbench.reference import nomenclature as governance
from workbench.reference.models import MatrixEntry, NomenclatureItem, NomenclatureProposal
from workbench.rules.models import Anomaly


def _actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.like("nomenclature.%"))
            .order_by(AuditEntry.id)
        )
    )


def _open(session, line, rule: str) -> list[Anomaly]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            sa.select(Anomaly).where(
                Anomaly.record_kind == "purchase_line",
                Anomaly.record_id == line.id,
                Anomaly.rule_code == rule,
                Anomaly.status.in_(("open", "claimed", "proposed")),
            )
        )
    )


def test_a_canteen_team_proposes_an_item_from_an_unmapped_group(client, login_as, make, session):
    site = make.site()
    make.purchase_line(site, label="TOFU FUME BIO 200G", nomenclature_code=None)
    login_as("canteen", sites=[site])
    page = client.get("/articles").get_data(as_text=True)
    assert "Proposer un nouvel article" in page
    link = client.get("/nomenclature/proposer?group=label:tofu&label=TOFU FUME BIO 200G")
    assert link.status_code == 200 and 'value="TOFU FUME BIO 200G"' in link.get_data(as_text=True)
    response = client.post_form(
        "/nomenclature/proposer",
        {
            "label": "Tofu fumé",
            "family": "AUTRES",
            "parent_code": "",
            "comment": "pas de tofu dans la nomenclature",
            "group": "label:tofu",
        },
    )
    assert response.status_code == 302
    proposal = session.scalar(sa.select(NomenclatureProposal))
    assert proposal.label == "Tofu fumé" and proposal.group_key == "label:tofu"
    assert proposal.status == "proposed" and _actions(session) == ["nomenclature.propose"]


def test_the_admin_approves_a_proposal_with_edits_or_refuses_one_with_a_reason(
    client, login_as, make, session
):
    canteen = make.user(role="canteen")
    first = governance.propose_item(session, canteen, label="Tofu fume", family="AUTRES")
    second = governance.propose_item(session, canteen, label="Doublon", family="AUTRES")
    login_as("admin")
    page = client.get("/admin/nomenclature").get_data(as_text=True)
    assert "Tofu fume" in page and "Doublon" in page
    response = client.post_form(
        f"/admin/nomenclature/propositions/{first.id}/approuver",
        {
            f"p{first.id}-code": "n09001",
            f"p{first.id}-label": "Tofu fumé",
            f"p{first.id}-family": "AUTRES",
            f"p{first.id}-parent_code": "",
        },
    )
    assert response.status_code == 302
    item = session.scalar(sa.select(NomenclatureItem).where(NomenclatureItem.code == "N09001"))
    assert item is not None and item.label == "Tofu fumé" and item.is_active
    assert first.status == "approved" and first.code == "N09001"
    assert (
        client.post_form(f"/admin/nomenclature/propositions/{second.id}/refuser", {}).status_code
        == 302
    )
    assert second.status == "proposed", "a refusal needs a reason"
    client.post_form(
        f"/admin/nomenclature/propositions/{second.id}/refuser", {"reason": "existe : N00012"}
    )
    assert second.status == "refused" and second.reason == "existe : N00012"
    assert _actions(session) == [
        "nomenclature.propose",
        "nomenclature.propose",
        "nomenclature.approve",
        "nomenclature.create",
        "nomenclature.refuse",
    ]
    with pytest.raises(ValidationError):
        governance.refuse_proposal(session, first, None, reason="trop tard")


def test_approving_with_an_existing_code_is_refused(session, make):
    make.nomenclature_item(code="N00012")
    proposal = governance.propose_item(session, None, label="Yaourt", family="PRODUITS_LAITIERS")
    with pytest.raises(ValidationError, match="existe déjà"):
        governance.approve_proposal(session, proposal, None, code="N00012")


def test_lines_still_pointing_at_a_retired_code_are_flagged(session, make):
    site = make.site()
    item = make.nomenclature_item(code="N00050")
    line = make.purchase_line(site, nomenclature_code="N00050")
    governance.retire_item(session, item)
    assert not item.is_active
    flagged = _open(session, line, "NOMENCLATURE_CODE_INVALID")
    assert flagged and "désactivé" in flagged[0].message
    assert _actions(session) == ["nomenclature.retire"]


def test_merging_an_item_remaps_its_lines_and_the_rules_recheck_them(session, make):
    site = make.site()
    supplier = make.supplier()
    old = make.nomenclature_item(code="N00060", label="Yaourt nat")
    new = make.nomenclature_item(code="N00061", label="Yaourt nature")
    child = make.nomenclature_item(code="N00062", parent_code="N00060")
    lines = [make.purchase_line(site, nomenclature_code="N00060") for _ in range(3)]
    other = make.purchase_line(site, nomenclature_code="N00061")
    entry = make.matrix_entry(supplier, nomenclature_code="N00060")
    session.add(MatchAlias(kind="label", key="yaourt nat", code="N00060"))
    session.flush()
    governance.retire_item(session, old)
    assert all(_open(session, line, "NOMENCLATURE_CODE_INVALID") for line in lines)
    count = governance.merge_item(session, old, new)
    assert count == 3
    for line in lines:
        session.refresh(line)
        assert line.nomenclature_code == "N00061" and line.version == 2
        assert not _open(session, line, "NOMENCLATURE_CODE_INVALID"), "re-checked and closed"
    session.refresh(other)
    assert other.version == 1
    assert session.get(MatrixEntry, entry.id).nomenclature_code == "N00061"
    assert session.get(NomenclatureItem, child.id).parent_code == "N00061"
    assert session.scalar(sa.select(MatchAlias.code)) == "N00061"
    remaps = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "purchase_line.remap")
    ).all()
    assert sorted(int(e.target_id) for e in remaps) == sorted(line.id for line in lines)
    assert remaps[0].before == {"nomenclature_code": "N00060"}
    merge = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "nomenclature.merge"))
    assert merge.after["merged_into"] == "N00061" and merge.after["lines"] == 3


def test_merging_into_a_retired_item_or_itself_is_refused(session, make):
    a = make.nomenclature_item(code="N00070")
    b = make.nomenclature_item(code="N00071", is_active=False)
    with pytest.raises(ValidationError):
        governance.merge_item(session, a, b)
    with pytest.raises(ValidationError):
        governance.merge_item(session, a, a)


def test_retire_and_merge_from_the_admin_page(client, login_as, make, session):
    site = make.site()
    make.nomenclature_item(code="N00080")
    make.nomenclature_item(code="N00081")
    line = make.purchase_line(site, nomenclature_code="N00080")
    login_as("admin")
    response = client.post_form("/admin/nomenclature/N00080/fusionner", {"target": "N00081"})
    assert response.status_code == 302
    session.refresh(line)
    assert line.nomenclature_code == "N00081"
    client.post_form("/admin/nomenclature/N00081/retirer")
    assert not session.scalar(
        sa.select(NomenclatureItem.is_active).where(NomenclatureItem.code == "N00081")
    )
    unknown = client.post_form("/admin/nomenclature/NOPE/retirer")
    assert unknown.status_code == 404


def test_governance_pages_are_for_their_roles(client, login_as):
    login_as("canteen")
    assert client.get("/admin/nomenclature").status_code == 403
    assert client.post_form("/admin/nomenclature/N1/retirer").status_code == 403
    client.get("/deconnexion")
