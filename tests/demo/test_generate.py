"""The demo generator (pure): determinism, shape, deliberate defects, DECP v2 records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from stdnum.fr import siret as stdnum_siret

from workbench.demo import decp
from workbench.demo.generate import (
    DUPLICATE_SPELLING,
    FAMILY_SPECS,
    ORIGINS,
    UNITS,
    egalim_shares,
    generate_demo,
    label_variant,
    uai_code,
)
from workbench.demo.nomenclature import article_core
from workbench.reference.models import FAMILIES, LABELS

SCHEMA = (
    Path(__file__).resolve().parents[2] / "workbench" / "imports" / "schemas" / "decp_v2.0.3.json"
)


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return generate_demo(2025, "small")


def test_same_seed_gives_the_same_frames() -> None:
    first, second = generate_demo(7, lines=2_000), generate_demo(7, lines=2_000)
    assert first.keys() == second.keys()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)


def test_another_seed_gives_other_data() -> None:
    first, second = generate_demo(7, lines=2_000), generate_demo(8, lines=2_000)
    assert not first["purchases"]["amount_ht"].equals(second["purchases"]["amount_ht"])
    assert set(first["suppliers"]["siret"].dropna()) != set(second["suppliers"]["siret"].dropna())
    assert list(first["contracts"]["amount"]) != list(second["contracts"]["amount"])


def test_small_demo_has_the_announced_sizes(demo) -> None:
    assert len(demo["directions"]) == 3
    assert len(demo["sites"]) == 10
    assert 300 <= len(demo["nomenclature"]) <= 600
    assert set(demo["nomenclature"]["family"]) == set(FAMILIES)
    assert 45 <= len(demo["suppliers"]) <= 60
    per_supplier = demo["matrix"].groupby("supplier_key").size()
    assert len(per_supplier) == 30
    assert per_supplier.between(20, 80).all()
    assert len(demo["purchases"]) >= 20_000
    assert len(demo["contracts"]) >= 300


def test_large_size_multiplies_purchase_lines_by_ten() -> None:
    from workbench.demo.generate import SIZES

    assert SIZES["large"] == 10 * SIZES["small"]


def test_sites_have_breton_uai_codes_with_a_valid_check_letter(demo) -> None:
    for uai, department in zip(demo["sites"]["uai"], demo["sites"]["department"], strict=True):
        assert re.fullmatch(r"0(22|29|35|56)\d{4}[A-Z]", uai)
        assert uai[1:3] == department
        assert uai_code(int(uai[:7])) == uai
    assert demo["sites"]["uai"].is_unique
    assert demo["sites"]["siret"].map(stdnum_siret.is_valid).all()
    assert demo["sites"]["siret"].is_unique


def test_generated_valid_sirets_pass_stdnum_and_the_others_fail(demo) -> None:
    suppliers = demo["suppliers"]
    valid = suppliers[suppliers["siret_valid"]]
    assert valid["siret"].map(stdnum_siret.is_valid).all()
    present_invalid = suppliers[~suppliers["siret_valid"] & suppliers["siret"].notna()]
    assert len(present_invalid) >= 2
    assert not present_invalid["siret"].map(stdnum_siret.is_valid).any()
    assert 0.03 <= (~suppliers["siret_valid"]).mean() <= 0.15
    assert suppliers["siret"].isna().sum() >= 1
    assert suppliers["company_category"].isna().sum() >= 1


def test_one_supplier_appears_under_two_spellings_with_the_same_siren(demo) -> None:
    suppliers = demo["suppliers"].set_index("name")
    first, twin = (
        suppliers.loc["ARMOR VIANDES SAS", "siret"],
        suppliers.loc[DUPLICATE_SPELLING, "siret"],
    )
    assert first != twin and first[:9] == twin[:9]
    assert (demo["purchases"]["supplier_name"] == DUPLICATE_SPELLING).any()


def test_purchase_share_unmapped_is_realistic_and_grouped(demo) -> None:
    purchases = demo["purchases"]
    unmapped = purchases["nomenclature_code"].isna()
    assert 0.75 <= 1 - unmapped.mean() <= 0.85
    # many unmapped lines share an article: grouping by label pays off
    assert unmapped.sum() / purchases.loc[unmapped, "label"].nunique() > 2


def test_purchase_lines_are_in_the_school_year_with_unique_keys(demo) -> None:
    purchases = demo["purchases"]
    dates = pd.to_datetime(purchases["line_date"])
    assert dates.min() >= pd.Timestamp("2025-09-01") and dates.max() <= pd.Timestamp("2026-06-30")
    assert (dates.dt.dayofweek < 5).all()
    assert purchases["line_key"].is_unique
    columns = ["uai", "line_date", "supplier_siret", "reference", "label", "quantity", "amount_ht"]
    assert purchases.duplicated(columns).sum() >= 50  # exact duplicates, on purpose


def test_purchase_lines_use_closed_lists(demo) -> None:
    purchases = demo["purchases"]
    assert set(purchases["origin"].dropna()) <= set(ORIGINS)
    assert set(purchases["unit"]) <= set(UNITS)
    assert set(purchases["family"]) <= set(FAMILIES)
    declared = {lab for labels in purchases["labels"] for lab in labels.split(",") if lab}
    assert declared <= set(LABELS)
    assert set(demo["matrix"]["origin"]) <= set(ORIGINS)


def test_purchase_lines_carry_the_deliberate_contradictions(demo) -> None:
    purchases = demo["purchases"]
    lies = purchases["label_lie"].value_counts()
    for kind in (
        "BIO_NOT_IN_MATRIX",
        "PECHE_DURABLE_ON_MEAT",
        "FERMIER_ON_VEGETABLES",
        "ORIGIN_AS_LABEL",
    ):
        assert lies.get(kind, 0) >= 10, kind
    bio_lie = purchases[purchases["label_lie"] == "BIO_NOT_IN_MATRIX"]
    assert bio_lie["labels"].str.contains("BIO").all()
    assert not bio_lie["matrix_labels"].str.contains("BIO").any()
    assert (purchases["amount_ht"] <= 0).sum() >= 5
    assert (~purchases["in_matrix"]).mean() > 0.02


def test_egalim_shares_are_plausible(demo) -> None:
    shares = egalim_shares(demo["purchases"])
    assert 0.20 <= shares["egalim"] <= 0.35
    assert 0.13 <= shares["bio"] <= 0.22


def test_labels_look_like_supplier_labels(demo) -> None:
    labels = demo["matrix"]["label"]
    assert (labels == labels.str.upper()).all()
    assert not labels.str.contains(r"[éèàçôœ]").any()
    packs = {p.split()[-1] for spec in FAMILY_SPECS.values() for p in spec.packs}
    assert labels.map(lambda lab: lab.split()[-1] in packs).mean() > 0.9
    for token in ("BIO", "VBF", "MSC", "SURG"):
        assert labels.str.contains(rf"\b{token}\b").any(), token


def test_article_core_abbreviates_like_supplier_software() -> None:
    assert article_core("Boeuf, steak haché 15% MG, cru") == "STEAK HACHE 15% MG BF"
    assert article_core("Pomme de terre, sans peau, crue") == "PDT PEAU"
    assert article_core("Yaourt nature") == "YAOURT NAT"


def test_label_variants_differ_from_the_label() -> None:
    label = "STEAK HACHE 15% MG BF VBF 10X1KG"
    variants = {label_variant(label, how) for how in range(5)}
    assert label not in variants
    assert "STEAK HACHE 15% MG BF VBF" in variants
    assert "STEAK HACHE 15% MG BOEUF VBF 10X1KG" in variants


def test_every_contract_raw_has_the_decp_v2_required_keys(demo) -> None:
    for row in demo["contracts"].itertuples():
        required = decp.CONCESSION_REQUIRED if row.kind == "concession" else decp.MARCHE_REQUIRED
        missing = set(required) - set(row.raw)
        assert not missing, (row.contract_id, missing)
    assert demo["contracts"]["contract_id"].str.len().le(16).all()
    assert (demo["contracts"]["kind"] == "concession").sum() >= 3


def test_clean_contracts_validate_against_the_official_schema(demo) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    contracts = demo["contracts"]
    for row in contracts[contracts["error"] == ""].itertuples():
        key = "contrat-concession" if row.kind == "concession" else "marche"
        errors = list(validator.iter_errors({"marches": {key: [row.raw]}}))
        assert not errors, (row.contract_id, errors[0].message)
    broken = contracts[contracts["error"] == "DURATION_ZERO"].iloc[0]
    assert list(validator.iter_errors({"marches": {"marche": [broken.raw]}}))


def test_a_share_of_contracts_carries_each_real_world_error(demo) -> None:
    contracts = demo["contracts"]
    share = (contracts["error"] != "").mean()
    assert 0.10 <= share <= 0.15
    assert set(contracts["error"]) - {""} == set(decp.ERRORS)
    by_error = contracts.set_index("error")
    assert (by_error.loc["AMOUNT_999999", "amount"] == 999999).all()
    assert by_error.loc["MOJIBAKE", "object"].str.contains("Ã").all()
    late = contracts[contracts["error"] == "PUBLICATION_LATE"]
    assert ((late["publication_date"] - late["notification_date"]).map(lambda d: d.days) > 62).all()
    clean = contracts[(contracts["error"] == "") & (contracts["kind"] == "marche")]
    delay = (clean["publication_date"] - clean["notification_date"]).map(lambda d: d.days)
    assert delay.between(0, 62).all()


def test_contract_directions_follow_cpv_divisions(demo) -> None:
    directions = demo["directions"].set_index("code")["cpv_divisions"].str.split(",")
    contracts = demo["contracts"]
    marches = contracts[(contracts["kind"] == "marche") & (contracts["error"] != "CPV_UNKNOWN")]
    for row in marches.itertuples():
        division = row.cpv_code[:2]
        if row.direction_code is None:
            assert not any(division in divs for divs in directions)
        else:
            assert division in directions[row.direction_code]
    assert (contracts["buyer_id"] == decp.REGION_SIRET).mean() > 0.8
    other_buyers = set(contracts.loc[contracts["error"] != "BUYER_SIRET_INVALID", "buyer_id"])
    assert other_buyers - {decp.REGION_SIRET} <= set(demo["sites"]["siret"])


def test_contract_holders_are_mostly_demo_suppliers(demo) -> None:
    holders = demo["holders"]
    known = set(demo["suppliers"]["siret"].dropna())
    main = holders[holders["role"] == "holder"]
    assert main["identifier"].isin(known).mean() > 0.6
    assert holders["contract_key"].nunique() == len(demo["contracts"])
    assert len(demo["modifications"]) > 0
