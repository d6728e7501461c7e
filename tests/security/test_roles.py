"""Role limits: four eyes on decisions, legal reads but never edits, viewer sees indicators only,
only an administrator manages users and rule settings."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.security.conftest import assert_unchanged, snapshot
from workbench.auth.models import User
from workbench.review.models import Correction


def _status(session, correction) -> str:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(Correction.status).where(Correction.id == correction.id))


# -- four eyes ---------------------------------------------------------------------------------
def _login_as_proposer(client, session, make, correction):  # type: ignore[no-untyped-def]
    """A legal user who proposed ``correction`` (set before login: a view's rollback undoes
    whatever the test changes after it)."""
    legal = make.user(role="legal", password=PASSWORD)
    correction.proposed_by_id = legal.id
    session.flush()
    assert client.login(legal.email).status_code == 302
    return legal


def test_legal_cannot_approve_their_own_proposal_one_by_one(client, session, world, make):
    _login_as_proposer(client, session, make, world.line_pending)
    before = snapshot(session)
    response = client.post_form(
        f"/corrections/{world.line_pending.id}/decider", {"decision": "approve", "comment": "moi"}
    )
    assert response.status_code == 302
    assert_unchanged(session, before)
    assert _status(session, world.line_pending) == "pending"


def test_legal_cannot_approve_their_own_proposal_in_a_batch(client, session, world, make):
    _login_as_proposer(client, session, make, world.contract_pending)
    before = snapshot(session)
    response = client.post_form(
        "/a-valider/groupe",
        {"decision": "approve", "comment": "moi", "ids": [str(world.contract_pending.id)]},
    )
    assert response.status_code == 302
    assert_unchanged(session, before)


def test_another_legal_user_can_decide_the_same_proposal(client, session, world, login_as):
    """The control of the two tests above: the endpoint does apply a decision."""
    login_as("legal")
    response = client.post_form(
        f"/corrections/{world.line_pending.id}/decider", {"decision": "approve", "comment": "ok"}
    )
    assert response.status_code == 302
    assert _status(session, world.line_pending) == "applied"


@pytest.mark.parametrize("role", ["canteen", "direction", "admin", "viewer"])
def test_only_legal_reaches_the_decision_endpoints(client, session, world, login_as, role):
    if role == "canteen":
        login_as(role, sites=[world.other_site])  # even the lycée the correction belongs to
    elif role == "direction":
        login_as(role, direction="DOTH")
    else:
        login_as(role)
    before = snapshot(session)
    for url, data in (
        (f"/corrections/{world.line_pending.id}/decider", {}),
        (f"/corrections/{world.contract_pending.id}/decider", {}),
        ("/a-valider/groupe", {"ids": [str(world.line_pending.id)]}),
    ):
        response = client.post_form(url, {"decision": "approve", "comment": "x", **data})
        assert response.status_code == 403, (role, url)
    assert_unchanged(session, before)


# -- legal: region-wide read, no edit ----------------------------------------------------------
def test_legal_reads_everything_but_edits_nothing(client, session, world, login_as):
    login_as("legal")
    before = snapshot(session)
    for kind, record in (
        ("purchase_line", world.other_line),
        ("contract", world.other_contract),
        ("supplier", world.other_supplier),
    ):
        assert client.get(f"/dossiers/{kind}/{record.id}").status_code == 200, kind
    posts = [
        (f"/dossiers/purchase_line/{world.other_unmapped.id}/corriger",
         {"field": "nomenclature_code", "value": world.code, "reason": "r"}),
        (f"/dossiers/contract/{world.other_contract.id}/corriger",
         {"field": "amount", "value": "1", "reason": "r"}),
        (f"/anomalies/{world.contract_anomaly.id}/prendre", {}),
        (f"/anomalies/{world.line_anomaly.id}/ecarter",
         {"reason_code": "other", "comment": "c"}),
        (f"/corrections/{world.line_applied.id}/annuler", {"reason": "r"}),
        ("/articles/rattacher", {"group": world.other_group, "code": world.code}),
        ("/articles/refuser", {"group": world.other_group, "code": world.code}),
        ("/regles/SIRET_MISSING", {"approval_policy": "immediate"}),
        ("/imports/", {"kind": "purchases"}),
        (f"/admin/utilisateurs/{world.other_canteen.id}", {"role": "admin"}),
    ]  # fmt: skip
    for url, data in posts:
        assert client.post_form(url, data).status_code == 403, url
    assert_unchanged(session, before)


def test_legal_export_holds_every_direction(client, world, login_as):
    """The control of the direction export test: unscoped, both contracts are considered."""
    login_as("legal")
    response = client.get("/exports/marches-decp-v2.json")
    document = json.loads(response.get_data(as_text=True))
    exported = len(document["marches"].get("marche", []))
    assert exported + int(response.headers["X-Workbench-Excluded"]) == 2


# -- viewer: indicators only -------------------------------------------------------------------
VIEWER_FORBIDDEN_GETS = [
    "/files/articles",
    "/files/matrix",
    "/files/purchases",
    "/files/suppliers",
    "/files/contracts",
    "/a-valider",
    "/imports/",
    "/journal",
    "/journal/export.csv",
    "/articles",
    "/articles/nomenclature?q=yaourt",
    "/regles/",
    "/admin/utilisateurs",
]


def test_viewer_reaches_indicators(client, world, login_as):
    login_as("viewer")
    for url in ("/", "/indicateurs", "/indicateurs/marches", "/indicateurs/qualite"):
        assert client.get(url).status_code == 200, url


def test_viewer_cannot_reach_queues_imports_journal_or_admin(client, session, world, login_as):
    login_as("viewer")
    before = snapshot(session)
    for url in VIEWER_FORBIDDEN_GETS:
        assert client.get(url).status_code == 403, url
    for url in (f"/imports/{world.other_batch.id}", f"/imports/{world.other_batch.id}/rapport.csv"):
        assert client.get(url).status_code in (403, 404), url
    assert_unchanged(session, before)


def test_viewer_cannot_open_any_record_or_history(client, session, world, login_as):
    login_as("viewer")
    before = snapshot(session)
    for kind, record in (
        ("purchase_line", world.own_line),
        ("contract", world.own_contract),
        ("supplier", world.own_supplier),
        ("matrix_entry", world.matrix_entry),
    ):
        assert client.get(f"/dossiers/{kind}/{record.id}").status_code == 404, kind
        assert client.get(f"/historique/{kind}/{record.id}").status_code == 404, kind
    assert_unchanged(session, before)


def test_viewer_cannot_change_anything(client, session, world, login_as):
    login_as("viewer")
    before = snapshot(session)
    posts = [
        ("/regles/SIRET_MISSING", {"approval_policy": "immediate"}),
        (f"/anomalies/{world.line_anomaly.id}/prendre", {}),
        (f"/anomalies/{world.contract_anomaly.id}/ecarter", {"reason_code": "other", "comment": "c"}),
        (f"/dossiers/supplier/{world.own_supplier.id}/corriger",
         {"field": "name", "value": "x", "reason": "r"}),
        (f"/corrections/{world.contract_applied.id}/annuler", {"reason": "r"}),
        ("/articles/rattacher", {"group": world.other_group, "code": world.code}),
        ("/imports/", {"kind": "purchases"}),
        ("/admin/utilisateurs/nouveau", {"email": "x@region.example", "role": "admin"}),
    ]  # fmt: skip
    for url, data in posts:
        assert client.post_form(url, data).status_code in (403, 404), url
    assert_unchanged(session, before)


@pytest.mark.parametrize("url", ["/exports/achats.csv", "/exports/achats-ma-cantine.csv"])
def test_viewer_cannot_export_purchase_lines(client, session, world, login_as, url):
    login_as("viewer")
    before = snapshot(session)
    assert client.get(url).status_code == 403
    assert_unchanged(session, before)


# -- users and rule settings: administrator only -----------------------------------------------
@pytest.mark.parametrize("role", ["canteen", "direction", "legal", "viewer"])
def test_nobody_but_admin_changes_a_user_or_a_rule_setting(client, session, world, login_as, role):
    me = login_as(role, sites=[world.own_site]) if role == "canteen" else login_as(role)
    before = snapshot(session)
    for user in (me, world.other_canteen):
        response = client.post_form(
            f"/admin/utilisateurs/{user.id}",
            {"email": user.email, "role": "admin", "is_active": "y", "password": "x" * 12},
        )
        assert response.status_code == 403
    response = client.post_form(
        "/admin/utilisateurs/nouveau",
        {"email": "intrus@region.example", "role": "admin", "password": "x" * 12},
    )
    assert response.status_code == 403
    response = client.post_form("/regles/SIRET_MISSING", {"approval_policy": "immediate"})
    assert response.status_code == 403
    assert_unchanged(session, before)
    assert session.scalar(sa.select(User.role).where(User.id == me.id)) == role


def test_a_deactivated_account_loses_its_open_session(client, session, world, login_as):
    user = login_as("canteen", sites=[world.own_site])
    assert client.get(f"/dossiers/purchase_line/{world.own_line.id}").status_code == 200
    user.is_active_account = False
    session.flush()
    response = client.get(f"/dossiers/purchase_line/{world.own_line.id}")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
