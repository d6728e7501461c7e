"""Indicator pages: before/after corrections, scope, roles."""

from __future__ import annotations

from workbench.review import operations


def test_egalim_page_shows_the_effect_of_a_correction(client, login_as, make, session):
    site = make.site(name="Lycée Test EGalim")
    user = login_as("canteen", sites=[site])
    make.purchase_line(site, labels="BIO", amount_ht=100.0, family="AUTRES")
    wrong = make.purchase_line(site, labels="", amount_ht=100.0, family="AUTRES")
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "Lycée Test EGalim" in html and "50,0" in html
    correction = operations.propose_correction(
        session, user, "purchase_line", wrong.id, "labels", "BIO", "facture"
    )
    legal = make.user(role="legal")
    operations.decide(session, legal, correction, True, "")
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "100,0" in html and "avant : 50,0" in html


def test_canteen_user_sees_only_its_lycees(client, login_as, make):
    own, other = make.site(name="Mon lycée"), make.site(name="Autre lycée")
    login_as("canteen", sites=[own])
    make.purchase_line(own)
    make.purchase_line(other)
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "Mon lycée" in html and "Autre lycée" not in html
    assert client.get("/indicateurs/marches").status_code == 403


def test_spaser_and_quality_pages_for_the_viewer(client, login_as, make):
    login_as("viewer")
    make.supplier(siret="55204599900869", company_category="PME", commune_code="35238")
    make.contract(social_considerations=["Clause sociale"])
    html = client.get("/indicateurs/marches").get_data(as_text=True)
    assert "Attribués à une PME" in html and "100,0" in html
    assert client.get("/indicateurs/qualite").status_code == 200
