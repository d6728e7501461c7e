"""The row builders the demo shares with the tests (factories.py)."""

from __future__ import annotations

from stdnum.fr import siret as stdnum_siret

from workbench.demo.factories import article_label, demo_siret


def test_demo_siret_is_valid_or_fails_luhn_on_demand() -> None:
    assert stdnum_siret.is_valid(demo_siret(1))
    assert not stdnum_siret.is_valid(demo_siret(1, valid=False))
    assert demo_siret(1) == demo_siret(1) != demo_siret(2)


def test_article_label_reads_like_a_supplier_label() -> None:
    label = article_label("Boeuf, steak haché 15% MG, cru", origin="VBF", pack="10X1KG")
    assert label == "STEAK HACHE 15% MG BF VBF 10X1KG"


def test_make_decp_contract_keeps_the_record_and_its_children(make) -> None:
    contract = make.decp_contract(
        holders=["55204599900869", "21974022200019"],
        amount=80_000.0,
        modifications=[{"montant": 90_000.0, "dateNotificationModification": "2025-09-01"}],
    )
    assert contract.raw["montant"] == contract.amount == 80_000.0
    assert [h.identifier for h in contract.holders] == ["55204599900869", "21974022200019"]
    assert contract.raw["typeGroupementOperateurs"] == "Conjoint"
    assert contract.modifications[0].amount == 90_000.0
    assert contract.modifications[0].position == 1


def test_make_decp_contract_can_inject_a_real_world_error(make) -> None:
    contract = make.decp_contract(error="DURATION_DAYS")
    assert contract.duration_months == contract.raw["dureeMois"] == 365
    concession = make.decp_contract(kind="concession", value=10.3, direction_code=None)
    assert concession.kind == "concession" and concession.amount == 10.3
