"""The pure matching engine: normalisation, signals, scoring, learning, clustering."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.matching import Matcher, cluster_labels, extract_signals, normalise

NOMENCLATURE = pd.DataFrame(
    {
        "code": [
            "LAIT",
            "LAIT-DE",
            "LAIT-BIO-DE",
            "STEAK",
            "YAOURT",
            "CABILLAUD",
            "PDT",
            "POULET-CUISSE",
            "POULET-FILET",
            "CAROTTE",
            "YAOURT-FRUITS",
            "SAUMON",
        ],
        "label": [
            "Lait",
            "Lait demi-écrémé UHT",
            "Lait demi écrémé bio",
            "Boeuf, steak haché, cru",
            "Yaourt nature",
            "Cabillaud, filet, cru",
            "Pomme de terre lavée",
            "Poulet, cuisse, crue",
            "Poulet, filet, cru",
            "Carotte râpée",
            "Yaourt aux fruits, sucré",
            "Saumon, filet, cru",
        ],
        "family": ["PRODUITS_LAITIERS"] * 3
        + [
            "VIANDES_VOLAILLES",
            "PRODUITS_LAITIERS",
            "PRODUITS_DE_LA_MER",
            "FRUITS_ET_LEGUMES",
            "VIANDES_VOLAILLES",
            "VIANDES_VOLAILLES",
            "FRUITS_ET_LEGUMES",
            "PRODUITS_LAITIERS",
            "PRODUITS_DE_LA_MER",
        ],
    }
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(NOMENCLATURE)


def top(matcher: Matcher, label: str, **kw) -> pd.DataFrame:
    return matcher.suggest([label], k=5, **kw)


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "quality", "origin"),
    [
        ("STEAK HACHE 15% MG VBF 10X1KG", "steak hache", (), ("FRANCE",)),
        ("YAOURT NAT BIO 125G X48", "yaourt nature", ("BIO",), ()),
        ("FILET CABILLAUD MSC SURG", "filet cabillaud", ("PECHE_DURABLE",), ()),
        ("PDT GT LAVEE SAC 10KG", "pomme terre gt lavee", (), ()),
        ("LAIT 1/2 ECR UHT 6X1L", "lait demi ecreme uht", (), ()),
        ("CHOC VAN SCE 2,5KG 2.5KG 1L X 48 5/1 4/4 3/1", "chocolat vanille sauce", (), ()),
        ("BŒUF ÉMINCÉ LR ORIGINE FRANCE", "boeuf emince", ("LABEL_ROUGE",), ("FRANCE",)),
        ("CARRÉ\u00a0DE PORC S/V 4E GAMME SARL DUPONT", "carre porc dupont", (), ()),
        ("ŒUFS  ÆGLE FRAIS", "oeufs aegle frais", (), ()),
    ],
)
def test_normalise_domain_examples(raw, key, quality, origin):
    n = normalise(raw)
    assert n.key == key
    assert n.signals.quality == quality
    assert n.signals.origin == origin
    assert n.raw == raw  # the raw label is kept intact


def test_normalise_keeps_states_and_measures_aside():
    n = normalise("FILET CABILLAUD MSC SURG 10X1KG")
    assert n.states == ("SURGELE",)
    assert "10x1kg" in n.measures
    s = normalise("CAROTTES S/V 4E GAMME")
    assert set(s.states) == {"SOUS_VIDE", "4E_GAMME"}


def test_ocr_repaired_only_inside_words_never_in_measures():
    assert normalise("P0ULET CUI5SE 10X1KG").key == "poulet cuisse"
    n = normalise("YAOURT 1OOG 500G")
    assert n.key == "yaourt"  # '1OOG' is a slipped measure, not the word 'ioog'
    assert {"500g", "1oog"} <= set(n.measures)
    assert normalise("5UCRE EN P0UDRE").key == "sucre poudre"
    assert normalise("JAMBON SUP 10TR 12ZZ").key == "jambon sup"  # counts, not words
    assert normalise("COMPOTE POMME S/S").key == "compote pomme sans sucre"


def test_legal_forms_and_packaging_dropped():
    n = normalise("JAMBON BLANC BQ CT COLIS UVC PCE SAS EARL GAEC SCEA EURL")
    assert n.key == "jambon blanc"


# -- signals -------------------------------------------------------------------------------


def test_vbf_is_origin_not_quality():
    s = extract_signals("STEAK HACHE VBF")
    assert s.quality == ()
    assert s.origin == ("FRANCE",)


@pytest.mark.parametrize(
    ("raw", "quality"),
    [
        ("CABILLAUD MSC", ("PECHE_DURABLE",)),
        ("YAOURT BIO", ("BIO",)),
        ("YAOURT AB", ("BIO",)),
        ("POULET LABEL ROUGE FERMIER", ("LABEL_ROUGE", "FERMIER")),
        ("COMTE AOP", ("AOCAOP",)),
        ("JAMBON IGP HVE", ("IGP", "HVE")),
    ],
)
def test_quality_signals(raw, quality):
    assert extract_signals(raw).quality == quality


def test_ue_is_europe_origin():
    assert extract_signals("CAROTTE UE").origin == ("EUROPE",)


# -- scoring ------------------------------------------------------------------------------


def test_subset_trap_lait(matcher):
    res = top(matcher, "lait")
    assert res.iloc[0]["code"] == "LAIT"
    assert res.iloc[0]["score"] == pytest.approx(100.0)
    others = res[res["code"].isin(["LAIT-DE", "LAIT-BIO-DE"])]
    assert len(others) == 2
    assert (others["score"] < 70).all()


def test_subset_trap_without_exact_item():
    m = Matcher(NOMENCLATURE[NOMENCLATURE["code"] != "LAIT"])
    res = top(m, "lait")
    assert (res["score"] < 100).all()
    assert m.score_pair("lait", "LAIT-BIO-DE") < 70


def test_domain_labels_find_their_item(matcher):
    res = matcher.suggest(
        [
            "STEAK HACHE 15% MG VBF 10X1KG",
            "YAOURT NAT BIO 125G X48",
            "FILET CABILLAUD MSC SURG",
            "PDT GT LAVEE SAC 10KG",
            "LAIT 1/2 ECR UHT 6X1L",
            "P0ULET CUIS VF",
            "CAROTTES RAPEES 2,5KG",
        ],
        k=3,
    )
    first = res[res["rank"] == 1].set_index("input_index")["code"].to_dict()
    assert first == {
        0: "STEAK",
        1: "YAOURT",
        2: "CABILLAUD",
        3: "PDT",
        4: "LAIT-DE",
        5: "POULET-CUISSE",
        6: "CAROTTE",
    }


def test_output_columns_and_explanations(matcher):
    res = top(matcher, "FILET CABILLAUD MSC SURG BRANDX")
    assert list(res.columns[:7]) == [
        "input_index",
        "rank",
        "code",
        "label",
        "family",
        "score",
        "source",
    ]
    row = res.iloc[0]
    assert row["source"] == "fuzzy"
    assert set(row["matched_words"].split()) == {"filet", "cabillaud"}
    assert row["unmatched_words"] == "brandx"
    assert row["missing_words"] == "cru"
    assert row["signals"] == "quality=PECHE_DURABLE"
    assert res["rank"].tolist() == list(range(1, len(res) + 1))
    assert res["score"].is_monotonic_decreasing


def test_head_noun_weighs_more(matcher):
    res = top(matcher, "POULET FILET")
    assert res.iloc[0]["code"] == "POULET-FILET"
    assert res.iloc[1]["code"] in {"POULET-CUISSE"}  # same head before 'Saumon, filet'


def test_duplicates_and_empty_labels(matcher):
    res = matcher.suggest(["LAIT", "", "lait", None, "LAIT 1L"], k=1)
    assert set(res["input_index"]) == {0, 2, 4}
    assert (res["code"] == "LAIT").all()


# -- learning -------------------------------------------------------------------------------


def test_accepted_alias_wins_next_time(matcher):
    label = "YAOURT FRUITS ROUGES MARQUE X"
    assert top(matcher, label).iloc[0]["code"] == "YAOURT-FRUITS"
    learned = matcher.learn(
        accepted=pd.DataFrame(
            {"kind": ["label"], "key": [normalise(label).key], "code": ["YAOURT"]}
        )
    )
    res = top(learned, label + " 125G X48")
    assert res.iloc[0]["code"] == "YAOURT"
    assert res.iloc[0]["source"] == "alias_label"
    assert res.iloc[0]["score"] == 100
    assert "YAOURT" not in res.iloc[1:]["code"].tolist()
    # the receiver is unchanged (learn returns a new matcher)
    assert top(matcher, label).iloc[0]["code"] == "YAOURT-FRUITS"


def test_reference_alias_before_label(matcher):
    learned = matcher.learn(accepted=[("reference", "SUPP1|AB-12", "SAUMON")])
    res = learned.suggest(["LAIT"], k=2, suppliers=["SUPP1"], references=["ab-12"])
    assert res.iloc[0]["code"] == "SAUMON"
    assert res.iloc[0]["source"] == "alias_reference"
    other = learned.suggest(["LAIT"], k=1, suppliers=["SUPP2"], references=["AB-12"])
    assert other.iloc[0]["code"] == "LAIT"


def test_rejected_code_not_offered_again(matcher):
    label = "LAIT DEMI ECREME"
    assert "LAIT-DE" in top(matcher, label)["code"].tolist()
    learned = matcher.learn(rejected=[{"key": normalise(label).key, "code": "LAIT-DE"}])
    assert "LAIT-DE" not in top(learned, label)["code"].tolist()
    assert "LAIT-DE" not in top(learned, "ECREME DEMI LAIT 6X1L")["code"].tolist()
    assert "LAIT-DE" in top(learned, "LAIT DEMI ECREME UHT")["code"].tolist()


def test_learned_synonym_from_accepted_aliases():
    nom = pd.DataFrame({"code": ["C1", "C2"], "label": ["Cacao poudre", "Cacao fèves"]})
    m = Matcher(nom)
    assert m.suggest(["CACAO PDRX"], k=1).iloc[0]["matched_words"] == "cacao"
    learned = m.learn(
        accepted=[
            ("label", "cacao pdrx sucre", "C1"),
            ("label", "cacao pdrx maigre", "C1"),
        ]
    )
    assert learned.synonyms == {"pdr": "poudr"}  # stems
    res = learned.suggest(["CACAO PDRX BIO"], k=1).iloc[0]
    assert res["code"] == "C1"
    assert res["matched_words"] == "cacao pdrx"


def test_learned_synonym_needs_support():
    nom = pd.DataFrame({"code": ["C1"], "label": ["Cacao poudre"]})
    learned = Matcher(nom).learn(accepted=[("label", "cacao pdrx", "C1")])
    assert learned.synonyms == {}


# -- clustering -----------------------------------------------------------------------------


def test_variants_cluster_together():
    labels = [
        "YAOURT NAT BIO 125G X48",
        "yaourt nature 125g",
        "NATURE YAOURT",
        "YAOURT NATUR",
        "STEAK HACHE VBF",
        "STEAK HACHE 15% MG",
        "LAIT DEMI ECREME",
        "LAIT ECREME",
    ]
    c = cluster_labels(labels).set_index("input_index")["cluster_id"]
    assert c[0] == c[1] == c[2] == c[3]
    assert c[4] == c[5]
    assert c[0] != c[4]
    assert c[6] != c[7]  # prefer not merging different products


def test_aliases_to_different_codes_never_merged():
    labels = ["YAOURT NATURE", "NATURE YAOURT", "YAOURT NATUR"]
    aliases = pd.DataFrame(
        {"kind": ["label", "label"], "key": ["yaourt nature", "nature yaourt"], "code": ["A", "B"]}
    )
    c = cluster_labels(labels, aliases=aliases).set_index("input_index")["cluster_id"]
    assert c[0] != c[1]
    without = cluster_labels(labels).set_index("input_index")["cluster_id"]
    assert without[0] == without[1] == without[2]
