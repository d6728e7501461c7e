"""Rule logic is pure pandas: checked here on hand-made frames, without an app or a database."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workbench.rules.common import siret_status, siret_statuses
from workbench.rules.contracts import ContractAmountSuspicious, ContractDurationSuspicious
from workbench.rules.purchases import FauxAmiOrigin, LabelFamilyMismatch
from workbench.rules.suppliers import SiretInvalid


@pytest.mark.parametrize(
    "siret",
    [
        "55204599900869",
        "21974022200019",
        "22130001500247",
        "23350001600040",
        "35600000000048",
        "35600000049837",
    ],
)
def test_valid_sirets_including_la_poste_pass(siret: str) -> None:
    assert siret_status(siret) == "valid"


@pytest.mark.parametrize(
    ("siret", "status"),
    [
        ("21750001630066", "checksum"),
        ("12345678900023", "checksum"),
        ("35600000000055", "checksum"),
        ("1234", "format"),
        ("5520459990086A", "format"),
        ("", "missing"),
        (None, "missing"),
    ],
)
def test_invalid_sirets_fail_for_the_right_reason(siret: str | None, status: str) -> None:
    assert siret_status(siret) == status


def test_siret_statuses_are_vectorised_over_repeated_values() -> None:
    series = pd.Series(["55204599900869", None, "21750001630066"] * 1000)
    assert siret_statuses(series).value_counts().to_dict() == {
        "valid": 1000,
        "missing": 1000,
        "checksum": 1000,
    }


def test_siret_invalid_rule_returns_one_failure_per_bad_supplier() -> None:
    suppliers = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "siret": ["35600000049837", "21750001630066", None, "123"],
            "name": list("abcd"),
        }
    )
    found = SiretInvalid().check({"suppliers": suppliers}, {})
    assert found["record_id"].tolist() == [2, 4]
    assert set(found["field"]) == {"siret"}


def _lines(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "id": list(range(1, n + 1)),
        "label": ["X"] * n,
        "labels": [""] * n,
        "family": [None] * n,
        "nomenclature_code": [None] * n,
        "reference": [None] * n,
        "supplier_id": [None] * n,
        "supplier_siret": [None] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_label_family_exceptions_follow_ma_cantine() -> None:
    lines = _lines(
        labels=[
            "LABEL_ROUGE",
            "LABEL_ROUGE",
            "PECHE_DURABLE",
            "PECHE_DURABLE",
            "FERMIER",
            "FERMIER",
            "BIO",
        ],
        family=[
            "BOISSONS",
            "VIANDES_VOLAILLES",
            "PRODUITS_DE_LA_MER",
            "CHARCUTERIE",
            "BOULANGERIE",
            "PRODUITS_LAITIERS",
            "BOISSONS",
        ],
    )
    nomenclature = pd.DataFrame(
        {"code": pd.Series(dtype=object), "family": pd.Series(dtype=object)}
    )
    found = LabelFamilyMismatch().check({"purchase_lines": lines, "nomenclature": nomenclature}, {})
    assert sorted(found["record_id"]) == [1, 4, 5]


def test_faux_ami_needs_an_origin_token_and_an_unsupported_label() -> None:
    lines = _lines(
        label=[
            "STEAK HACHE VBF",
            "STEAK HACHE VBF BIO",
            "STEAK HACHE",
            "ROTI PORC VPF",
            "JAMBON ORIGINE FRANCE",
        ],
        labels=["LABEL_ROUGE", "BIO", "LABEL_ROUGE", "FRANCE", "AOCAOP"],
    )
    empty_matrix = pd.DataFrame(
        {
            c: pd.Series(dtype=object)
            for c in ("id", "supplier_id", "reference", "labels", "origin", "unit_price", "unit")
        }
    )
    suppliers = pd.DataFrame({"id": pd.Series(dtype="int64"), "siret": pd.Series(dtype=object)})
    frames = {"purchase_lines": lines, "matrix_entries": empty_matrix, "suppliers": suppliers}
    found = FauxAmiOrigin().check(frames, {})
    assert sorted(found["record_id"]) == [1, 5]


def test_amount_patterns_and_durations() -> None:
    contracts = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "kind": ["marche", "marche", "marche", "marche", "concession", "concession"],
            "amount": [99999.0, 123456789.0, 150.0, 40000.0, 1_000_000.0, 2_000_000.0],
            "duration_months": [12, 360, 180, 0, 360, 366],
        }
    )
    found = ContractAmountSuspicious().check({"contracts": contracts}, {"suspicious_below": 200.0})
    assert sorted(found["record_id"]) == [1, 2, 3]
    found = ContractDurationSuspicious().check(
        {"contracts": contracts}, {"max_months": 180, "max_months_concession": 360}
    )
    assert sorted(found["record_id"]) == [2, 4, 6]
    assert dict(zip(found["record_id"], found["severity"], strict=True))[4] == "blocking"
    assert dt.date.today()  # rules take "today" from params; nothing here depends on the clock


def test_messages_write_numbers_the_french_way():
    import pandas as pd

    from workbench.rules.common import fmt_fr

    assert fmt_fr(pd.Series([1234.5, None])).tolist() == ["1\u202f234,50", ""]
    assert fmt_fr(pd.Series([12.0]), 0, sign=True).tolist() == ["+12"]
