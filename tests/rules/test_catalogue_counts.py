"""Does every rule fire exactly where it should on a fixture built to trigger each one?"""

from __future__ import annotations

import sqlalchemy as sa

from tests.rules.fixture import EXPECTED, TODAY, build
from workbench.rules.models import Anomaly
from workbench.rules.operations import run_rules
from workbench.rules.registry import all_rules


def _failing(session, code: str) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return set(
        session.execute(
            sa.select(Anomaly.record_id, Anomaly.field).where(
                Anomaly.rule_code == code, Anomaly.status == "open"
            )
        ).all()
    )


def test_fixture_pins_the_count_of_every_rule(session, make) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    result = run_rules(session, today=TODAY)
    computed = {code for code, rule in all_rules().items() if not rule.is_manual}
    assert set(EXPECTED) == computed, "every rule the engine runs has a pinned count"
    got = {code: c.failing for code, c in result.counts.items()}
    assert got == EXPECTED
    stored = dict(
        session.execute(
            sa.select(Anomaly.rule_code, sa.func.count())
            .where(Anomaly.status == "open")
            .group_by(Anomaly.rule_code)
        ).all()
    )
    assert stored == EXPECTED


def test_rules_fire_on_the_intended_records_only(session, make) -> None:  # type: ignore[no-untyped-def]
    b = build(session, make)
    run_rules(session, today=TODAY)
    L, C, S = b.lines, b.contracts, b.suppliers
    assert _failing(session, "SIRET_INVALID") == {
        (S["invalid"].id, "siret"),
        (S["format"].id, "siret"),
    }
    assert _failing(session, "SUPPLIER_DUPLICATE") == {
        (S["nocat"].id, "name"),
        (S["zeta"].id, "name"),
        (S["dup1"].id, "name"),
        (S["dup2"].id, "name"),
    }
    assert {r for r, _ in _failing(session, "ARTICLE_UNMAPPED")} == {
        L["unmapped_ref"].id,
        L["unmapped_lbl"].id,
        L["fermier_veg"].id,
    }
    assert _failing(session, "FAUX_AMI_ORIGIN") == {(L["faux_ami"].id, "labels")}
    assert _failing(session, "LABEL_FAMILY_MISMATCH") == {
        (L["lr_drink"].id, "labels"),
        (L["fermier_veg"].id, "labels"),
    }
    assert _failing(session, "PURCHASE_DUPLICATE") == {(L["dup_b"].id, "")}
    assert _failing(session, "MATRIX_PRICE_GAP") == {(L["price_gap"].id, "amount_ht")}
    assert _failing(session, "DECP_SCHEMA_ERROR") == {
        (C["schema"].id, "montant"),
        (C["schema"].id, "id"),
    }
    assert _failing(session, "CONTRACT_SIRET_INVALID") == {
        (C["bad_sirets"].id, "buyer_id"),
        (C["bad_sirets"].id, "titulaires[0].id"),
        (C["modified"].id, "modifications[0].titulaires[0].id"),
    }
    assert _failing(session, "ID_TYPE_MISMATCH") == {
        (C["short_siret"].id, "titulaires[0].id"),
        (C["siret_as_vat"].id, "titulaires[0].id"),
    }
    assert _failing(session, "CONTRACT_DATE_FUTURE") == {
        (C["future"].id, "notification_date"),
        (C["future"].id, "publication_date"),
        (C["modified"].id, "modifications[2].dateNotificationModification"),
    }
    assert _failing(session, "CONTRACT_DATES_ORDER") == {
        (C["published_early"].id, "publication_date"),
        (C["modified_early"].id, "modifications[1].dateNotificationModification"),
        (C["modified"].id, "modifications[1].dateNotificationModification"),
        (C["concession_started"].id, "start_date"),
        (C["subcontracted"].id, "actesSousTraitance[0].dateNotification"),
    }
    assert _failing(session, "CONTRACT_MODIFICATION_AMOUNT") == {
        (C["modified"].id, "modifications[0].montant"),
        (C["modified"].id, "modifications[1].montant"),
        (C["subcontracted"].id, "modificationsActesSousTraitance[0].montant"),
    }
    assert _failing(session, "CONTRACT_VALUE_UNREADABLE") == {
        (C["value_errors"].id, "montant"),
        (C["value_errors"].id, "titulaires[1]"),
    }
    assert _failing(session, "NC_PLACEHOLDER") == {
        (C["nc"].id, "procedure"),
        (C["value_errors"].id, "dureeMois"),
    }
    assert _failing(session, "CONTRACT_HOLDER_IS_BUYER") == {
        (C["holder_is_buyer"].id, "titulaires[0].id"),
        (C["bad_sirets"].id, "titulaires[0].id"),
    }
    assert _failing(session, "CONTRACT_HOLDERS_REPLACED") == {(C["republished"].id, "titulaires")}
    assert _failing(session, "CONTRACT_ADVANCE_INCONSISTENT") == {
        (C["rate_no_advance"].id, "advance_rate"),
        (C["advance_zero"].id, "advance_rate"),
    }
    assert C["modified"].current_amount == 1.0  # the last modification in date order
    assert C["modified"].current_duration_months == 365
    assert _failing(session, "CONTRACT_AMOUNT_OUTLIER") == {(C["works_outlier"].id, "amount")}
    outlier = session.scalar(
        sa.select(Anomaly).where(Anomaly.rule_code == "CONTRACT_AMOUNT_OUTLIER")
    )
    assert outlier.severity == "blocking"  # > 6 deviations: aberrant, not only suspect
    assert _failing(session, "CONTRACT_DURATION_SUSPICIOUS") == {
        (C["zero_months"].id, "duration_months"),
        (C["days"].id, "duration_months"),
        (C["long"].id, "duration_months"),
        (C["modified"].id, "modifications[1].dureeMois"),
    }
    nothing = set()
    for code in EXPECTED:
        nothing |= {
            r
            for r, _ in _failing(session, code)
            if code.startswith(("CONTRACT", "CPV", "DECP", "NC", "HOLDER", "ID_"))
        }
    assert C["clean"].id not in nothing
    assert C["concession"].id not in nothing
    assert C["vat_ok"].id not in nothing
    assert C["rate_advance"].id not in nothing
    line_rules = [c for c, r in all_rules().items() if r.record_kind == "purchase_line"]
    flagged_lines = set().union(*({r for r, _ in _failing(session, c)} for c in line_rules))
    for name in ("clean", "msc_fish", "lr_token", "vbf_matrix", "dup_a"):
        assert L[name].id not in flagged_lines, name
    supplier_rules = [c for c, r in all_rules().items() if r.record_kind == "supplier"]
    flagged_suppliers = set().union(*({r for r, _ in _failing(session, c)} for c in supplier_rules))
    for name in ("ok", "poste", "poste_hq"):
        assert S[name].id not in flagged_suppliers, name


