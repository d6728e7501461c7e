"""Four eyes on powers: on the web, granting the legal or admin role and setting the password of a
legal or admin account wait for ANOTHER legal or admin user; a proposal is never decided by an
account its proposer created, elevated or whose password they set."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from workbench.audit.models import AuditEntry
from workbench.auth import operations, powers
from workbench.auth.models import AccountRequest, User
from workbench.core.errors import PermissionDenied
from workbench.review import operations as review


def _new_account(client, email: str, role: str, password: str = "x" * 12):  # type: ignore[no-untyped-def]
    return client.post_form(
        "/admin/utilisateurs/nouveau",
        {"email": email, "role": role, "password": password, "is_active": "y"},
    )


def _user(session, email: str) -> User:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(User).where(User.email == email))


def test_an_admin_creating_a_legal_account_on_the_web_gets_a_reader_until_approved(
    client, other_client, session, login_as, make
):
    admin = login_as("admin")
    response = _new_account(client, "juriste@region.example", "legal")
    assert response.status_code == 302
    follow = client.get(response.headers["Location"])
    assert "doit l&#39;approuver" in follow.get_data(as_text=True)
    account = _user(session, "juriste@region.example")
    assert account.role == "viewer" and account.created_by_id == admin.id
    (request,) = powers.pending_requests(session, account)
    assert (request.kind, request.role, request.requested_by_id) == (
        "grant_role",
        "legal",
        admin.id,
    )

    # the requester cannot approve their own request
    page = client.get("/admin/utilisateurs/demandes")
    assert "Une autre personne doit décider." in page.get_data(as_text=True)
    refused = client.post_form(
        f"/admin/utilisateurs/demandes/{request.id}/decider", {"decision": "approve"}
    )
    assert refused.status_code == 302 and request.status == "pending"
    assert account.role == "viewer"

    # another admin approves it
    other = make.user(role="admin", password=PASSWORD)
    assert other_client.login(other.email).status_code == 302
    approved = other_client.post_form(
        f"/admin/utilisateurs/demandes/{request.id}/decider",
        {"decision": "approve", "comment": "validé"},
    )
    assert approved.status_code == 302
    session.expire_all()
    assert account.role == "legal" and account.elevated_by_id == admin.id
    assert request.status == "approved" and request.decided_by_id == other.id
    actions = [
        e.action
        for e in session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.target_kind == "user", AuditEntry.target_id == str(account.id))
            .order_by(AuditEntry.id)
        )
    ]
    assert actions == ["user.create", "account_request.create", "account_request.approve"]


def test_a_role_change_to_admin_waits_and_keeps_the_current_role(session, make):
    admin = make.user(role="admin")
    canteen = make.user(role="canteen")
    operations.update_user(
        session,
        canteen,
        email=canteen.email,
        name="Promu",
        role="admin",
        site_uais=[],
        direction=None,
        is_active=True,
        by=admin,
    )
    assert canteen.role == "canteen" and canteen.sites and canteen.name == "Promu"
    assert [r.role for r in powers.pending_requests(session, canteen)] == ["admin"]


def test_a_password_set_with_or_after_a_role_request_waits_too(session, make):
    """Else the requester would know the password of the account the approver elevates."""
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", password=PASSWORD)
    fields = {"email": canteen.email, "name": "", "site_uais": [], "direction": None}
    operations.update_user(
        session, canteen, **fields, role="legal", is_active=True, password="p" * 12, by=admin
    )
    assert canteen.check_password(PASSWORD)
    assert sorted(r.kind for r in powers.pending_requests(session, canteen)) == [
        "grant_role",
        "reset_password",
    ]
    other = make.user(role="canteen", password=PASSWORD)
    powers.request_role(session, other, "admin", by=admin)
    fields = {"email": other.email, "name": "", "site_uais": [s.uai for s in other.sites]}
    operations.update_user(
        session, other, **fields, role="canteen", direction=None, is_active=True,
        password="q" * 12, by=admin,
    )  # fmt: skip
    assert other.check_password(PASSWORD), "a grant is pending: the password waits as well"


def test_a_password_reset_of_a_legal_account_waits_then_ends_its_sessions(session, make):
    admin, legal, approver = (
        make.user(role="admin"),
        make.user(role="legal"),
        make.user(role="legal"),
    )
    old_session = legal.get_id()
    operations.update_user(
        session,
        legal,
        email=legal.email,
        name=legal.name,
        role="legal",
        site_uais=[],
        direction=None,
        is_active=True,
        password="mot-de-passe-de-l-admin",
        by=admin,
    )
    assert legal.check_password(PASSWORD), "not changed yet"
    assert legal.get_id() == old_session
    (request,) = powers.pending_requests(session, legal)
    assert request.kind == "reset_password" and request.password_hash
    with pytest.raises(PermissionDenied):
        powers.decide(session, request, legal, approve=True)  # not the account concerned
    powers.decide(session, request, approver, approve=True)
    assert legal.check_password("mot-de-passe-de-l-admin")
    assert legal.password_set_by_id == admin.id and legal.get_id() != old_session
    assert request.password_hash is None, "no password hash is kept once decided"
    journal = session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("account%")))
    assert all("hash" not in str(e.after) for e in journal)


def test_a_rejected_request_changes_nothing_and_a_new_one_supersedes_the_old(session, make):
    admin, approver, canteen = (
        make.user(role="admin"),
        make.user(role="legal"),
        make.user(role="canteen"),
    )
    first = powers.request_role(session, canteen, "legal", by=admin)
    second = powers.request_role(session, canteen, "admin", by=admin)
    assert first.status == "cancelled" and second.status == "pending"
    powers.decide(session, second, approver, approve=False, comment="non")
    assert canteen.role == "canteen" and second.status == "rejected"


def test_a_puppet_account_cannot_approve_its_creators_requests(session, make):
    admin, approver = make.user(role="admin"), make.user(role="admin")
    puppet = operations.create_user(session, "pantin@region.example", "admin", "x" * 12, by=admin)
    powers.decide(session, powers.pending_requests(session, puppet)[0], approver, approve=True)
    assert puppet.role == "admin"
    victim = make.user(role="canteen")
    request = powers.request_role(session, victim, "admin", by=admin)
    assert not request.can_decide(puppet)
    with pytest.raises(PermissionDenied):
        powers.decide(session, request, puppet, approve=True)
    assert request.can_decide(approver)
    assert not request.can_decide(make.user(role="direction"))


def test_a_proposal_is_never_decided_by_an_account_its_proposer_created_or_reset(session, make):
    site = make.site()
    line = make.purchase_line(site, labels="BIO")
    admin, other_admin = make.user(role="admin"), make.user(role="admin")
    correction = review.propose_correction(
        session, admin, "purchase_line", line.id, "labels", "", "pas bio"
    )
    assert correction.status == "pending"
    # the attack of the issue: the admin creates a legal account (approved by someone else)
    puppet = operations.create_user(session, "juriste2@region.example", "legal", "x" * 12, by=admin)
    powers.decide(session, powers.pending_requests(session, puppet)[0], other_admin, approve=True)
    assert puppet.role == "legal"
    assert not correction.can_decide(puppet)
    with pytest.raises(PermissionDenied):
        review.decide(session, puppet, correction, True, "ok")
    # a legal account whose password the proposer set is refused too
    reset = make.user(role="legal")
    request = powers.request_password(session, reset, "y" * 12, by=admin)
    powers.decide(session, request, other_admin, approve=True)
    assert not correction.can_decide(reset)
    # an independent legal user decides
    independent = make.user(role="legal")
    assert correction.can_decide(independent)
    assert powers.may_decide_for(independent, admin.id)
    review.decide(session, independent, correction, True, "ok")
    assert correction.status == "applied"


def test_the_console_operator_creates_a_legal_account_at_once(app, session):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "console@region.example",
            "--role",
            "legal",
            "--password",
            "z" * 12,
        ]
    )
    assert result.exit_code == 0, result.output
    account = _user(session, "console@region.example")
    assert account.role == "legal" and account.created_by_id is None
    assert session.scalar(sa.select(sa.func.count()).select_from(AccountRequest)) == 0


def test_the_requests_page_is_for_legal_and_admin_users(client, login_as):
    login_as("canteen")
    assert client.get("/admin/utilisateurs/demandes").status_code == 403


def test_legal_users_see_and_decide_requests(client, session, login_as, make):
    admin = make.user(role="admin")
    canteen = make.user(role="canteen")
    request = powers.request_role(session, canteen, "legal", by=admin)
    login_as("legal")
    page = client.get("/admin/utilisateurs/demandes").get_data(as_text=True)
    assert canteen.email in page and "Approuver" in page
    response = client.post_form(
        f"/admin/utilisateurs/demandes/{request.id}/decider", {"decision": "reject"}
    )
    assert response.status_code == 302 and request.status == "rejected"
