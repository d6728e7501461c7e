"""Corrections and anomaly transitions. Each function flushes and journals; none commits.

Policy: a correction applies at once when its approval policy is ``immediate`` (by default only
mapping an article to the nomenclature); otherwise it waits for a legal user who is not the
proposer (four eyes). A correction made against an outdated version of the record is refused
with the current value (:class:`ConflictError`): nobody overwrites anybody silently.

Concurrency: every transition first locks the rows it will change — the correction, then the
record, then the anomaly (``SELECT … FOR UPDATE`` on PostgreSQL, re-read with
``populate_existing``; on SQLite the write transaction began ``IMMEDIATE`` and holds the single
writer lock) — and only then re-checks the state (pending? same version?) and journals. Two
people deciding one proposal, or correcting one field from the same version, are therefore
serialised: the second one finds the proposal decided (« déjà traitée ») or the record moved on
(« modifié entre-temps », with the current value), gets a :class:`ConflictError`, and nothing is
journaled for it. Row locks are always taken before the first journal entry (whose chain lock
is held until commit), in the order corrections → records → anomalies, to avoid deadlocks.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.auth.models import Role, User
from workbench.core.errors import ConflictError, PermissionDenied, ValidationError
from workbench.core.signals import records_changed
from workbench.db import utcnow
from workbench.records.access import RECORD_MODELS, record_label, scope_clause
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.review.fields import HOLDER_FIELD, editable_field
from workbench.review.models import Correction, CorrectionKind, CorrectionStatus
from workbench.rules.models import ACTIVE_STATUSES, DISMISS_REASONS, Anomaly, AnomalyStatus
from workbench.rules.registry import get_rule

logger = logging.getLogger(__name__)

#: Who may propose corrections on which record kinds.
EDITORS: dict[str, tuple[str, ...]] = {
    "purchase_line": (Role.CANTEEN, Role.ADMIN),
    "supplier": (Role.DIRECTION, Role.ADMIN),
    "contract": (Role.DIRECTION, Role.ADMIN),
    "matrix_entry": (Role.DIRECTION, Role.ADMIN),
}


# -- reading and writing one field -----------------------------------------------------------
def _holder(session: Session, contract: Contract, field: str) -> ContractHolder:
    match = HOLDER_FIELD.match(field)
    assert match
    role = "holder" if match["list"] in ("titulaires", "concessionnaires") else "subcontractor"
    holder = session.scalar(
        sa.select(ContractHolder).where(
            ContractHolder.contract_id == contract.id,
            ContractHolder.role == role,
            ContractHolder.position == int(match["pos"]),
        )
    )
    if holder is None:
        raise ValidationError(f"Le marché n'a pas de {field}.")
    return holder


def get_value(session: Session, record_kind: str, obj: Any, field: str) -> Any:
    """The JSON-friendly current value of ``field`` (dates as ISO text)."""
    if record_kind == "contract" and HOLDER_FIELD.match(field):
        return _holder(session, obj, field).identifier
    value = getattr(obj, field)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _set_value(session: Session, record_kind: str, obj: Any, field: str, value: Any) -> None:
    definition = editable_field(record_kind, field)
    if record_kind == "contract" and HOLDER_FIELD.match(field):
        _holder(session, obj, field).identifier = value
    else:
        if definition.is_date and value is not None:
            value = dt.date.fromisoformat(value)
        setattr(obj, field, value)
    obj.version += 1
    obj.updated_at = utcnow()


def _locked(session: Session, model: type, ids: list[int]) -> list[Any]:
    """Lock rows of ``model`` (ordered by id; PostgreSQL ``FOR UPDATE``) and re-read them."""
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(model)
            .where(model.id.in_(sorted(set(ids))))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def lock_correction(session: Session, correction: Correction) -> Correction:
    """Lock the correction's row and refresh it: its status is now the committed one."""
    _locked(session, Correction, [correction.id])
    return correction


def lock_anomaly(session: Session, anomaly_id: int | None) -> Anomaly | None:
    if anomaly_id is None:
        return None
    found = _locked(session, Anomaly, [anomaly_id])
    return found[0] if found else None


def load_record(session: Session, record_kind: str, record_id: int, *, lock: bool = False) -> Any:
    """The record (``lock``: locked and re-read, so its version is the committed one)."""
    model = RECORD_MODELS.get(record_kind)
    if model is None:
        obj = None
    elif lock:
        found = _locked(session, model, [record_id])
        obj = found[0] if found else None
    else:
        obj = session.get(model, record_id)
    if obj is None:
        raise ValidationError("Enregistrement introuvable.")
    return obj


