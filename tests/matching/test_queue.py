"""The "Articles à rattacher" queue: groups, scope, one decision for a whole group, learning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.matching import queries
from workbench.matching.models import MatchAlias, MatchRejection
from workbench.records.models import PurchaseLine
from workbench.review.models import Correction

SIRET = "55204599900869"


@pytest.fixture
def nomenclature(make):  # type: ignore[no-untyped-def]
    return {
        "yaourt": make.nomenclature_item(code="T-YAOURT", label="Yaourt nature"),
        "yaourt_fruits": make.nomenclature_item(code="T-YFRUIT", label="Yaourt aux fruits"),
        "steak": make.nomenclature_item(
            code="T-STEAK", label="Boeuf, steak haché, cru", family="VIANDES_VOLAILLES"
        ),
        "old": make.nomenclature_item(code="T-OLD", label="Yaourt ancien", is_active=False),
    }


@pytest.fixture
def world(make, nomenclature):  # type: ignore[no-untyped-def]
    brest = make.site(name="Lycée de l'Iroise")
    rennes = make.site(name="Lycée Chateaubriand")
    supplier = make.supplier(siret=SIRET, name="Laiterie de l'Ouest")
    lines = {
        "brest_ref": [
            make.purchase_line(
                brest, label="YAOURT NAT BIO 125G X48", supplier=supplier, reference="Y125"
            )
            for _ in range(3)
        ],
        "brest_lbl": [
            make.purchase_line(brest, label="Steak haché 15% MG VBF 10X1KG", amount_ht=50.0),
            make.purchase_line(brest, label="STEAK HACHE VBF 5X1KG", amount_ht=30.0),
        ],
        "rennes_ref": [
            make.purchase_line(
                rennes, label="YAOURT NAT BIO 125G X48", supplier=supplier, reference="Y125"
            )
        ],
        "rennes_lbl": [make.purchase_line(rennes, label="STEAK HACHE 15% MG VBF 10X1KG")],
    }
    return {"brest": brest, "rennes": rennes, "supplier": supplier, "lines": lines}


def test_groups_gather_lines_by_reference_and_by_normalised_label(session, make, world):
    user = make.user(role="canteen", sites=[world["brest"]])
    page = queries.group_page(session, user, queries.GroupFilter())
    by_key = {g.key: g for g in page.groups}
    assert set(by_key) == {f"ref:{SIRET}|Y125", "lbl:steak hache"}
    assert by_key[f"ref:{SIRET}|Y125"].line_count == 3
    steak = by_key["lbl:steak hache"]
    assert steak.line_count == 2 and steak.amount == 80.0
    assert "FRANCE" in steak.origin and steak.quality == ()
    assert page.groups[0].key == f"ref:{SIRET}|Y125"  # most lines first
    assert page.total_lines == 5


def test_filters_select_groups_by_search_supplier_and_site(session, make, world):
    user = make.user(role="canteen", sites=[world["brest"], world["rennes"]])
    everything = queries.group_page(session, user, queries.GroupFilter())
    assert everything.total_lines == 7
    searched = queries.group_page(session, user, queries.GroupFilter(search="hâché"))
    assert [g.key for g in searched.groups] == ["lbl:steak hache"]
    assert searched.groups[0].line_count == 3  # the whole group, not only matching labels
    by_supplier = queries.group_page(session, user, queries.GroupFilter(supplier=SIRET))
    assert [g.key for g in by_supplier.groups] == [f"ref:{SIRET}|Y125"]
    one_site = queries.group_page(
        session, user, queries.GroupFilter(site_id=world["rennes"].id, sort="anciens")
    )
    assert one_site.total_lines == 2
    paged = queries.group_page(session, user, queries.GroupFilter(per_page=1, page=2))
    assert paged.total_groups == 2 and len(paged.groups) == 1 and paged.pages == 2


def test_canteen_user_never_sees_another_lycees_lines(session, make, world):
    user = make.user(role="canteen", sites=[world["rennes"]])
    page = queries.group_page(session, user, queries.GroupFilter())
    assert page.total_lines == 2
    assert all(g.site_ids == [world["rennes"].id] for g in page.groups)
    forged = queries.group_page(session, user, queries.GroupFilter(site_id=world["brest"].id))
    assert forged.total_lines == 0


def test_page_shows_groups_suggestions_signals_and_matrix_proposal(
    client, login_as, make, world, nomenclature
):
    make.matrix_entry(
        world["supplier"],
        reference="Y125",
        label="YAOURT NATURE BIO 125G",
        nomenclature_code="T-YAOURT",
        labels="BIO",
        origin="FRANCE",
    )
    login_as("canteen", sites=[world["brest"]])
    home = client.get("/").get_data(as_text=True)
    assert 'href="/articles"' in home
    response = client.get("/articles")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "YAOURT NAT BIO 125G X48" in html and "Steak haché 15% MG VBF 10X1KG" in html
    assert "proposé par la matrice fournisseur" in html
    assert "<mark>Yaourt</mark>" in html  # matched words highlighted
    assert "Origine France" in html and ">Bio<" in html  # signals read from the labels
    assert "Lycée Chateaubriand" not in html  # the other lycée's lines are not shown
    assert "articles.js" in html and "<script>" not in html


def _group_lines(session, ids):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(
        sa.select(PurchaseLine).where(PurchaseLine.id.in_(ids)).order_by(PurchaseLine.id)
    ).all()


def test_mapping_a_group_updates_all_its_lines_with_corrections_and_journal(
    client, login_as, session, world
):
    user = login_as("canteen", sites=[world["brest"]])
    brest_ids = [line.id for line in world["lines"]["brest_ref"]]
    rennes_id = world["lines"]["rennes_ref"][0].id
    response = client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT", "next": "/articles?tri=anciens"},
    )
    assert response.status_code == 302 and response.location.endswith("/articles?tri=anciens")
    lines = _group_lines(session, [*brest_ids, rennes_id])
    assert [line.nomenclature_code for line in lines] == ["T-YAOURT"] * 3 + [None]
    assert all(line.version == 2 for line in lines[:3])
    corrections = session.scalars(
        sa.select(Correction).where(Correction.record_id.in_(brest_ids))
    ).all()
    assert len(corrections) == 3
    assert {
        (c.status, c.field, c.new_value, c.rule_code, c.proposed_by_id) for c in corrections
    } == {("applied", "nomenclature_code", "T-YAOURT", "ARTICLE_UNMAPPED", user.id)}
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "correction.applied")
    ).all()
    assert sorted(int(e.target_id) for e in entries) == brest_ids
    assert {e.actor_id for e in entries} == {user.id}
    aliases = {(a.kind, a.key, a.code) for a in session.scalars(sa.select(MatchAlias))}
    assert aliases == {
        ("label", "yaourt nature", "T-YAOURT"),
        ("reference", f"{SIRET}|Y125", "T-YAOURT"),
    }
    assert "3 ligne(s) rattachée(s)" in client.get("/articles").get_data(as_text=True)


def test_forged_group_key_or_site_never_touches_another_lycees_lines(
    client, login_as, session, world
):
    login_as("canteen", sites=[world["brest"]])
    rennes_only = world["lines"]["rennes_lbl"][0]
    # the label group exists in Brest too: mapping it from Brest only maps Brest's lines
    client.post_form("/articles/rattacher", {"group": "lbl:steak hache", "code": "T-STEAK"})
    assert _group_lines(session, [rennes_only.id])[0].nomenclature_code is None
    # a site id of another lycée, forged in the POST
    world_ref = world["lines"]["rennes_ref"][0]
    response = client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT", "site": str(world["rennes"].id)},
        follow_redirects=True,
    )
    assert "Aucune ligne à rattacher" in response.get_data(as_text=True)
    assert _group_lines(session, [world_ref.id])[0].nomenclature_code is None
    # all_sites is for administrators only
    response = client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT", "all_sites": "y"},
        follow_redirects=True,
    )
    assert "Seul un administrateur" in response.get_data(as_text=True)
    assert _group_lines(session, [world_ref.id])[0].nomenclature_code is None
    assert _group_lines(session, [world["lines"]["brest_ref"][0].id])[0].nomenclature_code is None


def test_admin_maps_the_same_article_in_other_lycees_with_confirmation(
    client, login_as, session, world
):
    login_as("admin")
    ids = [line.id for line in (*world["lines"]["brest_ref"], *world["lines"]["rennes_ref"])]
    client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT", "site": str(world["brest"].id)},
    )
    assert [line.nomenclature_code for line in _group_lines(session, ids)] == ["T-YAOURT"] * 3 + [
        None
    ]
    client.post_form(
        "/articles/rattacher",
        {
            "group": f"ref:{SIRET}|Y125",
            "code": "T-YAOURT",
            "site": str(world["brest"].id),
            "all_sites": "y",
        },
    )
    assert _group_lines(session, ids)[-1].nomenclature_code == "T-YAOURT"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("T-NOPE", "Le code « T-NOPE » n&#39;existe pas dans la nomenclature."),
        ("T-OLD", "est désactivé dans la nomenclature"),
    ],
)
def test_unknown_or_inactive_code_is_refused_in_french_and_nothing_changes(
    client, login_as, session, world, code, message
):
    login_as("canteen", sites=[world["brest"]])
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    response = client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{SIRET}|Y125", "code": code},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    ids = [line.id for line in world["lines"]["brest_ref"]]
    assert {line.nomenclature_code for line in _group_lines(session, ids)} == {None}
    assert session.scalar(sa.select(sa.func.count()).select_from(Correction)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(MatchAlias)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before


def test_mapping_without_csrf_token_is_refused(client, login_as, session, world):
    login_as("canteen", sites=[world["brest"]])
    response = client.post(
        "/articles/rattacher", data={"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT"}
    )
    assert response.status_code == 400
    ids = [line.id for line in world["lines"]["brest_ref"]]
    assert {line.nomenclature_code for line in _group_lines(session, ids)} == {None}


def test_an_accepted_decision_is_offered_first_next_time(client, login_as, make, session, world):
    login_as("canteen", sites=[world["brest"]])
    client.post_form("/articles/rattacher", {"group": "lbl:steak hache", "code": "T-STEAK"})
    client.post_form("/articles/rattacher", {"group": f"ref:{SIRET}|Y125", "code": "T-YAOURT"})
    make.purchase_line(world["brest"], label="steak  haché vbf 10 x 1 kg")
    make.purchase_line(
        world["brest"],
        label="YAOURT 125G NOUVEAU LIBELLE",
        supplier=world["supplier"],
        reference="y125",
    )
    user = make.user(role="canteen", sites=[world["brest"]])
    page = queries.group_page(session, user, queries.GroupFilter())
    first = {g.key: g.suggestions[0] for g in page.groups}
    steak = first["lbl:steak hache"]
    assert (steak["code"], steak["source"], steak["score"]) == ("T-STEAK", "alias_label", 100.0)
    yaourt = first[f"ref:{SIRET}|y125"]
    assert (yaourt["code"], yaourt["source"], yaourt["score"]) == (
        "T-YAOURT",
        "alias_reference",
        100.0,
    )


def test_a_refused_suggestion_is_not_offered_again(client, login_as, session, world):
    user = login_as("canteen", sites=[world["brest"]])
    page = queries.group_page(session, user, queries.GroupFilter(search="yaourt"))
    assert "T-YFRUIT" in [s["code"] for s in page.groups[0].suggestions]
    response = client.post_form(
        "/articles/refuser", {"group": f"ref:{SIRET}|Y125", "code": "T-YFRUIT"}
    )
    assert response.status_code == 302
    assert (
        session.scalar(sa.select(MatchRejection.code).where(MatchRejection.key == "yaourt nature"))
        == "T-YFRUIT"
    )
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "match.rejected")
        )
        == 1
    )
    html = client.get("/articles?q=yaourt").get_data(as_text=True)
    assert 'data-code="T-YAOURT"' in html and 'data-code="T-YFRUIT"' not in html


def test_nomenclature_search_returns_active_items_as_json(client, login_as, world):
    login_as("canteen", sites=[world["brest"]])
    data = client.get("/articles/nomenclature?q=yaourt").get_json()
    codes = [r["code"] for r in data["results"]]
    assert "T-YAOURT" in codes and "T-YFRUIT" in codes and "T-OLD" not in codes
    assert data["results"][0]["family_label"] == "Produits laitiers, beurre et œufs"


@pytest.mark.parametrize("role", ["legal", "direction", "viewer"])
def test_other_roles_cannot_open_or_use_the_queue(client, login_as, role):
    login_as(role)
    assert client.get("/articles").status_code == 403
    assert (
        client.post_form("/articles/rattacher", {"group": "lbl:x", "code": "X"}).status_code == 403
    )


def test_keyboard_script_binds_number_keys_to_accept_forms(app):
    script = Path(app.static_folder, "articles.js").read_text(encoding="utf-8")
    assert re.search(r"\[1-5\]", script) and "form[data-accept]" in script


def test_groups_are_oldest_first_by_default_and_most_lines_on_request(session, make, world):
    user = make.user(role="canteen", sites=[world["brest"], world["rennes"]])
    assert queries.GroupFilter.from_args({}).sort == "anciens"
    default = queries.group_page(session, user, queries.GroupFilter.from_args({}))
    oldest = [g.oldest for g in default.groups]
    assert oldest == sorted(oldest)
    most = queries.group_page(session, user, queries.GroupFilter(sort="lignes"))
    counts = [g.line_count for g in most.groups]
    assert counts == sorted(counts, reverse=True)


def test_group_anomaly_statuses_are_read_by_indexed_group_key(session, make) -> None:  # type: ignore[no-untyped-def]
    from workbench.matching.queries import GroupFilter, group_page
    from workbench.rules.operations import run_rules

    site = make.site()
    supplier = make.supplier(siret="12345678200010")
    for _ in range(3):
        make.purchase_line(site, label="STEAK HACHE", supplier=supplier, reference="R1")
    make.purchase_line(site, label="Yaourt nature ", amount_ht=3.0)
    run_rules(session, record_kind="purchase_line")
    admin = make.user(role="admin")
    page = group_page(session, admin, GroupFilter())
    statuses = {g.key: g.anomalies for g in page.groups}
    assert statuses["ref:12345678200010|R1"] == {"open": 3}
    assert statuses[next(k for k in statuses if k.startswith("lbl:"))] == {"open": 1}
