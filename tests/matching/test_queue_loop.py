"""The daily loop of « Articles à rattacher »: back to the same place after a decision, progress,
undo of the last decision, bulk « accept the top suggestion ≥ S » with a preview."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.matching import operations, queries
from workbench.matching.models import MatchAlias
from workbench.records.models import PurchaseLine
from workbench.review.models import Correction

SIRET = "55204599900869"


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    make.nomenclature_item(code="T-YAOURT", label="Yaourt nature")
    make.nomenclature_item(
        code="T-STEAK", label="Boeuf, steak haché, cru", family="VIANDES_VOLAILLES"
    )
    make.nomenclature_item(code="T-POIRE", label="Poire, crue", family="FRUITS_ET_LEGUMES")
    site = make.site(name="Lycée de l'Iroise")
    canteen = make.user(role="canteen", sites=[site])
    supplier = make.supplier(siret=SIRET, name="Laiterie de l'Ouest")
    yaourts = [
        make.purchase_line(site, label="YAOURT NATURE", supplier=supplier, reference="Y125")
        for _ in range(3)
    ]
    steaks = [make.purchase_line(site, label="STEAK HACHE BOEUF") for _ in range(2)]
    other = make.purchase_line(site, label="ZZ INCONNU QUELCONQUE")
    return {"canteen": canteen, "site": site, "yaourts": yaourts, "steaks": steaks, "other": other}


def test_a_decision_comes_back_to_the_same_place(client, world):
    client.login(world["canteen"].email)
    html = client.get("/articles").get_data(as_text=True)
    assert 'value="/articles#groupe-1"' in html and 'value="/articles#groupe-2"' in html
    token = client.fetch_token("/articles")
    response = client.post(
        "/articles/rattacher",
        data={
            "csrf_token": token,
            "group": f"ref:{SIRET}|Y125",
            "code": "T-YAOURT",
            "site": "",
            "next": "/articles#groupe-1",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#groupe-1")


def test_progress_counts_todays_decisions_and_what_remains(client, session, world):
    user = world["canteen"]
    operations.map_group(session, user, f"ref:{SIRET}|Y125", "T-YAOURT")
    client.login(user.email)
    html = client.get("/articles").get_data(as_text=True)
    assert re.search(r"data-decided-today>1<", html)
    assert "(3 lignes)" in html
    remaining = int(re.search(r"data-remaining>(\d+)<", html).group(1))
    assert remaining == queries.group_page(session, user, queries.GroupFilter()).total_groups == 2


def test_undo_puts_the_lines_back_and_forgets_what_was_learned(client, session, world):
    user = world["canteen"]
    operations.map_group(session, user, "lbl:" + queries.label_key("STEAK HACHE BOEUF"), "T-STEAK")
    assert session.scalar(sa.select(sa.func.count()).select_from(MatchAlias)) == 1
    client.login(user.email)
    html = client.get("/articles").get_data(as_text=True)
    assert "Annuler ma dernière décision (T-STEAK)" in html
    response = client.post_form("/articles/annuler", {"next": "/articles"}, follow_redirects=True)
    assert "Décision annulée : 2 ligne(s) de nouveau à rattacher" in response.get_data(as_text=True)
    session.expire_all()
    assert {line.nomenclature_code for line in world["steaks"]} == {None}
    assert session.scalar(sa.select(sa.func.count()).select_from(MatchAlias)) == 0
    statuses = session.scalars(
        sa.select(Correction.status).where(Correction.kind == "edit").order_by(Correction.id)
    ).all()
    assert statuses == ["reverted", "reverted"]
    reverts = session.scalars(sa.select(Correction).where(Correction.kind == "revert")).all()
    assert len(reverts) == 2 and {c.old_value for c in reverts} == {"T-STEAK"}
    actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"match.group_undone", "match.alias_forgotten"} <= actions
    # nothing more to undo: the button is gone and a forged POST changes nothing
    assert "Annuler ma dernière décision" not in client.get("/articles").get_data(as_text=True)
    response = client.post_form("/articles/annuler", {"next": "/articles"}, follow_redirects=True)
    assert "Aucune décision à annuler" in response.get_data(as_text=True)


def test_undo_leaves_lines_changed_since_alone(session, world):
    user = world["canteen"]
    operations.map_group(session, user, f"ref:{SIRET}|Y125", "T-YAOURT")
    changed = world["yaourts"][0]
    session.refresh(changed)
    changed.nomenclature_code = "T-POIRE"
    session.flush()
    result = operations.undo_last_mapping(session, user)
    assert result.count == 2
    session.expire_all()
    assert changed.nomenclature_code == "T-POIRE"


def test_bulk_accept_previews_then_maps_on_one_confirmation(client, session, world):
    user = world["canteen"]
    client.login(user.email)
    preview = client.get("/articles/lot?seuil=90").get_data(as_text=True)
    choices = re.findall(r'name="choix" value="([^"]+)"', preview)
    assert f"T-YAOURT@ref:{SIRET}|Y125" in choices
    assert not any("INCONNU" in c for c in choices)  # below the threshold: not offered
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(PurchaseLine)
            .where(PurchaseLine.nomenclature_code.is_not(None))
        )
        == 0
    )  # the preview changes nothing
    response = client.post_form(
        "/articles/lot/confirmer", {"choix": choices, "site": ""}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert f"{len(choices)} article(s) rattaché(s)" in html
    session.expire_all()
    assert {line.nomenclature_code for line in world["yaourts"]} == {"T-YAOURT"}
    assert world["other"].nomenclature_code is None


def test_bulk_accept_refuses_a_bad_threshold_and_skips_a_forged_pair(client, session, world):
    client.login(world["canteen"].email)
    response = client.get("/articles/lot?seuil=10", follow_redirects=True)
    assert "Seuil invalide" in response.get_data(as_text=True)
    response = client.post_form(
        "/articles/lot/confirmer",
        {"choix": ["T-YAOURT@ref:00000000000000|NOPE", f"T-YAOURT@ref:{SIRET}|Y125"]},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "1 article(s) rattaché(s)" in html and "1 article(s) non rattaché(s)" in html


@pytest.fixture
def variants(make):  # type: ignore[no-untyped-def]
    make.nomenclature_item(code="T-CAROTTE", label="Carotte râpée", family="FRUITS_ET_LEGUMES")
    site = make.site()
    canteen = make.user(role="canteen", sites=[site])
    a = make.supplier(siret="73282932000074", name="Primeurs A")
    b = make.supplier(siret="35600000000048", name="Primeurs B")
    lines = [
        make.purchase_line(site, label="CAROTTES RAPEES 5KG", supplier=a, reference="CR5"),
        make.purchase_line(site, label="Carottes rapées seau 2,5 kg", supplier=b, reference="X9"),
        make.purchase_line(site, label="Carottes rapées seau 2,5 kg", supplier=b, reference="X9"),
    ]
    return canteen, lines


def test_near_variant_groups_are_merged_and_decided_at_once(client, session, variants):
    canteen, lines = variants
    client.login(canteen.email)
    html = client.get("/articles").get_data(as_text=True)
    assert html.count("data-group ") == 1  # two reference groups shown as one card
    assert "Variantes proches regroupées" in html
    variant_inputs = re.findall(r'name="variant" value="([^"]+)"', html)
    assert variant_inputs and len(set(variant_inputs)) == 1
    main = re.search(r'name="group" value="([^"]+)"', html).group(1)
    response = client.post_form(
        "/articles/rattacher",
        {
            "group": main,
            "variant": variant_inputs[0],
            "code": "T-CAROTTE",
            "site": "",
            "next": "/articles",
        },
        follow_redirects=True,
    )
    assert "3 ligne(s) de 2 variante(s) rattachée(s) au code T-CAROTTE" in response.get_data(
        as_text=True
    )
    session.expire_all()
    assert {line.nomenclature_code for line in lines} == {"T-CAROTTE"}