def test_anomalies_carry_the_scope_of_their_record(session, make) -> None:  # type: ignore[no-untyped-def]
    b = build(session, make)
    run_rules(session, today=TODAY)
    unmapped = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "ARTICLE_UNMAPPED", Anomaly.record_id == b.lines["unmapped_ref"].id
        )
    )
    assert unmapped.owner_role == "canteen"
    assert unmapped.site_id == b.lines["unmapped_ref"].site_id
    assert unmapped.group_key == "ref:55204599900869|REF-1"
    by_label = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "ARTICLE_UNMAPPED", Anomaly.record_id == b.lines["unmapped_lbl"].id
        )
    )
    assert by_label.group_key == "lbl:CAROTTES RAPEES 5KG"
    contract = session.scalar(
        sa.select(Anomaly).where(Anomaly.rule_code == "CONTRACT_OFFERS_INVALID")
    )
    assert (contract.owner_role, contract.direction_code, contract.site_id) == (
        "direction",
        "DLYC",
        None,
    )
    supplier = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "SIRET_INVALID", Anomaly.record_id == b.suppliers["invalid"].id
        )
    )
    # the supplier has no direction of its own but holds a contract of DLYC
    assert (supplier.owner_role, supplier.direction_code, supplier.supplier_id) == (
        "direction",
        "DLYC",
        b.suppliers["invalid"].id,
    )
