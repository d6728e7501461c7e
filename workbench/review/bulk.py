"""Bulk actions on groups of anomalies: claim, dismiss with a reason, accept the matrix value.

Each action runs the one-anomaly operation of :mod:`workbench.review.operations` on every
anomaly of the selection (so each transition is checked and journaled as if done one by one),
inside a savepoint per anomaly: an anomaly that cannot take the action (already claimed, a
correction already pending…) is counted as skipped and leaves the others untouched. Flushes,
never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from workbench.auth.models import User
from workbench.core.errors import ConflictError, PermissionDenied, ValidationError
from workbench.review import operations
from workbench.rules.models import AnomalyStatus

#: Fields where the supplier matrix value can replace the line's value.
MATRIX_FIELDS = operations.MATRIX_FIELDS
MATRIX_REASON = "Valeur de la matrice fournisseur (action groupée)"


@dataclass
class BulkResult:
    """How many anomalies took the action, and why the others did not (French messages)."""

    done: int = 0
    skipped: int = 0
    proposed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, message: str) -> None:
        self.skipped += 1
        self.reasons[message] = self.reasons.get(message, 0) + 1


def _each(session: Session, anomalies: Iterable[Any], action: Callable[[Any], Any]) -> BulkResult:
    result = BulkResult()
    for anomaly in anomalies:
        try:
            with session.begin_nested():
                outcome = action(anomaly)
        except (ValidationError, ConflictError, PermissionDenied) as error:
            result.skip(error.message)
            continue
        result.done += 1
        if outcome is not None and getattr(outcome, "status", None) == "pending":
            result.proposed += 1
    return result


def _check_owner(user: User, anomaly: Any) -> None:
    if user.role not in (anomaly.owner_role, "admin"):
        raise PermissionDenied("Cette anomalie n'est pas dans vos files.")


def claim_all(session: Session, user: User, anomalies: Iterable[Any]) -> BulkResult:
    """Claim every open anomaly of the selection."""

    def claim(anomaly: Any) -> Any:
        _check_owner(user, anomaly)
        return operations.claim_anomaly(session, user, anomaly)

    return _each(session, anomalies, claim)


def dismiss_all(
    session: Session, user: User, anomalies: Iterable[Any], reason_code: str, comment: str
) -> BulkResult:
    """Dismiss every anomaly of the selection (blocking ones are proposed to legal)."""
    if not (comment or "").strip():
        raise ValidationError("Un commentaire est obligatoire pour écarter des anomalies.")

    def dismiss(anomaly: Any) -> Any:
        _check_owner(user, anomaly)
        return operations.dismiss_anomaly(session, user, anomaly, reason_code, comment)

    return _each(session, anomalies, dismiss)


def accept_matrix_all(session: Session, user: User, anomalies: Iterable[Any]) -> BulkResult:
    """Replace each line's value by its supplier matrix value (a correction per line, with the
    field's approval policy: labels and origin wait for legal)."""
    from workbench.review.queries import matrix_entry_for

    def accept(anomaly: Any) -> Any:
        _check_owner(user, anomaly)
        if anomaly.record_kind != "purchase_line" or anomaly.field not in MATRIX_FIELDS:
            raise ValidationError("Cette anomalie ne se corrige pas par la matrice fournisseur.")
        if anomaly.status == AnomalyStatus.PROPOSED:
            raise ConflictError("Une correction attend déjà une validation.", current=None)
        line = operations.load_record(session, "purchase_line", anomaly.record_id)
        entry = matrix_entry_for(session, line)
        if entry is None:
            raise ValidationError("L'article n'est pas dans la matrice du fournisseur.")
        return operations.propose_correction(
            session,
            user,
            "purchase_line",
            line.id,
            anomaly.field,
            getattr(entry, anomaly.field) or "",
            MATRIX_REASON,
            base_version=line.version,
            anomaly_id=anomaly.id,
        )

    return _each(session, anomalies, accept)