def _changed_meanwhile(label: str, current: Any) -> ConflictError:
    shown = current if current not in (None, "") else "(vide)"
    return ConflictError(
        f"L'enregistrement a été modifié par quelqu'un d'autre entre-temps. "
        f"Valeur actuelle de « {label} » : {shown}.",
        current=current,
    )


def _already_decided(correction: Correction) -> ConflictError:
    from workbench.review.models import CORRECTION_STATUS_LABELS

    label = CORRECTION_STATUS_LABELS.get(correction.status, correction.status)
    return ConflictError(
        f"Cette proposition a déjà été traitée (statut actuel : {label.lower()}).",
        current=correction.status,
    )


# -- permissions (object rules) ---------------------------------------------------------------
def record_scope(record_kind: str, obj: Any) -> tuple[int | None, str | None]:
    """(site_id, direction_code) of a record, for scoping corrections and their queue."""
    if record_kind == "purchase_line":
        return obj.site_id, None
    if record_kind in ("contract", "supplier"):
        return None, obj.direction_code
    return None, None


def can_edit(session: Session, user: User, record_kind: str, obj: Any) -> bool:
    """May ``user`` propose corrections on this record? (role, then site or direction scope)."""
    if user.role not in EDITORS.get(record_kind, ()):
        return False
    if user.role == Role.ADMIN:
        return True
    model = RECORD_MODELS[record_kind]
    visible = session.scalar(
        sa.select(model.id).where(model.id == obj.id, scope_clause(record_kind, user))
    )
    if visible is None:
        return False
    if record_kind == "matrix_entry":
        return user.role == Role.DIRECTION
    return True


#: Rules that govern a field whose own default is ``immediate``: a correction of that field made
#: outside one of their anomalies (record page, API) follows their policy too.
FIELD_RULES: dict[tuple[str, str], tuple[str, ...]] = {
    ("purchase_line", "nomenclature_code"): ("ARTICLE_UNMAPPED", "NOMENCLATURE_CODE_INVALID"),
}


def rule_policy(session: Session, rule_code: str) -> str | None:
    """The rule's effective policy: the administrator's setting, else the rule's default."""
    from workbench.rules.models import RuleSetting

    setting = session.get(RuleSetting, rule_code)
    if setting is not None and setting.approval_policy:
        return setting.approval_policy
    rule = get_rule(rule_code)
    return rule.approval_policy if rule is not None else None


def approval_policy(session: Session, record_kind: str, field: str, rule_code: str | None) -> str:
    """``immediate`` or ``approval``: the strictest of the field's default and its rules' policies.

    Neither a rule nor an administrator's setting relaxes a field that needs approval by default
    (SIRET, amounts…); a rule set to ``approval`` makes its field need approval, whether the
    correction answers one of its anomalies or is made directly on the record.
    """
    policies = {editable_field(record_kind, field).policy}
    codes = {*FIELD_RULES.get((record_kind, field), ()), *([rule_code] if rule_code else [])}
    for code in sorted(codes):
        policies.add(rule_policy(session, code) or "approval")
    return "approval" if policies != {"immediate"} else "immediate"


# -- corrections ------------------------------------------------------------------------------
def _snapshot(correction: Correction) -> dict[str, Any]:
    return {
        "correction_id": correction.id,
        "kind": correction.kind,
        "status": correction.status,
        "record_kind": correction.record_kind,
        "record_id": correction.record_id,
        "field": correction.field,
        "old_value": correction.old_value,
        "new_value": correction.new_value,
        "reason": correction.reason,
        "rule_code": correction.rule_code,
    }


def _audit(
    session: Session, action: str, correction: Correction, obj: Any = None, **extra: Any
) -> None:
    label = record_label(correction.record_kind, obj) if obj is not None else None
    record(
        session,
        action,
        target_kind=correction.record_kind,
        target_id=correction.record_id,
        target_label=label,
        before={"field": correction.field, "value": correction.old_value},
        after={**_snapshot(correction), **extra},
    )


