"""Four eyes on powers: granting the legal or admin role, and setting the password of a legal
or admin account, from the web, waits for the approval of ANOTHER legal or admin user.

The console operator (``workbench users create``) is trusted and applies at once: whoever runs
commands on the server can change the database anyway. Operations flush and journal.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from workbench.audit.operations import record
from workbench.auth.models import (
    ELEVATED_ROLES,
    AccountRequest,
    AccountRequestKind,
    AccountRequestStatus,
    User,
)
from workbench.core.errors import ConflictError, PermissionDenied, ValidationError
from workbench.db import utcnow


def may_decide_for(decider: User, proposer_id: int | None) -> bool:
    """May ``decider`` decide what ``proposer_id`` proposed? Not if the proposer created the
    decider's account, elevated it or set its password on the web: that account may be a
    second pair of eyes the proposer controls."""
    return not decider.is_controlled_by(proposer_id)


def _supersede(session: Session, user: User, kind: str) -> None:
    for old in session.scalars(
        sa.select(AccountRequest).where(
            AccountRequest.user_id == user.id,
            AccountRequest.kind == kind,
            AccountRequest.status == AccountRequestStatus.PENDING,
        )
    ):
        old.status = AccountRequestStatus.CANCELLED
        old.password_hash = None
        old.decided_at = utcnow()


def _journal(session: Session, action: str, request: AccountRequest, **after: object) -> None:
    record(
        session,
        action,
        target_kind="user",
        target_id=request.user_id,
        target_label=request.user.email,
        after={"request_id": request.id, "kind": request.kind, "role": request.role, **after},
    )


def request_role(session: Session, user: User, role: str, *, by: User) -> AccountRequest:
    """Ask for ``user`` to be granted the legal or admin ``role``."""
    if role not in ELEVATED_ROLES:
        raise ValidationError(
            "Seuls les rôles juridique et administration demandent une approbation."
        )
    _supersede(session, user, AccountRequestKind.GRANT_ROLE)
    request = AccountRequest(
        kind=AccountRequestKind.GRANT_ROLE, user=user, role=role, requested_by_id=by.id
    )
    session.add(request)
    session.flush()
    _journal(session, "account_request.create", request)
    return request


def request_password(session: Session, user: User, password: str, *, by: User) -> AccountRequest:
    """Ask for a new password on the legal or admin account ``user`` (stored hashed)."""
    if len(password) < 10:
        raise ValidationError("Le mot de passe doit compter au moins 10 caractères.")
    _supersede(session, user, AccountRequestKind.RESET_PASSWORD)
    request = AccountRequest(
        kind=AccountRequestKind.RESET_PASSWORD,
        user=user,
        password_hash=generate_password_hash(password),
        requested_by_id=by.id,
    )
    session.add(request)
    session.flush()
    _journal(session, "account_request.create", request)
    return request


def decide(
    session: Session, request: AccountRequest, user: User, *, approve: bool, comment: str = ""
) -> AccountRequest:
    """Approve (apply) or reject a pending request, as ``user``."""
    if request.status != AccountRequestStatus.PENDING:
        raise ConflictError("Cette demande a déjà été traitée.")
    if not request.can_decide(user):
        raise PermissionDenied(
            "Une autre personne du service juridique ou de l'administration doit décider : "
            "ni l'auteur de la demande, ni le compte concerné, ni un compte qu'il a créé, "
            "élevé ou dont il a fixé le mot de passe."
        )
    target = request.user
    request.status = AccountRequestStatus.APPROVED if approve else AccountRequestStatus.REJECTED
    request.decided_by_id = user.id
    request.decided_at = utcnow()
    request.comment = comment or None
    if approve and request.kind == AccountRequestKind.GRANT_ROLE:
        target.role = request.role  # type: ignore[assignment]
        target.sites = []
        target.direction_code = None
        target.elevated_by_id = request.requested_by_id
    elif approve and request.kind == AccountRequestKind.RESET_PASSWORD:
        target.password_hash = request.password_hash  # type: ignore[assignment]
        target.password_set_by_id = request.requested_by_id
    if approve:
        target.end_sessions()
    request.password_hash = None
    session.flush()
    _journal(
        session,
        "account_request.approve" if approve else "account_request.reject",
        request,
        requested_by=request.requested_by.email,
        comment=comment or None,
    )
    return request


def pending_requests(session: Session, user: User | None = None) -> list[AccountRequest]:
    """Pending requests, oldest first (of one account when ``user`` is given)."""
    stmt = sa.select(AccountRequest).where(AccountRequest.status == AccountRequestStatus.PENDING)
    if user is not None:
        stmt = stmt.where(AccountRequest.user_id == user.id)
    return list(session.scalars(stmt.order_by(AccountRequest.requested_at, AccountRequest.id)))


def recent_statement() -> sa.Select:
    """The decided requests, the latest first."""
    return (
        sa.select(AccountRequest)
        .where(AccountRequest.status != AccountRequestStatus.PENDING)
        .order_by(AccountRequest.decided_at.desc(), AccountRequest.id.desc())
    )


def recent_requests(session: Session, limit: int = 50) -> list[AccountRequest]:
    return list(session.scalars(recent_statement().limit(limit)))


__all__ = [
    "decide",
    "may_decide_for",
    "pending_requests",
    "recent_requests",
    "recent_statement",
    "request_password",
    "request_role",
]
