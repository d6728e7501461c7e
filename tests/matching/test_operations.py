"""map_group / reject_suggestion / the cached matcher, without HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from workbench.audit.models import AuditEntry
from workbench.audit.queries import record_history
from workbench.core.errors import PermissionDenied, ValidationError
from workbench.matching import operations, queries
from workbench.matching.models import MatchAlias
from workbench.records.models import PurchaseLine
from workbench.review.models import Correction
from workbench.rules.models import Anomaly, RuleSetting
from workbench.rules.operations import run_rules

SIRET = "55204599900869"


@pytest.fixture
def setup(make):  # type: ignore[no-untyped-def]
    make.nomenclature_item(code="T-YAOURT", label="Yaourt nature")
    make.nomenclature_item(code="T-LAIT", label="Lait demi-écrémé")
    site = make.site()
    supplier = make.supplier(siret=SIRET)
    lines = [
        make.purchase_line(site, label=f"YAOURT NAT {size}G", supplier=supplier, reference="R1")
        for size in (125, 125, 500, 125, 125)
    ]
    user = make.user(role="canteen", sites=[site])
    return {"site": site, "supplier": supplier, "lines": lines, "user": user}


def _count(session, model, *where):  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_map_group_is_one_bulk_update_not_a_loop_over_lines(session, setup):
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", spy)
    try:
        result = operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", spy)
    assert result.count == 5
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE PURCHASE_LINES")]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO CORRECTIONS")]
    assert len(updates) == 1 and len(inserts) == 1
    session.expire_all()
    lines = session.scalars(sa.select(PurchaseLine).where(PurchaseLine.site_id == setup["site"].id))
    assert {(line.nomenclature_code, line.version) for line in lines} == {("T-YAOURT", 2)}
    assert all(line.updated_at is not None for line in setup["lines"])


def test_every_mapped_line_has_its_correction_in_its_history(session, setup):
    line = setup["lines"][2]
    operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    history = record_history(session, "purchase_line", line.id)
    assert [e.action for e in history] == ["correction.applied"]
    correction = session.get(Correction, history[0].after["correction_id"])
    assert (correction.record_id, correction.old_value, correction.new_value) == (
        line.id,
        None,
        "T-YAOURT",
    )
    assert correction.base_version == 1 and correction.applied_at is not None
    group_entry = session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "match.group_mapped")
    )
    assert group_entry.after["lines"] == 5 and group_entry.target_id == f"ref:{SIRET}|R1"
    learned = session.scalars(
        sa.select(AuditEntry.target_label).where(AuditEntry.action == "match.alias_learned")
    ).all()
    assert sorted(learned) == ["label:yaourt nature", f"reference:{SIRET}|R1"]


def test_mapping_closes_the_article_unmapped_anomalies(session, setup):
    run_rules(session, rule_codes=["ARTICLE_UNMAPPED"])
    ids = [line.id for line in setup["lines"]]
    where = (Anomaly.rule_code == "ARTICLE_UNMAPPED", Anomaly.record_id.in_(ids))
    assert _count(session, Anomaly, *where, Anomaly.status == "open") == 5
    operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    session.expire_all()
    assert _count(session, Anomaly, *where, Anomaly.status == "open") == 0
    linked = session.scalars(sa.select(Correction.anomaly_id)).all()
    assert len(linked) == 5 and None not in linked


def test_remapping_a_key_replaces_the_alias_with_a_new_row(session, make, setup):
    operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    first = session.scalar(sa.select(MatchAlias).where(MatchAlias.kind == "reference"))
    make.purchase_line(
        setup["site"], label="YAOURT NAT", supplier=setup["supplier"], reference="R1"
    )
    operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-LAIT")
    aliases = session.scalars(sa.select(MatchAlias).where(MatchAlias.kind == "reference")).all()
    assert [(a.code, a.id > first.id) for a in aliases] == [("T-LAIT", True)]


def test_nothing_left_to_map_is_a_clear_error(session, setup):
    operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    with pytest.raises(ValidationError, match="Aucune ligne à rattacher"):
        operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    with pytest.raises(ValidationError, match="Groupe d'articles invalide"):
        operations.map_group(session, setup["user"], "n'importe quoi", "T-YAOURT")


def test_only_canteen_and_admin_map_and_only_admin_maps_all_sites(session, make, setup):
    legal = make.user(role="legal")
    with pytest.raises(PermissionDenied):
        operations.map_group(session, legal, f"ref:{SIRET}|R1", "T-YAOURT")
    with pytest.raises(PermissionDenied):
        operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT", all_sites=True)
    assert _count(session, PurchaseLine, PurchaseLine.nomenclature_code.is_not(None)) == 0


def test_approval_policy_turns_the_mapping_into_proposals(session, setup):
    session.add(RuleSetting(rule_code="ARTICLE_UNMAPPED", approval_policy="approval"))
    session.flush()
    result = operations.map_group(session, setup["user"], f"ref:{SIRET}|R1", "T-YAOURT")
    assert result.is_pending and result.count == 5
    assert _count(session, Correction, Correction.status == "pending") == 5
    assert _count(session, PurchaseLine, PurchaseLine.nomenclature_code.is_not(None)) == 0
    assert _count(session, MatchAlias) == 0  # nothing learned before approval


def test_reject_suggestion_is_remembered_once_and_journaled(session, setup):
    user = setup["user"]
    assert operations.reject_suggestion(session, user, "yaourt nature", "T-LAIT") is True
    assert operations.reject_suggestion(session, user, "yaourt nature", "T-LAIT") is False
    assert _count(session, AuditEntry, AuditEntry.action == "match.rejected") == 1
    with pytest.raises(ValidationError, match="n'existe pas"):
        operations.reject_suggestion(session, user, "yaourt nature", "T-NOPE")


def test_matcher_is_cached_and_rebuilt_when_learning_changes(session, setup):
    first = queries.get_matcher(session)
    assert queries.get_matcher(session) is first
    operations.reject_suggestion(session, setup["user"], "yaourt nature", "T-LAIT")
    second = queries.get_matcher(session)
    assert second is not first and ("yaourt nature", "T-LAIT") in second.rejections
    assert second.index is first.index  # the nomenclature index is reused