def _set_anomaly_status(
    session: Session, anomaly_id: int | None, status: str, user: User | None = None
) -> None:
    if anomaly_id is None:
        return
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None or anomaly.status not in ACTIVE_STATUSES:
        return
    before = anomaly.status
    anomaly.status = status
    anomaly.version += 1
    if status in (AnomalyStatus.RESOLVED, AnomalyStatus.DISMISSED):
        anomaly.closed_at = utcnow()
        anomaly.closed_by_id = user.id if user else None
    record(
        session,
        f"anomaly.{status}",
        target_kind="anomaly",
        target_id=anomaly.id,
        target_label=anomaly.rule_code,
        before={"status": before},
        after={"status": status},
    )


def propose_correction(
    session: Session,
    user: User,
    record_kind: str,
    record_id: int,
    field: str,
    raw_value: Any,
    reason: str,
    *,
    base_version: int | None = None,
    anomaly_id: int | None = None,
) -> Correction:
    """Validate and record a correction; apply it at once when its policy is ``immediate``.

    The record is locked first, so ``base_version`` is compared with the committed version: of
    several people correcting from the same version, one wins and the others get a conflict.
    """
    obj = load_record(session, record_kind, record_id, lock=True)
    if not can_edit(session, user, record_kind, obj):
        raise PermissionDenied("Vous ne pouvez pas corriger cet enregistrement.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Indiquez la raison de la correction.")
    definition = editable_field(record_kind, field)
    new_value = definition.check(session, definition.parse(raw_value))
    old_value = get_value(session, record_kind, obj, field)
    if base_version is not None and base_version != obj.version:
        raise _changed_meanwhile(definition.label, old_value)
    if new_value == old_value:
        raise ValidationError("La nouvelle valeur est identique à la valeur actuelle.")
    anomaly = lock_anomaly(session, anomaly_id) if anomaly_id else None
    if anomaly is not None and (anomaly.record_kind, anomaly.record_id) != (record_kind, record_id):
        raise ValidationError("Cette anomalie ne concerne pas cet enregistrement.")
    pending = session.scalar(
        sa.select(Correction.id).where(
            Correction.record_kind == record_kind,
            Correction.record_id == record_id,
            Correction.field == field,
            Correction.status == CorrectionStatus.PENDING,
        )
    )
    if pending is not None:
        raise ConflictError(
            f"Une correction de ce champ attend déjà une validation (n° {pending}).",
            current=old_value,
        )
    site_id, direction = record_scope(record_kind, obj)
    rule_code = anomaly.rule_code if anomaly else None
    correction = Correction(
        kind=CorrectionKind.EDIT,
        status=CorrectionStatus.PENDING,
        record_kind=record_kind,
        record_id=record_id,
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        rule_code=rule_code,
        anomaly_id=anomaly.id if anomaly else None,
        site_id=site_id,
        direction_code=direction,
        base_version=obj.version,
        proposed_by_id=user.id,
    )
    session.add(correction)
    session.flush()
    if approval_policy(session, record_kind, field, rule_code) == "immediate":
        _apply(session, correction, obj)
    else:
        _audit(session, "correction.proposed", correction, obj)
        _set_anomaly_status(session, correction.anomaly_id, AnomalyStatus.PROPOSED)
    return correction


def _apply(
    session: Session, correction: Correction, obj: Any, deferred: list[Correction] | None = None
) -> bool:
    """Apply a correction; mark it in conflict (and return False) if the record moved on.

    The re-check of the record runs at once, or — with ``deferred`` — is queued so that a batch
    re-checks every record it touched in one run (:func:`_recheck_applied`).
    """
    current = get_value(session, correction.record_kind, obj, correction.field)
    if correction.kind != CorrectionKind.DISMISSAL:
        # the value was valid when proposed; the reference may have changed since
        editable_field(correction.record_kind, correction.field).check(
            session, correction.new_value
        )
    if correction.base_version is not None and obj.version != correction.base_version:
        correction.status = CorrectionStatus.CONFLICT
        session.flush()
        _audit(session, "correction.conflict", correction, obj, current_value=current)
        _set_anomaly_status(session, correction.anomaly_id, AnomalyStatus.OPEN)
        return False
    _set_value(session, correction.record_kind, obj, correction.field, correction.new_value)
    correction.status = CorrectionStatus.APPLIED
    correction.applied_at = utcnow()
    session.flush()
    _audit(session, "correction.applied", correction, obj)
    if deferred is None:
        _recheck_applied(session, [correction])
    else:
        deferred.append(correction)
    return True


