"""Anomaly identity and lifecycle: no duplicates, self-closing, reopening, dismissals, settings."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rules.fixture import TODAY, build
from workbench.audit.models import AuditEntry
from workbench.core.errors import NotFound, ValidationError
from workbench.core.signals import records_changed
from workbench.rules.models import Anomaly, RuleSetting
from workbench.rules.operations import effective_rule, run_rules, update_rule_setting


def _audit_count(session, action: str | None = None) -> int:  # type: ignore[no-untyped-def]
    stmt = sa.select(sa.func.count()).select_from(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return session.scalar(stmt)


def _anomaly(session, code: str, record_id: int) -> Anomaly:  # type: ignore[no-untyped-def]
    return session.scalar(
        sa.select(Anomaly).where(Anomaly.rule_code == code, Anomaly.record_id == record_id)
    )


def test_running_twice_changes_nothing(session, make) -> None:  # type: ignore[no-untyped-def]
    build(session, make)
    first = run_rules(session, today=TODAY)
    assert first.total("opened") > 50
    anomalies = session.execute(
        sa.select(Anomaly.id, Anomaly.status, Anomaly.version, Anomaly.message).order_by(Anomaly.id)
    ).all()
    journal = _audit_count(session)
    second = run_rules(session, today=TODAY)
    assert (second.total("opened"), second.total("closed"), second.total("reopened")) == (0, 0, 0)
    assert first.sites_checked and second.sites_checked == 0  # no lycée changed
    assert second.total("unchanged") == first.total("failing")
    # evaluated again whole, everything still fails, unchanged
    third = run_rules(session, today=TODAY, full=True)
    assert (third.total("opened"), third.total("closed"), third.total("reopened")) == (0, 0, 0)
    assert third.sites_checked == first.sites_checked
    assert third.total("unchanged") == first.total("failing")
    assert (
        session.execute(
            sa.select(Anomaly.id, Anomaly.status, Anomaly.version, Anomaly.message).order_by(
                Anomaly.id
            )
        ).all()
        == anomalies
    )
    assert _audit_count(session) == journal, (
        "a run that changes nothing writes nothing to the journal"
    )


def test_a_run_that_opens_anomalies_is_journaled_once(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    make.purchase_line(site, label="X", amount_ht=0.0)
    before = _audit_count(session, "rules.run")
    run_rules(session, record_kind="purchase_line")
    assert _audit_count(session, "rules.run") == before + 1


def test_fixing_a_record_closes_its_anomaly_without_a_full_run(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    broken = make.purchase_line(site, label="YAOURT", amount_ht=10.0)
    other = make.purchase_line(site, label="COMPOTE", amount_ht=11.0)
    run_rules(session, today=TODAY)
    assert _anomaly(session, "ARTICLE_UNMAPPED", broken.id).status == "open"
    closed_before = _audit_count(session, "anomaly.closed_auto")

    broken.nomenclature_code = make.nomenclature_item().code
    session.flush()
    records_changed.send(session, record_kind="purchase_line", record_ids=[broken.id])

    fixed = _anomaly(session, "ARTICLE_UNMAPPED", broken.id)
    assert fixed.status == "resolved"
    assert fixed.closed_at is not None
    assert _anomaly(session, "ARTICLE_UNMAPPED", other.id).status == "open", (
        "only the changed record is re-checked"
    )
    assert _audit_count(session, "anomaly.closed_auto") == closed_before + 1


def test_an_anomaly_breaking_again_is_reopened_not_duplicated(session, make) -> None:  # type: ignore[no-untyped-def]
    supplier = make.supplier(siret="21750001630066", company_category="PME")
    run_rules(session, record_kind="supplier")
    anomaly = _anomaly(session, "SIRET_INVALID", supplier.id)
    supplier.siret = "55204599900869"
    session.flush()
    records_changed.send(session, record_kind="supplier", record_ids=[supplier.id])
    assert _anomaly(session, "SIRET_INVALID", supplier.id).status == "resolved"
    supplier.siret = "21750001630066"
    session.flush()
    records_changed.send(session, record_kind="supplier", record_ids=[supplier.id])
    again = session.scalars(sa.select(Anomaly).where(Anomaly.rule_code == "SIRET_INVALID")).all()
    assert [(a.id, a.status, a.closed_at) for a in again] == [(anomaly.id, "open", None)]
    assert _audit_count(session, "anomaly.reopened") >= 1


def test_a_dismissed_anomaly_stays_dismissed(session, make) -> None:  # type: ignore[no-untyped-def]
    supplier = make.supplier(siret=None, company_category="PME")
    run_rules(session, record_kind="supplier")
    anomaly = _anomaly(session, "SIRET_MISSING", supplier.id)
    anomaly.status = "dismissed"
    anomaly.dismiss_reason = "data_unavailable"
    session.flush()
    result = run_rules(session, record_kind="supplier")
    assert _anomaly(session, "SIRET_MISSING", supplier.id).status == "dismissed"
    assert result.counts["SIRET_MISSING"].reopened == 0
    supplier.siret = "55204599900869"
    session.flush()
    run_rules(session, record_kind="supplier")
    assert _anomaly(session, "SIRET_MISSING", supplier.id).status == "dismissed"


def test_claimed_and_proposed_anomalies_keep_their_status_while_failing(session, make) -> None:  # type: ignore[no-untyped-def]
    supplier = make.supplier(siret="12345678900023", company_category="PME")
    run_rules(session, record_kind="supplier")
    anomaly = _anomaly(session, "SIRET_INVALID", supplier.id)
    anomaly.status = "proposed"
    session.flush()
    run_rules(session, record_kind="supplier")
    assert _anomaly(session, "SIRET_INVALID", supplier.id).status == "proposed"
    supplier.siret = "23350001600040"
    session.flush()
    run_rules(session, record_kind="supplier")
    assert _anomaly(session, "SIRET_INVALID", supplier.id).status == "resolved"


def test_a_correction_of_a_matrix_entry_rechecks_the_lines_that_use_it(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    supplier = make.supplier(company_category="PME")
    entry = make.matrix_entry(supplier, reference="R1", labels="", origin="FRANCE")
    line = make.purchase_line(
        site, supplier=supplier, reference="R1", labels="BIO", nomenclature_code="X"
    )
    run_rules(session, record_kind="purchase_line")
    assert _anomaly(session, "MATRIX_LABEL_MISMATCH", line.id).status == "open"
    entry.labels = "BIO"
    session.flush()
    records_changed.send(session, record_kind="matrix_entry", record_ids=[entry.id])
    assert _anomaly(session, "MATRIX_LABEL_MISMATCH", line.id).status == "resolved"


def test_disabling_a_rule_resolves_its_anomalies_and_enabling_reopens_them(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    line = make.purchase_line(site, label="PAIN", amount_ht=-3.0)
    run_rules(session, record_kind="purchase_line")
    before = _audit_count(session, "rule.settings_changed")
    update_rule_setting(session, "PURCHASE_AMOUNT_INVALID", enabled=False)
    assert _anomaly(session, "PURCHASE_AMOUNT_INVALID", line.id).status == "resolved"
    assert _audit_count(session, "rule.settings_changed") == before + 1
    entry = session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "anomaly.closed_auto")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.after["reason"] == "rule_disabled"
    run_rules(session, record_kind="purchase_line")  # a disabled rule opens nothing
    assert _anomaly(session, "PURCHASE_AMOUNT_INVALID", line.id).status == "resolved"
    update_rule_setting(session, "PURCHASE_AMOUNT_INVALID", enabled=True)
    assert _anomaly(session, "PURCHASE_AMOUNT_INVALID", line.id).status == "open"


def test_settings_are_validated_by_param_type_and_audited_with_before_and_after(
    session, make
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        update_rule_setting(session, "MATRIX_PRICE_GAP", params={"tolerance": "beaucoup"})
    with pytest.raises(ValidationError):
        update_rule_setting(session, "MATRIX_PRICE_GAP", params={"tolerance": "-1"})
    with pytest.raises(ValidationError):
        update_rule_setting(session, "MATRIX_PRICE_GAP", params={"nope": "1"})
    with pytest.raises(ValidationError):
        update_rule_setting(session, "MATRIX_PRICE_GAP", approval_policy="sometimes")
    with pytest.raises(NotFound):
        update_rule_setting(session, "NO_SUCH_RULE", enabled=False)
    update_rule_setting(
        session, "MATRIX_PRICE_GAP", params={"tolerance": "0,2"}, approval_policy="immediate"
    )
    view = effective_rule(session, "MATRIX_PRICE_GAP")
    assert view.params["tolerance"] == 0.2
    assert view.approval_policy == "immediate"
    entry = session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "rule.settings_changed")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.before["params"]["tolerance"] == 0.5
    assert entry.after["params"]["tolerance"] == 0.2
    assert (entry.before["approval_policy"], entry.after["approval_policy"]) == (
        "approval",
        "immediate",
    )
    assert session.get(RuleSetting, "MATRIX_PRICE_GAP").params == {"tolerance": 0.2}


def test_a_tighter_threshold_changes_what_fails(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    supplier = make.supplier(company_category="PME")
    make.matrix_entry(supplier, reference="R1", unit_price=10.0)
    line = make.purchase_line(
        site, supplier=supplier, reference="R1", quantity=1.0, amount_ht=13.0, nomenclature_code="X"
    )
    run_rules(session, rule_codes=["MATRIX_PRICE_GAP"])
    assert _anomaly(session, "MATRIX_PRICE_GAP", line.id) is None  # +30 % is within ±50 %
    result = update_rule_setting(session, "MATRIX_PRICE_GAP", params={"tolerance": "0.25"})
    assert result is not None and result.counts["MATRIX_PRICE_GAP"].opened == 1


def test_unknown_rule_codes_are_refused(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        run_rules(session, rule_codes=["NOPE"])
