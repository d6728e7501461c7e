"""Is every rule documented, and do the commands and the admin page work?"""

from __future__ import annotations

import csv
import json
import re

import sqlalchemy as sa

from tests.rules.fixture import build
from workbench import PROJECT_DIR
from workbench.audit.models import AuditEntry
from workbench.rules.docs import rules_markdown
from workbench.rules.models import Anomaly, RuleSetting
from workbench.rules.operations import run_rules
from workbench.rules.registry import QUEUES, all_rules

DOCS = PROJECT_DIR / "docs" / "rules.md"


def test_every_rule_and_param_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code, rule in all_rules().items():
        assert f"### `{code}`" in text, (
            f"{code} missing from docs/rules.md (run `workbench rules docs`)"
        )
        for p in rule.params:
            assert f"`{p.name}`" in text.split(f"### `{code}`")[1].split("### ")[0], (
                f"{code}.{p.name} undocumented"
            )


def test_docs_are_up_to_date_with_the_registry() -> None:
    assert DOCS.read_text(encoding="utf-8") == rules_markdown(), (
        "regenerate with `workbench rules docs`"
    )


def test_every_rule_is_complete() -> None:
    for code, rule in all_rules().items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{2,39}", code)
        assert rule.title and len(rule.explanation) > 80, code
        assert rule.severity in ("blocking", "warning", "info"), code
        assert rule.queue in QUEUES and QUEUES[rule.queue]["role"] == rule.owner_role, code
        assert rule.approval_policy in ("immediate", "approval"), code
        assert rule.record_kind in ("purchase_line", "supplier", "contract", "matrix_entry"), code


def test_rules_run_command_prints_counts_and_time(app, session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    make.purchase_line(site, label="PAIN", amount_ht=0.0)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rules", "run", "--rule", "PURCHASE_AMOUNT_INVALID", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rules"]["PURCHASE_AMOUNT_INVALID"]["opened"] == 1
    assert data["duration_seconds"] >= 0
    result = runner.invoke(args=["rules", "run", "--rule", "PURCHASE_AMOUNT_INVALID"])
    assert result.exit_code == 0
    assert "PURCHASE_AMOUNT_INVALID" in result.output and "Durée" in result.output
    result = runner.invoke(args=["rules", "run", "--rule", "NOPE"])
    assert result.exit_code != 0


def test_anomalies_export_writes_keys_and_labels(app, session, make, tmp_path) -> None:  # type: ignore[no-untyped-def]
    b = build(session, make)
    run_rules(session)
    out = tmp_path / "anomalies.csv"
    result = app.test_cli_runner().invoke(args=["anomalies", "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "rule",
        "severity",
        "status",
        "record_kind",
        "record_key",
        "record_label",
        "field",
        "value",
        "message",
    ]
    assert len(rows) == session.scalar(sa.select(sa.func.count()).select_from(Anomaly))
    by_rule = {(r["rule"], r["record_key"]): r for r in rows}
    contract = b.contracts["nc"]
    assert (
        by_rule[("NC_PLACEHOLDER", f"{contract.buyer_id}/{contract.contract_id}")]["record_label"]
        == contract.object
    )
    assert by_rule[("SIRET_INVALID", "21750001630066")]["record_label"] == "GAMMA"
    assert by_rule[("SIRET_MISSING", f"#{b.suppliers['missing'].id}")]["record_label"] == "BETA"
    line = b.lines["zero"]
    assert by_rule[("PURCHASE_AMOUNT_INVALID", line.line_key)]["record_label"] == "PAIN"


def test_admin_sees_the_catalogue_with_open_counts_and_changes_a_setting(
    client, login_as, session, make
) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    make.purchase_line(site, label="PAIN", amount_ht=0.0)
    run_rules(session)
    login_as("admin")
    page = client.get("/regles/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-open="PURCHASE_AMOUNT_INVALID">1<' in html
    response = client.post_form(
        "/regles/PURCHASE_AMOUNT_INVALID",
        {
            "PURCHASE_AMOUNT_INVALID-approval_policy": "approval",
            "PURCHASE_AMOUNT_INVALID-param_max_amount": "40000",
        },
    )  # the "enabled" checkbox left unticked: the rule is disabled
    assert response.status_code == 302
    setting = session.get(RuleSetting, "PURCHASE_AMOUNT_INVALID")
    assert setting.is_enabled is False and setting.params == {"max_amount": 40000.0}
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "rule.settings_changed")
        )
        == 1
    )
    html = client.get("/regles/").get_data(as_text=True)
    assert 'data-open="PURCHASE_AMOUNT_INVALID">0<' in html


def test_legal_reads_the_catalogue_but_cannot_change_it(client, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("legal")
    html = client.get("/regles/").get_data(as_text=True)
    assert "ARTICLE_UNMAPPED" in html and "Enregistrer" not in html
    assert client.post_form("/regles/ARTICLE_UNMAPPED", {}).status_code == 403


def test_other_roles_cannot_open_the_catalogue(client, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("canteen")
    assert client.get("/regles/").status_code == 403