def _recheck_applied(session: Session, corrections: list[Correction]) -> None:
    """Re-check the corrected records (one run per record kind), then settle their anomalies."""
    by_kind: dict[str, set[int]] = {}
    for correction in corrections:
        by_kind.setdefault(correction.record_kind, set()).add(correction.record_id)
    session.flush()
    for record_kind, ids in by_kind.items():
        records_changed.send(session, record_kind=record_kind, record_ids=sorted(ids))
    for correction in corrections:
        anomaly = session.get(Anomaly, correction.anomaly_id) if correction.anomaly_id else None
        if anomaly is None:
            continue
        session.refresh(anomaly)  # the re-check may have closed it with a bulk statement
        rule = get_rule(anomaly.rule_code)
        if rule is not None and rule.is_manual and anomaly.is_active:
            # nothing re-checks a manual report: the applied correction answers it
            _set_anomaly_status(session, anomaly.id, AnomalyStatus.RESOLVED)
        elif anomaly.status == AnomalyStatus.PROPOSED:
            # the rules did not close it: the data still breaks the rule
            anomaly.status = AnomalyStatus.OPEN


def decide(
    session: Session,
    user: User,
    correction: Correction,
    approve: bool,
    comment: str,
    *,
    _deferred: list[Correction] | None = None,
) -> Correction:
    """Approve (apply) or reject a pending correction or dismissal. Four eyes, always.

    The correction, its record and its anomaly are locked before the status is re-checked: of
    two simultaneous decisions, the second finds the proposal decided (:class:`ConflictError`).
    """
    lock_correction(session, correction)
    if correction.status != CorrectionStatus.PENDING:
        raise _already_decided(correction)
    if not correction.can_decide(user):
        if user.id == correction.proposed_by_id:
            raise PermissionDenied(
                "Vous ne pouvez pas valider votre propre proposition (quatre yeux)."
            )
        raise PermissionDenied("Seul le service juridique valide les propositions.")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError("Un refus doit être motivé par un commentaire.")
    if correction.reverts_id:  # corrections before records: same order as revert_correction
        _locked(session, Correction, [correction.reverts_id])
    obj = None
    if correction.kind != CorrectionKind.DISMISSAL:
        obj = load_record(session, correction.record_kind, correction.record_id, lock=True)
    lock_anomaly(session, correction.anomaly_id)
    correction.decided_by_id = user.id
    correction.decided_at = utcnow()
    correction.decision_comment = comment or None
    if correction.kind == CorrectionKind.DISMISSAL:
        anomaly = session.get(Anomaly, correction.anomaly_id) if correction.anomaly_id else None
        if approve:
            correction.status = CorrectionStatus.APPLIED
            correction.applied_at = utcnow()
            if anomaly is not None:
                anomaly.dismiss_reason = correction.new_value.get("reason")
                anomaly.dismiss_comment = correction.new_value.get("comment")
                _set_anomaly_status(session, anomaly.id, AnomalyStatus.DISMISSED, user)
        else:
            correction.status = CorrectionStatus.REJECTED
            _set_anomaly_status(session, correction.anomaly_id, AnomalyStatus.OPEN)
        session.flush()
        _audit(
            session,
            "dismissal.approved" if approve else "dismissal.rejected",
            correction,
            comment=comment,
        )
        return correction
    if approve:
        session.flush()
        record(
            session,
            "correction.approved",
            target_kind=correction.record_kind,
            target_id=correction.record_id,
            after={"correction_id": correction.id, "comment": comment},
        )
        if _apply(session, correction, obj, _deferred) and correction.reverts_id:
            original = session.get(Correction, correction.reverts_id)
            if original is not None:
                original.status = CorrectionStatus.REVERTED
    else:
        correction.status = CorrectionStatus.REJECTED
        session.flush()
        _audit(session, "correction.rejected", correction, obj, comment=comment)
        _set_anomaly_status(session, correction.anomaly_id, AnomalyStatus.OPEN)
    return correction


