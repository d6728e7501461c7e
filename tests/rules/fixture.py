"""A small dataset built to trigger every rule at least once, next to rows that must not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from stdnum import luhn

from workbench.records.models import (
    ContractHolder,
    ContractModification,
    ContractSubcontractingModification,
)
from workbench.reference.models import Supplier

TODAY = dt.date(2026, 6, 1)


def valid_siret(siren_body: str, nic_body: str = "0001") -> str:
    """A Luhn-valid SIRET from 8 SIREN digits and 4 NIC digits."""
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + nic_body
    return body + luhn.calc_check_digit(body)


UNKNOWN_HOLDER = valid_siret("41234567")
ZETA = valid_siret("21974022", "0003")  # same SIREN as 21974022200019, another establishment


@dataclass
class Built:
    suppliers: dict[str, Supplier] = field(default_factory=dict)
    lines: dict[str, Any] = field(default_factory=dict)
    contracts: dict[str, Any] = field(default_factory=dict)


#: Expected failing records per rule on :func:`build` (every registered rule appears).
EXPECTED = {
    "SIRET_MISSING": 1,
    "SIRET_INVALID": 2,
    "COMPANY_CATEGORY_MISSING": 1,
    "SUPPLIER_DUPLICATE": 4,
    "SUPPLIER_UNKNOWN": 2,
    "HOLDER_UNKNOWN": 1,
    "ID_TYPE_MISMATCH": 2,
    "ARTICLE_UNMAPPED": 3,
    "NOMENCLATURE_CODE_INVALID": 2,
    "MATRIX_LABEL_MISMATCH": 1,
    "MATRIX_ORIGIN_MISMATCH": 1,
    "MATRIX_ARTICLE_ABSENT": 1,
    "MATRIX_PRICE_GAP": 1,
    "LABEL_FAMILY_MISMATCH": 2,
    "FAUX_AMI_ORIGIN": 1,
    "PURCHASE_DUPLICATE": 1,
    "PURCHASE_AMOUNT_INVALID": 2,
    "DECP_SCHEMA_ERROR": 2,
    "CONTRACT_FIELD_MISSING": 2,
    "CONTRACT_VALUE_UNREADABLE": 2,
    "CONTRACT_HOLDER_IS_BUYER": 2,
    "CONTRACT_MODIFICATION_AMOUNT": 3,
    "CONTRACT_HOLDERS_REPLACED": 1,
    "CONTRACT_SIRET_INVALID": 3,
    "CPV_UNKNOWN": 2,
    "CONTRACT_AMOUNT_OUT_OF_RANGE": 2,
    "CONTRACT_AMOUNT_SUSPICIOUS": 3,
    "CONTRACT_AMOUNT_OUTLIER": 1,
    "CONTRACT_DURATION_SUSPICIOUS": 4,
    "CONTRACT_DATES_ORDER": 5,
    "CONTRACT_DATE_FUTURE": 3,
    "CONTRACT_LATE_PUBLICATION": 1,
    "CONTRACT_OFFERS_INVALID": 1,
    "CONTRACT_ADVANCE_INCONSISTENT": 2,
    "CONTRACT_CONSIDERATIONS_CONTRADICTORY": 1,
    "CONTRACT_BROKEN_CHARACTERS": 2,
    "NC_PLACEHOLDER": 2,
}


def build(session: Any, make: Any) -> Built:
    b = Built()
    s = b.suppliers
    # -- suppliers ---------------------------------------------------------------------------
    s["ok"] = make.supplier(siret="55204599900869", name="ALPHA FOODS", company_category="PME")
    s["poste_hq"] = make.supplier(siret="35600000000048", name="LA POSTE SA", company_category="GE")
    s["poste"] = make.supplier(siret="35600000049837", name="La Poste", company_category="GE")
    s["missing"] = make.supplier(siret=None, name="BETA", company_category="PME")
    s["invalid"] = make.supplier(siret="21750001630066", name="GAMMA", company_category="PME")
    s["format"] = make.supplier(siret="1234", name="DELTA", company_category="PME")
    s["nocat"] = make.supplier(siret="21974022200019", name="EPSILON", company_category=None)
    s["zeta"] = make.supplier(siret=ZETA, name="ZETA", company_category="PME")
    s["dup1"] = make.supplier(
        siret="22130001500247", name="Dupont Frères SAS", company_category="PME"
    )
    s["dup2"] = make.supplier(siret="23350001600040", name="DUPONT FRERES", company_category="PME")

    # -- nomenclature and matrix ---------------------------------------------------------------
    dairy = make.nomenclature_item(code="N-DAIRY", family="PRODUITS_LAITIERS")
    drink = make.nomenclature_item(code="N-DRINK", label="Jus", family="BOISSONS")
    fish = make.nomenclature_item(code="N-FISH", label="Cabillaud", family="PRODUITS_DE_LA_MER")
    make.nomenclature_item(code="N-OLD", label="Ancien", family="AUTRES", is_active=False)
    make.matrix_entry(
        s["ok"], reference="REF-1", labels="BIO", origin="FRANCE", unit_price=2.0, unit="KG"
    )
    make.matrix_entry(
        s["ok"], reference="REF-2", label="CREME", labels="", origin="UE", unit_price=5.0, unit="KG"
    )

    # -- purchase lines ---------------------------------------------------------------------------
    site = make.site()
    L = b.lines

    def line(name: str, **kw: Any) -> None:
        kw.setdefault("supplier", s["ok"])
        kw.setdefault("nomenclature_code", dairy.code)
        kw.setdefault("quantity", 10.0)
        kw.setdefault("unit", "KG")
        L[name] = make.purchase_line(site, **kw)

    line("clean", reference="REF-1", labels="BIO", origin="FRANCE", amount_ht=20.0)
    line(
        "unmapped_ref",
        reference="REF-1",
        labels="BIO",
        origin="FRANCE",
        amount_ht=21.0,
        nomenclature_code=None,
    )
    line(
        "unmapped_lbl",
        label="CAROTTES RAPEES 5KG",
        supplier=None,
        nomenclature_code=None,
        amount_ht=30.0,
    )
    line(
        "code_unknown",
        reference="REF-2",
        origin="UE",
        quantity=1.0,
        amount_ht=5.0,
        nomenclature_code="NOPE",
    )
    line(
        "code_inactive",
        reference="REF-2",
        origin="UE",
        quantity=2.0,
        amount_ht=10.0,
        nomenclature_code="N-OLD",
    )
    line(
        "label_mismatch", reference="REF-2", labels="BIO", origin="UE", quantity=3.0, amount_ht=15.0
    )
    line("origin_mismatch", reference="REF-1", labels="BIO", origin="UE", amount_ht=20.5)
    line("absent", reference="REF-9", label="BEURRE DOUX", amount_ht=40.0)
    line("price_gap", reference="REF-1", labels="BIO", origin="FRANCE", amount_ht=100.0)
    line(
        "lr_drink",
        label="JUS POMME 1L",
        supplier=s["poste"],
        labels="LABEL_ROUGE",
        nomenclature_code=drink.code,
        amount_ht=12.0,
    )
    line(
        "msc_fish",
        label="FILET CABILLAUD MSC SURG",
        supplier=s["poste"],
        labels="PECHE_DURABLE",
        nomenclature_code=fish.code,
        amount_ht=13.0,
    )
    line(
        "fermier_veg",
        label="SALADE FERMIERE",
        supplier=s["poste"],
        labels="FERMIER",
        family="FRUITS_ET_LEGUMES",
        nomenclature_code=None,
        amount_ht=14.0,
    )
    line(
        "faux_ami",
        label="STEAK HACHE 15% MG VBF 10X1KG",
        supplier=s["poste"],
        labels="LABEL_ROUGE",
        amount_ht=15.0,
    )
    line(
        "lr_token", label="POULET LR VBF", supplier=s["poste"], labels="LABEL_ROUGE", amount_ht=16.0
    )
    line(
        "vbf_matrix",
        reference="REF-1",
        label="YAOURT VBF",
        labels="BIO",
        origin="FRANCE",
        amount_ht=22.0,
    )
    line(
        "dup_a", reference="DUP", label="COMPOTE", supplier=s["poste"], quantity=5.0, amount_ht=50.0
    )
    line(
        "dup_b", reference="DUP", label="COMPOTE", supplier=s["poste"], quantity=5.0, amount_ht=50.0
    )
    line("zero", label="PAIN", supplier=s["poste"], amount_ht=0.0)
    line("huge", label="RIZ", supplier=s["poste"], amount_ht=60000.0)
    line("siret_unknown", label="POMMES", supplier=None, amount_ht=17.0)
    L["siret_unknown"].supplier_siret = "99999999999999"
    session.flush()

    # -- contracts -----------------------------------------------------------------------------
    C = b.contracts

    def contract(name: str, **kw: Any) -> None:
        kw.setdefault("place_code", "35")
        kw.setdefault("place_type", "Code département")
        kw.setdefault("price_form", "Ferme")
        C[name] = make.contract(**kw)

    contract("clean")
    contract(
        "schema",
        schema_errors=[
            {"path": "montant", "message": "x"},
            {"path": "montant", "message": "y"},
            {"path": "id", "message": "z"},
        ],
    )
    contract("no_object", object=None)
    contract("holder_no_id", holders=[("SIRET", "")])
    contract("bad_sirets", buyer_id="21750001630066", holders=[("SIRET", "21750001630066")])
    contract("short_siret", holders=[("SIRET", "123456")])
    contract("siret_as_vat", holders=[("TVA", "55204599900869")])
    contract("vat_ok", holders=[("SIRET", "55204599900869"), ("TVA", "FR40303265045")])
    contract("holder_unknown", holders=[("SIRET", UNKNOWN_HOLDER)])
    contract("cpv_unknown", cpv_code="99999999-9")
    contract("cpv_malformed", cpv_code="1500")
    contract("tiny", amount=0.5)
    contract("giant", amount=4e9)
    contract("small", amount=150.0)
    contract("repeated", amount=999999.0)
    contract("sequence", amount=123456.0)
    contract("zero_months", duration_months=0)
    contract("days", duration_months=365)
    contract("long", duration_months=200)
    contract(
        "concession",
        kind="concession",
        duration_months=300,
        notification_date=None,
        offers_received=None,
        signature_date=dt.date(2025, 1, 10),
        start_date=dt.date(2025, 2, 1),
        publication_date=dt.date(2025, 2, 15),
    )
    contract("published_early", publication_date=dt.date(2025, 2, 1))
    contract("modified_early")
    session.add(
        ContractModification(
            contract_id=C["modified_early"].id, position=1, notification_date=dt.date(2024, 1, 1)
        )
    )
    contract("future", notification_date=dt.date(2026, 7, 1), publication_date=dt.date(2026, 7, 5))
    contract("late", publication_date=dt.date(2025, 6, 1))
    contract("no_offer", offers_received=0)
    contract("rate_no_advance", advance_rate=0.3, has_advance=False)
    contract("rate_advance", advance_rate=0.3, has_advance=True)
    contract(
        "contradictory", social_considerations=["Pas de considération sociale", "Clause sociale"]
    )
    contract("mojibake", object="Rénovation du lycÃ©e")
    contract("fffd", buyer_name="Conseil r\ufffdgional")
    contract("nc", procedure="NC")
    # -- real-world DECP shapes: value errors, 1.5 records, modifications, versions ----------
    contract("holder_is_buyer", holders=[("SIRET", "23350001600040")])
    contract("advance_zero", has_advance=True, advance_rate=0.0)
    contract(
        "value_errors",
        duration_months=None,
        amount=None,
        value_errors=[
            {
                "field": "dureeMois",
                "raw": "NC",
                "message": "x",
                "file": "f.json",
                "kind": "placeholder",
            },
            {"field": "montant", "raw": "1e+17", "message": "y", "file": "f.json", "kind": "range"},
            {
                "field": "titulaires[1]",
                "raw": '{"titulaire": "id"}',
                "message": "z",
                "file": "f.json",
                "kind": "holder",
            },
        ],
    )
    contract(
        "v15",
        source_format="decp_1.5",
        offers_received=None,
        social_considerations=None,
        environmental_considerations=None,
    )
    contract("modified", amount=100_000.0)
    session.add_all(
        [
            ContractModification(  # notified after n° 2: out of order, and an absurd 1 €
                contract_id=C["modified"].id,
                position=0,
                notification_date=dt.date(2025, 5, 1),
                publication_date=dt.date(2025, 5, 2),
                amount=1.0,
                holders=[{"position": 0, "id_type": "SIRET", "identifier": "868768687576575"}],
            ),
            ContractModification(  # +100 % over the initial amount
                contract_id=C["modified"].id,
                position=1,
                notification_date=dt.date(2025, 4, 1),
                publication_date=dt.date(2025, 4, 2),
                amount=200_000.0,
                duration_months=365,  # days typed as months
            ),
            ContractModification(  # in the future
                contract_id=C["modified"].id, position=2, notification_date=dt.date(2026, 8, 1)
            ),
        ]
    )
    contract(
        "republished",
        publications=[
            {"publication_date": "2025-03-01", "holders": ["21974022200019"], "file": "a.json"}
        ],
    )
    contract(
        "concession_started",
        kind="concession",
        notification_date=None,
        offers_received=None,
        signature_date=dt.date(2025, 2, 10),
        start_date=dt.date(2025, 2, 1),
    )
    contract("subcontracted")
    session.add(
        ContractHolder(
            contract_id=C["subcontracted"].id,
            role="subcontractor",
            position=0,
            id_type="SIRET",
            identifier="55204599900869",
            notification_date=dt.date(2024, 12, 1),
        )
    )
    session.add(
        ContractSubcontractingModification(
            contract_id=C["subcontracted"].id, position=0, amount=0.0
        )
    )
    for i in range(24):  # works contracts around 100 k€, and one typed in with four zeros too many
        contract(f"works{i}", cpv_code="45000000-7", amount=80_000.0 + 2_000.0 * i)
    contract("works_outlier", cpv_code="45000000-7", amount=1_000_000_000.0)
    session.flush()
    return b
