"""The evaluation harness: variant generator, metrics, learning curve, seed nomenclature."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.matching import Matcher, normalise
from workbench.matching.evaluation import (
    accuracy,
    default_nomenclature,
    evaluate,
    feed_learning_curve,
    generate_variants,
    learning_curve,
)
from workbench.matching.nomenclature import build_nomenclature, clean_label


@pytest.fixture(scope="module")
def nomenclature() -> pd.DataFrame:
    return default_nomenclature()


def test_accuracy_counts_top1_and_topk():
    sug = pd.DataFrame(
        {
            "input_index": [0, 0, 1, 1, 2],
            "rank": [1, 2, 1, 2, 1],
            "code": ["A", "B", "X", "B", "Z"],
        }
    )
    res = accuracy(sug, pd.Series(["A", "B", "C"]), k=5)
    assert res == {"n": 3, "top1": pytest.approx(1 / 3), "topk": pytest.approx(2 / 3)}
    assert accuracy(sug, pd.Series(["A", "B", "C"]), k=1)["topk"] == pytest.approx(1 / 3)


def test_seed_nomenclature_is_clean(nomenclature):
    assert len(nomenclature) > 2500
    assert nomenclature["code"].is_unique
    assert nomenclature["code"].str.fullmatch(r"NOM-\d{5}").all()
    fps = nomenclature["label"].map(lambda s: normalise(s).fingerprint)
    assert fps.is_unique  # no two items the engine cannot tell apart
    assert set(nomenclature["family"]) == {
        "VIANDES_VOLAILLES",
        "CHARCUTERIE",
        "PRODUITS_DE_LA_MER",
        "FRUITS_ET_LEGUMES",
        "PRODUITS_LAITIERS",
        "BOULANGERIE",
        "BOISSONS",
        "AUTRES",
    }


def test_build_nomenclature_dedupes_and_maps_families():
    ciqual = pd.DataFrame(
        {
            "alim_code": ["6250", "6251", "1000", "13000"],
            "alim_nom_fr": [
                "Boeuf, steak haché 5% MG, cru",
                "Boeuf, steak haché 15% MG, cru",
                "Pastis",
                "Pomme, crue (aliment moyen)",
            ],
            "grp_code": ["04", "04", "06", "02"],
            "ssgrp_code": ["0402", "0402", "0603", "0204"],
        }
    )
    out = build_nomenclature(ciqual)
    assert out["code"].tolist() == ["NOM-06250", "NOM-13000"]
    assert out["family"].tolist() == ["VIANDES_VOLAILLES", "FRUITS_ET_LEGUMES"]
    assert out["label"].tolist()[1] == "Pomme, crue"
    assert clean_label("Aligot (purée), préemballé") == "Aligot"


def test_variants_are_deterministic_and_not_trivial(nomenclature):
    nom = nomenclature.head(300)
    a = generate_variants(nom, per_item=3, seed=1)
    b = generate_variants(nom, per_item=3, seed=1)
    c = generate_variants(nom, per_item=3, seed=2)
    assert a.equals(b)
    assert not a.equals(c)
    assert len(a) == 900
    labels = dict(zip(nom["code"], nom["label"], strict=True))
    same_raw = (a["label"] == a["code"].map(labels)).mean()
    assert same_raw < 0.05
    same_norm = (
        a["label"].map(lambda s: normalise(s).fingerprint)
        == a["code"].map(lambda c: normalise(labels[c]).fingerprint)
    ).mean()
    assert same_norm < 0.6


def test_evaluate_and_learning_curve_on_small_set(nomenclature):
    nom = nomenclature.iloc[::10].reset_index(drop=True)  # ~290 items across groups
    ev = generate_variants(nom, per_item=2, seed=3)
    m = Matcher(nom)
    res = evaluate(m, ev)
    assert res["n"] == len(ev)
    assert res["top1"] >= 0.9
    assert res["topk"] >= res["top1"]
    assert res["labels_per_s"] > 0
    curve = learning_curve(m, ev, fractions=(0.0, 0.5))
    assert curve["aliases"].tolist() == [0, len(ev) // 2]
    assert (curve["top1"] >= 0.85).all()
    # a wrong matcher scores low: accuracy is not trivially 1
    shuffled = ev.assign(code=ev["code"].sample(frac=1, random_state=0).to_numpy())
    assert evaluate(m, shuffled)["top1"] < 0.1


def test_feed_learning_curve_reuses_decisions(nomenclature):
    nom = nomenclature.iloc[::20].reset_index(drop=True)
    distinct = generate_variants(nom, per_item=2, seed=4)
    feed = pd.concat([distinct] * 3, ignore_index=True)  # every raw label seen three times
    curve = feed_learning_curve(Matcher(nom), feed, fractions=(0.0, 0.5))
    assert curve["alias_hits"].tolist()[0] == 0
    assert curve["alias_hits"].tolist()[1] > 0.7
    assert curve["top1"].tolist()[1] >= curve["top1"].tolist()[0]
    assert curve["remaining"].tolist() == [len(feed), len(feed) - len(feed) // 2]