def decide_many(
    session: Session, user: User, correction_ids: list[int], approve: bool, comment: str
) -> list[Correction]:
    """Batch decision on a homogeneous selection (same rule, record kind and field)."""
    # every row is locked up front, in a fixed order (corrections, records, anomalies, by id)
    corrections = _locked(session, Correction, list(correction_ids))
    if not corrections:
        raise ValidationError("Aucune proposition sélectionnée.")
    shapes = {(c.kind, c.rule_code, c.record_kind, c.field) for c in corrections}
    if len(shapes) > 1:
        raise ValidationError(
            "La validation groupée n'accepte qu'une sélection homogène (même règle, même champ)."
        )
    pending = [c for c in corrections if c.status == CorrectionStatus.PENDING]
    by_kind: dict[str, list[int]] = {}
    for c in pending:
        if c.kind != CorrectionKind.DISMISSAL:
            by_kind.setdefault(c.record_kind, []).append(c.record_id)
    _locked(session, Correction, [c.reverts_id for c in pending if c.reverts_id])
    for record_kind, ids in sorted(by_kind.items()):
        if record_kind in RECORD_MODELS:
            _locked(session, RECORD_MODELS[record_kind], ids)
    _locked(session, Anomaly, [c.anomaly_id for c in pending if c.anomaly_id])
    applied: list[Correction] = []
    done = [decide(session, user, c, approve, comment, _deferred=applied) for c in corrections]
    _recheck_applied(session, applied)  # one re-check for the whole batch
    return done


def revert_correction(
    session: Session, user: User, correction: Correction, reason: str
) -> Correction:
    """Undo an applied correction by a new, audited correction (same approval policy)."""
    if correction.kind == CorrectionKind.DISMISSAL:
        raise ValidationError("Seule une correction appliquée peut être annulée.")
    lock_correction(session, correction)
    if correction.status == CorrectionStatus.REVERTED:
        raise ConflictError("Cette correction a déjà été annulée.", current=correction.status)
    if correction.status != CorrectionStatus.APPLIED:
        raise ValidationError("Seule une correction appliquée peut être annulée.")
    obj = load_record(session, correction.record_kind, correction.record_id, lock=True)
    if not can_edit(session, user, correction.record_kind, obj):
        raise PermissionDenied("Vous ne pouvez pas modifier cet enregistrement.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Indiquez la raison de l'annulation.")
    current = get_value(session, correction.record_kind, obj, correction.field)
    if current != correction.new_value:
        raise ConflictError(
            "Le champ a été modifié depuis cette correction; annulez plutôt la plus récente. "
            f"Valeur actuelle : {current if current not in (None, '') else '(vide)'}.",
            current=current,
        )
    pending = session.scalar(
        sa.select(Correction.id).where(
            Correction.record_kind == correction.record_kind,
            Correction.record_id == correction.record_id,
            Correction.field == correction.field,
            Correction.status == CorrectionStatus.PENDING,
        )
    )
    if pending is not None:
        raise ConflictError(
            f"Une correction de ce champ attend déjà une validation (n° {pending}).",
            current=current,
        )
    lock_anomaly(session, correction.anomaly_id)
    revert = Correction(
        kind=CorrectionKind.REVERT,
        status=CorrectionStatus.PENDING,
        record_kind=correction.record_kind,
        record_id=correction.record_id,
        field=correction.field,
        old_value=current,
        new_value=correction.old_value,
        reason=reason,
        rule_code=correction.rule_code,
        anomaly_id=correction.anomaly_id,
        site_id=correction.site_id,
        direction_code=correction.direction_code,
        base_version=obj.version,
        proposed_by_id=user.id,
        reverts_id=correction.id,
    )
    session.add(revert)
    session.flush()
    if (
        approval_policy(session, correction.record_kind, correction.field, correction.rule_code)
        == "immediate"
    ):
        if _apply(session, revert, obj):
            correction.status = CorrectionStatus.REVERTED
            session.flush()
    else:
        _audit(session, "correction.proposed", revert, obj)
    return revert


# -- anomaly transitions ----------------------------------------------------------------------
def claim_anomaly(session: Session, user: User, anomaly: Anomaly) -> Anomaly:
    """Take an open anomaly (locked and re-read first: two claims, one winner)."""
    lock_anomaly(session, anomaly.id)
    if anomaly.status != AnomalyStatus.OPEN:
        raise ConflictError("Cette anomalie n'est plus ouverte.", current=anomaly.status)
    anomaly.claimed_by_id = user.id
    _set_anomaly_status(session, anomaly.id, AnomalyStatus.CLAIMED, user)
    return anomaly


