"""EGalim and SPASER computations (pure)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.indicators import engine, quality


def _lines(rows):
    return pd.DataFrame(rows, columns=["id", "labels", "origin", "family", "amount_ht"])


def test_a_line_with_several_labels_counts_once_in_priority_order():
    lines = _lines(
        [
            (1, "LABEL_ROUGE,BIO", None, "VIANDES_VOLAILLES", 100),
            (2, "HVE,FERMIER", None, "AUTRES", 50),
        ]
    )
    assert engine.egalim_category(lines["labels"]).tolist() == ["BIO", "HVE"]
    summary = engine.egalim_summary(lines).iloc[0]
    assert summary["bio_share"] == pytest.approx(100 / 150)
    assert summary["egalim_share"] == pytest.approx(1.0)


def test_origin_is_not_an_egalim_label_and_is_counted_apart():
    lines = _lines(
        [(1, "FRANCE", "FRANCE", "VIANDES_VOLAILLES", 80), (2, "", None, "PRODUITS_DE_LA_MER", 20)]
    )
    summary = engine.egalim_summary(lines).iloc[0]
    assert summary["egalim_share"] == 0 and summary["france_share"] == pytest.approx(0.8)
    assert summary["meat_fish_egalim_share"] == 0


def test_meat_and_fish_share_uses_only_those_families():
    lines = _lines(
        [
            (1, "LABEL_ROUGE", None, "VIANDES_VOLAILLES", 60),
            (2, "", None, "VIANDES_VOLAILLES", 40),
            (3, "BIO", None, "FRUITS_ET_LEGUMES", 900),
        ]
    )
    assert engine.egalim_summary(lines).iloc[0]["meat_fish_egalim_share"] == pytest.approx(0.6)


def test_per_group_summary():
    lines = _lines([(1, "BIO", None, "AUTRES", 10), (2, "", None, "AUTRES", 30)]).assign(
        site=["A", "B"]
    )
    by_site = engine.egalim_summary(lines, ["site"]).set_index("site")
    assert by_site.loc["A", "bio_share"] == 1 and by_site.loc["B", "bio_share"] == 0


def test_source_values_undo_applied_corrections_but_keep_the_first_old_value():
    current = _lines([(1, "", None, "AUTRES", 10), (2, "BIO", None, "AUTRES", 10)])
    corrections = pd.DataFrame(
        [
            (10, 1, "labels", "BIO", "applied"),
            (11, 1, "labels", "HVE", "applied"),
            (12, 2, "labels", "X", "rejected"),
        ],
        columns=["id", "record_id", "field", "old_value", "status"],
    )
    before = engine.source_values(current, corrections, ["labels"]).set_index("id")
    assert before.loc[1, "labels"] == "BIO" and before.loc[2, "labels"] == "BIO"


def _contracts():
    contracts = pd.DataFrame(
        [
            (
                1,
                "B",
                100.0,
                "2021-01-10",
                ["Clause sociale"],
                ["Pas de considération environnementale"],
                True,
                0.3,
            ),
            (
                2,
                "B",
                300.0,
                "2023-06-01",
                ["Pas de considération sociale"],
                ["Critère environnemental"],
                True,
                0.1,
            ),
            (3, "B", 600.0, "2025-06-01", [], [], False, None),
        ],
        columns=[
            "id",
            "buyer_id",
            "amount",
            "notification_date",
            "social_considerations",
            "environmental_considerations",
            "has_advance",
            "advance_rate",
        ],
    )
    holders = pd.DataFrame(
        [
            (1, 0, "holder", "55204599900869"),
            (2, 0, "holder", "55204599900869"),
            (3, 0, "holder", "21974022200019"),
            (3, 1, "holder", "55204599900869"),
        ],
        columns=["contract_id", "position", "role", "identifier"],
    )
    suppliers = pd.DataFrame(
        [("55204599900869", "PME", "35238"), ("21974022200019", "GE", "75056")],
        columns=["siret", "company_category", "commune_code"],
    )
    return contracts, holders, suppliers


def test_spaser_flags_and_first_time_winners():
    flags = engine.spaser_flags(*_contracts(), region_code="53", first_winner_years=3).set_index(
        "id"
    )
    assert flags["is_social"].tolist() == [True, False, False]
    assert flags["is_environmental"].tolist() == [False, True, False]
    assert flags["has_advance_30"].tolist() == [True, False, False]
    assert flags["is_sme"].tolist() == [True, True, False]  # first holder decides
    assert flags["is_regional"].tolist() == [True, True, False]
    # contract 2: same SIREN won contract 1 2.4 years earlier → not a first-time winner
    assert flags["is_first_winner"].tolist() == [True, False, True]


def test_spaser_summary_shares_by_count_and_value():
    flags = engine.spaser_flags(*_contracts(), region_code="53", first_winner_years=3)
    summary = engine.spaser_summary(flags).set_index("indicator")
    assert summary.loc["is_sme", "count_share"] == pytest.approx(2 / 3)
    assert summary.loc["is_sme", "value_share"] == pytest.approx(400 / 1000)


def test_quality_per_thousand_and_median_resolution():
    anomalies = pd.DataFrame(
        {
            "status": ["open", "open", "resolved"],
            "site_id": [1, 1, 2],
            "first_seen_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-01"], utc=True),
            "closed_at": pd.to_datetime([None, None, "2026-01-05"], utc=True),
        }
    )
    records = pd.DataFrame({"site_id": [1, 2], "name": ["A", "B"], "records": [500, 100]})
    table = quality.per_thousand(anomalies, records, "site_id").set_index("site_id")
    assert table.loc[1, "per_thousand"] == 4.0 and table.loc[2, "per_thousand"] == 0
    assert quality.median_resolution_days(anomalies) == 4.0


def test_weekly_trend_counts_opened_and_closed_per_week():
    anomalies = pd.DataFrame(
        {
            "status": ["open", "resolved", "resolved"],
            "first_seen_at": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-13"], utc=True),
            "closed_at": pd.to_datetime([None, "2026-01-14", "2026-01-15"], utc=True),
        }
    )
    trend = quality.weekly_trend(anomalies).set_index("week")
    assert trend["opened"].tolist() == [2, 1] and trend["closed"].tolist() == [0, 2]
