"""The « Articles à rattacher » groups table: exact after every kind of change, scoped, clustered
across the whole queue."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from workbench.core.errors import ValidationError
from workbench.matching import groups, operations, queries
from workbench.matching.engine import cluster_labels, normalise
from workbench.matching.models import REGION, ArticleGroupLine, ArticleGroupRow
from workbench.records.models import PurchaseLine

SIRET = "55204599900869"
OTHER = "73282932000074"


# -- the reference: a fresh recomputation from the purchase lines ---------------------------------
def recompute(session):  # type: ignore[no-untyped-def]
    """(line → key, rows by (key, site), clusters) computed from scratch, the slow way."""
    lines = session.scalars(
        sa.select(PurchaseLine).where(PurchaseLine.nomenclature_code.is_(None))
    ).all()
    keys: dict[int, str] = {}
    acc: dict[tuple[str, int], dict] = defaultdict(
        lambda: {"n": 0, "amount": 0.0, "oldest": None, "labels": Counter(), "sirets": set()}
    )
    for line in lines:
        ref = (line.reference or "").strip()
        key = (
            queries.reference_group_key(line.supplier_siret, ref)
            if ref
            else queries.label_group_key(line.label)
        )
        keys[line.id] = key
        for site in (line.site_id, REGION):
            a = acc[(key, site)]
            a["n"] += 1
            a["amount"] += float(line.amount_ht or 0)
            a["oldest"] = min(filter(None, [a["oldest"], line.line_date]))
            a["labels"][line.label] += 1
            a["sirets"].add((line.supplier_siret or "").strip())
    rows = {}
    for (key, site), a in acc.items():
        top = sorted(a["labels"].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        rows[(key, site)] = (
            a["n"],
            round(a["amount"], 2),
            a["oldest"],
            top,
            len(a["labels"]),
            "|" + "|".join(sorted(a["sirets"])) + "|",
        )
    # clusters: the engine's clustering of the region-wide labels' fingerprints (sorted)
    region = {key: row[3] for (key, site), row in rows.items() if site == REGION}
    by_fp: dict[str, list[str]] = defaultdict(list)
    for key, label in region.items():
        by_fp[normalise(label).fingerprint].append(key)
    fps = sorted(fp for fp in by_fp if fp)
    members: dict[int, set[str]] = defaultdict(set)
    if fps:
        labels = [region[by_fp[fp][0]] for fp in fps]
        for fp, cluster in zip(fps, cluster_labels(labels)["cluster_id"], strict=True):
            members[int(cluster)].update(by_fp[fp])
    clusters = {frozenset(m) for m in members.values()}
    clusters |= {frozenset([k]) for k in by_fp.get("", [])}
    return keys, rows, clusters


def stored(session):  # type: ignore[no-untyped-def]
    keys = dict(session.execute(sa.select(ArticleGroupLine.line_id, ArticleGroupLine.key)).all())
    rows, by_cluster = {}, defaultdict(set)
    for r in session.scalars(sa.select(ArticleGroupRow)):
        rows[(r.key, r.site_id)] = (
            r.line_count,
            round(float(r.amount), 2),
            r.oldest,
            r.label,
            r.label_count,
            r.sirets,
        )
        if r.site_id == REGION:
            by_cluster[r.cluster_key].add(r.key)
    return keys, rows, {frozenset(m) for m in by_cluster.values()}


def assert_heads(session) -> None:  # type: ignore[no-untyped-def]
    """Each cluster, per lycée and region-wide: its size and its first group in both orders."""
    parts = defaultdict(list)
    for r in session.scalars(sa.select(ArticleGroupRow)):
        parts[(r.site_id, r.cluster_key)].append(r)
    for members in parts.values():
        oldest = min(members, key=lambda r: (r.oldest, -r.line_count, r.key))
        most = min(members, key=lambda r: (-r.line_count, r.oldest, r.key))
        for r in members:
            assert r.cluster_size == len(members)
            assert r.head_oldest == (r is oldest) and r.head_lines == (r is most)


def assert_exact(session) -> None:  # type: ignore[no-untyped-def]
    session.flush()
    assert stored(session) == recompute(session)
    assert_heads(session)


# -- data ---------------------------------------------------------------------------------------
@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    items = {
        "yaourt": make.nomenclature_item(code="T-YAOURT", label="Yaourt nature"),
        "steak": make.nomenclature_item(code="T-STEAK", label="Boeuf, steak haché, cru"),
        "old": make.nomenclature_item(code="T-OLD", label="Yaourt ancien"),
    }
    brest = make.site(name="Lycée de l'Iroise", uai="0290001A")
    rennes = make.site(name="Lycée Chateaubriand", uai="0350001A")
    supplier = make.supplier(siret=SIRET, name="Laiterie de l'Ouest")
    other = make.supplier(siret=OTHER, name="Primeurs A")
    lines = [
        *[
            make.purchase_line(
                brest, label="YAOURT NAT BIO 125G X48", supplier=supplier, reference="Y125"
            )
            for _ in range(3)
        ],
        make.purchase_line(brest, label="Steak haché 15% MG VBF 10X1KG", amount_ht=50.0),
        make.purchase_line(brest, label="STEAK HACHE VBF 5X1KG", amount_ht=30.0),
        make.purchase_line(
            rennes, label="YAOURT NAT BIO 125G X48", supplier=supplier, reference="Y125"
        ),
        make.purchase_line(rennes, label="STEAK HACHE 15% MG VBF 10X1KG"),
        make.purchase_line(
            rennes,
            label="CAROTTES RAPEES 5KG",
            supplier=other,
            reference="CR5",
            line_date=dt.date(2026, 1, 5),
        ),
        make.purchase_line(rennes, label="Pain de mie", nomenclature_code="T-OLD"),
    ]
    return {"brest": brest, "rennes": rennes, "items": items, "lines": lines}


# -- exact after each kind of change -----------------------------------------------------------
def test_orm_changes_keep_the_table_exact(session, make, world):
    assert_exact(session)
    line = world["lines"][3]
    line.label = "ROTI DE PORC 1KG"
    assert_exact(session)
    world["lines"][0].reference = "Y126"
    world["lines"][1].nomenclature_code = "T-YAOURT"
    assert_exact(session)
    world["lines"][-1].nomenclature_code = None  # a mapped line back to the queue
    assert_exact(session)
    session.delete(world["lines"][4])
    assert_exact(session)


def test_rebuild_recomputes_everything(session, world):
    session.execute(sa.delete(ArticleGroupRow))
    session.execute(sa.delete(ArticleGroupLine))
    assert groups.rebuild(session) == 3
    assert_exact(session)


#: (SIRET, reference) a group key is made of, spaces of every kind around them: PostgreSQL keys
#: the plain ones itself, Python the others (``str.strip()`` strips more than ``btrim``).
AWKWARD_KEYS = [
    (SIRET, "Y125"),
    (None, "R-1"),
    ("", "R-1"),
    (f" {SIRET} ", "Y125"),
    (SIRET, " Y125"),
    (SIRET, "Y125\t"),
    (SIRET, "\u00a0Y125"),
    (SIRET, "Y125\u2009"),
    (f"{SIRET}\n", "Y125"),
    ("   ", "R-1"),
    (SIRET, "R é 1"),
    (SIRET, "é"),
    (SIRET, "x"),
    (SIRET, "  "),
    (SIRET, "\u3000"),
    (None, None),
]


def test_rebuild_keys_every_line_as_python_does(session, world, make):
    site = world["brest"]
    for siret, reference in AWKWARD_KEYS:
        line = make.purchase_line(site, label=f"ARTICLE {reference!r}", reference=reference)
        line.supplier_siret = siret
    session.flush()
    assert groups.rebuild(session) > 3
    assert_exact(session)
    keys = set(session.scalars(sa.select(ArticleGroupLine.key)))
    assert f"ref:{SIRET}|Y125" in keys and "ref:|R-1" in keys
    assert f"ref:{SIRET}|R é 1" in keys and f"ref:{SIRET}|é" in keys


def test_import_of_new_and_changed_lines_keeps_the_table_exact(session, make, world, tmp_path):
    from workbench.imports.operations import import_file

    header = (
        "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;"
        "prix_ht;famille_produits;categories_egalim;origine;code_nomenclature\n"
    )
    path = tmp_path / "a.csv"
    path.write_text(
        header
        + f"0290001A;2026-02-01;{SIRET};Laiterie;Y125;YAOURT NAT BIO 125G X48;1;kg;10;;;;\n"
        + "0290001A;2026-02-02;;Boulanger;;PAIN COMPLET 500G;1;kg;30;;;;\n"
        + "0350001A;2026-02-02;;Boulanger;;PAIN COMPLET 500G;1;kg;20;;;;\n",
        encoding="utf-8",
    )
    assert import_file(session, "purchases", path).counts.inserted == 3
    assert_exact(session)
    path.write_text(
        header
        + f"0290001A;2026-02-01;{SIRET};Laiterie;Y125;YAOURT NAT BIO 125G X48;1;kg;12;;;;\n"
        + "0290001A;2026-02-02;;Boulanger;;PAIN COMPLET 500G;1;kg;30;;;T-STEAK;\n"
        + "0350001A;2026-02-02;;Boulanger;;PAIN COMPLET 500G;1;kg;25;;;;\n",
        encoding="utf-8",
    )
    import_file(session, "purchases", path)
    assert_exact(session)


def test_mapping_undo_and_bulk_accept_keep_the_table_exact(session, make, world):
    admin = make.user(role="admin")
    operations.map_group(session, admin, f"ref:{SIRET}|Y125", "T-YAOURT", all_sites=True)
    assert_exact(session)
    assert not session.scalar(
        sa.select(sa.func.count()).where(ArticleGroupRow.key == f"ref:{SIRET}|Y125")
    )
    operations.undo_last_mapping(session, admin)
    assert_exact(session)
    result = operations.map_groups(
        session,
        admin,
        [("lbl:steak hache", "T-STEAK"), (f"ref:{OTHER}|CR5", "T-STEAK")],
        site_ids=[world["rennes"].id],
    )
    assert result.groups == 2
    assert_exact(session)


def test_nomenclature_retire_and_merge_keep_the_table_exact(session, make, world):
    from workbench.reference.nomenclature import merge_item, retire_item

    admin = make.user(role="admin")
    operations.map_group(session, admin, "lbl:steak hache", "T-STEAK", all_sites=True)
    retire_item(session, world["items"]["old"])
    assert_exact(session)
    merge_item(session, world["items"]["steak"], world["items"]["yaourt"])
    assert_exact(session)


def test_approved_corrections_and_reverts_keep_the_table_exact(session, make, world):
    from workbench.review import operations as review

    canteen = make.user(role="canteen", sites=[world["brest"]])
    line = world["lines"][0]
    correction = review.propose_correction(
        session, canteen, "purchase_line", line.id, "nomenclature_code", "T-YAOURT", "facture"
    )
    if correction.status == "pending":
        review.decide(session, make.user(role="legal"), correction, True, "ok")
    assert correction.status == "applied"
    assert_exact(session)
    revert = review.revert_correction(session, make.user(role="admin"), correction, "erreur")
    if revert.status == "pending":
        review.decide(session, make.user(role="legal"), revert, True, "ok")
    session.refresh(line)
    assert line.nomenclature_code is None
    assert_exact(session)


def test_rule_runs_leave_the_table_exact(session, make, world):
    from workbench.rules.operations import run_rules

    run_rules(session)
    assert_exact(session)
    world["lines"][5].nomenclature_code = "T-YAOURT"
    session.flush()
    run_rules(session, record_kind="purchase_line", record_ids=[world["lines"][5].id])
    assert_exact(session)


# -- scope -------------------------------------------------------------------------------------
def test_a_canteen_user_sees_only_its_lycees_groups(session, make, world):
    user = make.user(role="canteen", sites=[world["brest"]])
    page = queries.group_page(session, user, queries.GroupFilter())
    keys = {g.key for g in page.groups} | {v.key for vs in page.variants.values() for v in vs}
    assert keys == {f"ref:{SIRET}|Y125", "lbl:steak hache"}
    assert page.total_lines == 5
    yaourt = next(g for g in page.groups if g.key == f"ref:{SIRET}|Y125")
    assert yaourt.line_count == 3 and yaourt.site_ids == [world["brest"].id]
    both = make.user(role="canteen", sites=[world["brest"], world["rennes"]])
    page = queries.group_page(session, both, queries.GroupFilter())
    assert page.total_lines == 8
    yaourt = next(g for g in page.groups if g.key == f"ref:{SIRET}|Y125")
    assert yaourt.line_count == 4


def test_a_forged_group_key_of_another_lycee_changes_nothing(client, session, make, world):
    user = make.user(role="canteen", sites=[world["brest"]])
    with pytest.raises(ValidationError):
        operations.map_group(session, user, f"ref:{OTHER}|CR5", "T-STEAK")
    client.login(user.email)
    response = client.post_form(
        "/articles/rattacher",
        {"group": f"ref:{OTHER}|CR5", "code": "T-STEAK", "site": "", "next": "/articles"},
    )
    assert response.status_code in (302, 403, 404)
    session.expire_all()
    assert world["lines"][7].nomenclature_code is None
    assert_exact(session)
    html = client.get("/articles").get_data(as_text=True)
    assert "CR5" not in html and "CAROTTES" not in html


# -- near variants across the whole queue --------------------------------------------------------
def test_near_variant_groups_on_different_pages_are_one_cluster(session, make):
    site = make.site()
    user = make.user(role="canteen", sites=[site])
    a = make.supplier(siret=OTHER, name="Primeurs A")
    b = make.supplier(siret="35600000000048", name="Primeurs B")
    make.purchase_line(
        site,
        label="CAROTTES RAPEES 5KG",
        supplier=a,
        reference="CR5",
        line_date=dt.date(2026, 1, 1),
    )
    make.purchase_line(
        site, label="POMMES GOLDEN 18KG", supplier=a, reference="P1", line_date=dt.date(2026, 2, 1)
    )
    make.purchase_line(
        site,
        label="Carottes rapées seau 2,5 kg",
        supplier=b,
        reference="X9",
        line_date=dt.date(2026, 3, 1),
    )
    first = queries.group_page(session, user, queries.GroupFilter(per_page=1))
    assert first.total_groups == 2 and first.pages == 2
    assert [g.key for g in first.groups] == [f"ref:{OTHER}|CR5"]
    assert [v.key for v in first.variants[f"ref:{OTHER}|CR5"]] == ["ref:35600000000048|X9"]
    second = queries.group_page(session, user, queries.GroupFilter(per_page=1, page=2))
    assert [g.key for g in second.groups] == [f"ref:{OTHER}|P1"] and not second.variants
    assert_exact(session)


def test_one_decision_maps_the_cluster_the_server_looks_up_again(client, session, make):
    make.nomenclature_item(code="T-CAROTTE", label="Carotte râpée", family="FRUITS_ET_LEGUMES")
    site, other_site = make.site(), make.site()
    canteen = make.user(role="canteen", sites=[site])
    a = make.supplier(siret=OTHER, name="Primeurs A")
    b = make.supplier(siret="35600000000048", name="Primeurs B")
    mine = [
        make.purchase_line(
            site,
            label="CAROTTES RAPEES 5KG",
            supplier=a,
            reference="CR5",
            line_date=dt.date(2026, 1, 1),
        ),
        make.purchase_line(site, label="Carottes rapées seau 2,5 kg", supplier=b, reference="X9"),
    ]
    theirs = make.purchase_line(other_site, label="CAROTTES RAPEES 2KG", supplier=a, reference="C2")
    assert queries.cluster_variants(session, canteen, f"ref:{OTHER}|CR5") == [
        "ref:35600000000048|X9"
    ]
    client.login(canteen.email)
    html = client.get("/articles").get_data(as_text=True)
    assert 'name="variantes" value="anciens"' in html and f"ref:{OTHER}|C2" not in html
    client.post_form(
        "/articles/rattacher",
        {
            "group": f"ref:{OTHER}|CR5",
            "variantes": "anciens",
            "code": "T-CAROTTE",
            "site": "",
            "next": "/articles",
        },
    )
    session.expire_all()
    assert {line.nomenclature_code for line in mine} == {"T-CAROTTE"}
    assert theirs.nomenclature_code is None  # another lycée's variant is not in the cluster
    assert_exact(session)