def dismiss_anomaly(
    session: Session, user: User, anomaly: Anomaly, reason_code: str, comment: str
) -> Correction | None:
    """Dismiss a false positive. A blocking anomaly's dismissal waits for legal approval."""
    lock_anomaly(session, anomaly.id)
    if anomaly.status not in ACTIVE_STATUSES or anomaly.status == AnomalyStatus.PROPOSED:
        raise ConflictError("Cette anomalie ne peut plus être écartée.", current=anomaly.status)
    if reason_code not in DISMISS_REASONS:
        raise ValidationError(
            "Choisissez un motif parmi : " + ", ".join(DISMISS_REASONS.values()) + "."
        )
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Un commentaire est obligatoire pour écarter une anomalie.")
    if anomaly.severity != "blocking":
        anomaly.dismiss_reason, anomaly.dismiss_comment = reason_code, comment
        _set_anomaly_status(session, anomaly.id, AnomalyStatus.DISMISSED, user)
        return None
    dismissal = Correction(
        kind=CorrectionKind.DISMISSAL,
        status=CorrectionStatus.PENDING,
        record_kind=anomaly.record_kind,
        record_id=anomaly.record_id,
        field=anomaly.field,
        old_value={"status": anomaly.status},
        new_value={"reason": reason_code, "comment": comment},
        reason=comment,
        rule_code=anomaly.rule_code,
        anomaly_id=anomaly.id,
        site_id=anomaly.site_id,
        direction_code=anomaly.direction_code,
        proposed_by_id=user.id,
    )
    session.add(dismissal)
    session.flush()
    _audit(session, "dismissal.proposed", dismissal)
    _set_anomaly_status(session, anomaly.id, AnomalyStatus.PROPOSED)
    return dismissal


MATRIX_FIELDS = ("labels", "origin", "nomenclature_code")


def report_matrix(
    session: Session, user: User, line: PurchaseLine, field: str, comment: str
) -> Anomaly:
    """A canteen team says the supplier matrix is wrong on ``field``: raise it to the direction."""
    from workbench.review.queries import matrix_entry_for

    if not can_edit(session, user, "purchase_line", line):
        raise PermissionDenied("Vous ne pouvez pas signaler la matrice pour cette ligne.")
    if field not in MATRIX_FIELDS:
        raise ValidationError(
            "Seuls les labels, l'origine et le code de la matrice peuvent être signalés."
        )
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Expliquez en quoi la matrice est erronée (facture, fiche produit…).")
    entry = matrix_entry_for(session, line)
    if entry is None:
        raise ValidationError("Cet article n'est pas dans la matrice du fournisseur.")
    entry = load_record(session, "matrix_entry", entry.id, lock=True)  # one report at a time
    line_value, matrix_value = getattr(line, field), getattr(entry, field)
    message = (
        f"Signalé par {user.name or user.email} ({line.site.name}) : la ligne d'achat indique "
        f"« {line_value or '—'} », la matrice « {matrix_value or '—'} ». {comment}"
    )
    direction = entry.supplier.direction_code or line.site.direction_code
    anomaly = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.rule_code == "MATRIX_REPORTED",
            Anomaly.record_kind == "matrix_entry",
            Anomaly.record_id == entry.id,
            Anomaly.field == field,
        )
    )
    if anomaly is not None and anomaly.is_active:
        raise ConflictError(
            "Cet article de matrice est déjà signalé sur ce champ.", current=anomaly.status
        )
    now = utcnow()
    if anomaly is None:
        anomaly = Anomaly(
            rule_code="MATRIX_REPORTED",
            record_kind="matrix_entry",
            record_id=entry.id,
            field=field,
            severity="warning",
            owner_role="direction",
            first_seen_at=now,
        )
        session.add(anomaly)
    else:
        anomaly.version += 1
    anomaly.status, anomaly.closed_at, anomaly.closed_by_id = AnomalyStatus.OPEN, None, None
    anomaly.dismiss_reason = anomaly.dismiss_comment = None
    anomaly.direction_code, anomaly.supplier_id = direction, entry.supplier_id
    anomaly.value, anomaly.message, anomaly.last_seen_at = str(matrix_value or ""), message, now
    anomaly.details = {
        "purchase_line_id": line.id,
        "line_value": line_value,
        "reported_by": user.email,
    }
    session.flush()
    record(
        session,
        "matrix.reported",
        target_kind="matrix_entry",
        target_id=entry.id,
        target_label=f"{entry.reference} — {entry.label}",
        before={"field": field, "value": matrix_value},
        after={
            "anomaly_id": anomaly.id,
            "line_id": line.id,
            "line_value": line_value,
            "comment": comment,
        },
    )
    return anomaly
