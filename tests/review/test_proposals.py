"""« À valider » as one list and « Mes propositions »: the proposer learns every outcome."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from workbench.review import operations, proposals
from workbench.review.models import Correction


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def two_proposals(session, make):
    """A direction user proposes a company category and a contract duration."""
    direction = make.user(role="direction", name="Direction des lycées")
    supplier = make.supplier(name="Charcuterie Le Gall", direction_code="DLYC")
    contract = make.contract(object="Restauration — lot 3", duration_months=365)
    category = operations.propose_correction(
        session, direction, "supplier", supplier.id, "company_category", "PME", "Vu dans Sirene"
    )
    duration = operations.propose_correction(
        session, direction, "contract", contract.id, "duration_months", "12", "Jours saisis"
    )
    return direction, category, duration


def test_approvals_is_one_french_list_without_raw_names(client, login_as, two_proposals):
    login_as("legal")
    html = client.get("/a-valider").get_data(as_text=True)
    text = _text(html)
    assert "Décision individuelle" not in html  # the second list is gone
    assert "Catégorie d'entreprise" in text.replace("&#39;", "'")
    assert "Durée (mois)" in text and "365 → 12" in text and "— → PME" in text
    assert "Charcuterie Le Gall" in text and "Restauration — lot 3" in text
    assert "Vu dans Sirene" in text and "Direction des lycées" in text and "il y a" in text
    for raw in ("company_category", "duration_months", "None"):
        assert raw not in text, raw
    assert html.count('name="ids"') == 2 and "data-select-page" in html
    assert 'src="/static/approvals.js"' in html and "<script>" not in html


def test_approvals_filters_by_rule_kind_proposer_and_age(
    client, login_as, session, make, two_proposals
):
    direction, category, duration = two_proposals
    login_as("legal")
    html = client.get("/a-valider?type=contract").get_data(as_text=True)
    assert f"proposition-{duration.id}" in html and f"proposition-{category.id}" not in html
    other = make.user(role="direction")
    html = client.get(f"/a-valider?proposeur={other.id}").get_data(as_text=True)
    assert "Aucune proposition en attente avec ces filtres" in html
    category.proposed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    session.flush()
    html = client.get("/a-valider?age=5").get_data(as_text=True)
    assert f"proposition-{category.id}" in html and f"proposition-{duration.id}" not in html
    html = client.get("/a-valider?regle=-").get_data(as_text=True)  # corrections without a rule
    assert f"proposition-{category.id}" in html


def test_a_mixed_selection_is_decided_group_by_group(client, login_as, session, two_proposals):
    _, category, duration = two_proposals
    login_as("legal")
    client.get("/a-valider")
    response = client.post_form(
        "/a-valider/groupe",
        {"ids": [str(category.id), str(duration.id)], "decision": "approve", "comment": ""},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "2 proposition(s) validée(s)" in html
    assert "Fournisseur · Catégorie d&#39;entreprise (correction) : 1" in html
    session.expire_all()
    assert {category.status, duration.status} == {"applied"}


def test_all_filtered_proposals_are_decided_but_never_my_own(
    client, login_as, session, make, two_proposals
):
    _, category, duration = two_proposals
    legal = login_as("legal")
    supplier = make.supplier(siret=None, name="Autre", direction_code="DLYC")
    admin = make.user(role="admin")
    theirs = operations.propose_correction(
        session, admin, "supplier", supplier.id, "company_category", "GE", "x"
    )
    theirs.proposed_by_id = legal.id  # a proposal of the legal user themself
    session.flush()
    client.get("/a-valider")
    response = client.post_form(
        "/a-valider/groupe",
        {"tout": "1", "regle": "", "type": "supplier", "decision": "reject", "comment": "Non"},
        follow_redirects=True,
    )
    assert "1 proposition(s) refusée(s)" in response.get_data(as_text=True)
    session.expire_all()
    assert category.status == "rejected"
    assert duration.status == "pending" and theirs.status == "pending"


def test_a_refusal_without_comment_changes_nothing(client, login_as, session, two_proposals):
    _, category, _ = two_proposals
    login_as("legal")
    client.get("/a-valider")
    response = client.post_form(
        "/a-valider/groupe",
        {"ids": [str(category.id)], "decision": "reject", "comment": ""},
        follow_redirects=True,
    )
    assert "Un refus doit être motivé" in response.get_data(as_text=True)
    session.expire_all()
    assert category.status == "pending"


def test_the_proposer_sees_outcomes_and_a_badge_for_new_decisions(
    client, session, make, two_proposals
):
    direction, category, duration = two_proposals
    legal = make.user(role="legal", name="Maître Le Du")
    operations.decide(session, legal, category, True, "Conforme à Sirene")
    operations.decide(session, legal, duration, False, "Acte d'engagement illisible")
    client.login(direction.email)
    home = client.get("/").get_data(as_text=True)
    badge = re.search(
        r'data-nav="review.my_proposals">Mes propositions <span class="nav-badge"[^>]*>(\d+)<', home
    )
    assert badge and badge.group(1) == "2"
    html = client.get("/mes-propositions").get_data(as_text=True)
    text = _text(html).replace("&#39;", "'")
    assert "Appliquée" in text and "Refusée" in text and "Maître Le Du" in text
    assert "« Conforme à Sirene »" in text and "« Acte d'engagement illisible »" in text
    assert html.count("nouveau</span>") == 2
    home = client.get("/").get_data(as_text=True)
    assert "nav-badge" not in home  # read: the badge is gone
    assert proposals.unseen_decisions(session, direction) == 0


def test_legal_has_no_my_proposals_entry(client, login_as):
    login_as("legal")
    assert 'data-nav="review.my_proposals"' not in client.get("/").get_data(as_text=True)


def test_direction_reads_its_proposals_not_the_approvals(client, login_as):
    login_as("direction")
    assert client.get("/mes-propositions").status_code == 200
    assert client.get("/a-valider").status_code == 403


def test_my_proposals_hides_immediate_mappings_by_default(client, session, make):
    site = make.site()
    canteen = make.user(role="canteen", sites=[site])
    line = make.purchase_line(site, label="YAOURT NATURE")
    make.nomenclature_item(code="N001", label="Yaourt nature", family="PRODUITS_LAITIERS")
    operations.propose_correction(
        session, canteen, "purchase_line", line.id, "nomenclature_code", "N001", "x"
    )
    client.login(canteen.email)
    assert "YAOURT NATURE" not in client.get("/mes-propositions").get_data(as_text=True)
    assert "YAOURT NATURE" in client.get("/mes-propositions?vue=toutes").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Correction)) >= 1
