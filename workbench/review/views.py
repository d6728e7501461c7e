"""Thin handlers: record page, corrections, decisions, anomaly transitions."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workbench.audit.display import describe_all
from workbench.audit.queries import record_history
from workbench.core.edge import FAILED, commit, commit_or_flash
from workbench.core.formatting import format_number
from workbench.core.pagination import Page, page_number, page_size
from workbench.core.permissions import roles_required
from workbench.core.security import is_safe_next
from workbench.extensions import db
from workbench.records.access import RECORD_KIND_LABELS, load_scoped, record_label
from workbench.review import bulk, groups, labels, operations, proposals, queries
from workbench.review.fields import EDITABLE, HOLDER_FIELD
from workbench.review.forms import (
    ButtonForm,
    CorrectionForm,
    DecisionForm,
    DismissForm,
    MatrixReportForm,
    RevertForm,
)
from workbench.review.models import (
    CORRECTION_KIND_LABELS,
    CORRECTION_STATUS_LABELS,
    Correction,
    CorrectionStatus,
)
from workbench.rules.models import DISMISS_REASONS, SEVERITY_LABELS, STATUS_LABELS, Anomaly
from workbench.rules.queries import scope_anomalies
from workbench.rules.registry import QUEUES, get_rule


def _back(default: str):  # type: ignore[no-untyped-def]
    target = request.form.get("next") or request.args.get("next")
    return redirect(target if is_safe_next(target) else default)


def _hidden_int(raw: str | None) -> int | None:
    """A hidden integer field of a form (version, id): empty → None, anything else but digits →
    400 (a forged or damaged form, never a 500)."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        abort(400)
    return int(text)


def _fields(kind: str, record) -> list[dict]:  # type: ignore[no-untyped-def]
    fields = []
    for name, definition in EDITABLE.get(kind, {}).items():
        fields.append(
            {
                "name": name,
                "label": definition.label,
                "value": operations.get_value(db.session, kind, record, name),
            }
        )
    if kind == "contract":
        for holder in record.holders:
            list_name = "titulaires" if holder.role == "holder" else "sousTraitants"
            name = f"{list_name}[{holder.position}].id"
            if HOLDER_FIELD.match(name):
                label = (
                    "Titulaire" if holder.role == "holder" else "Sous-traitant"
                ) + f" n° {holder.position + 1}"
                fields.append(
                    {
                        "name": name,
                        "label": f"{label} ({holder.id_type or 'identifiant'})",
                        "value": holder.identifier,
                    }
                )
    return fields


@login_required
def record_page(kind: str, record_id: int):  # type: ignore[no-untyped-def]
    record = load_scoped(db.session, kind, record_id, current_user)
    anomalies = queries.record_anomalies(db.session, kind, record_id)
    failing = {a.field for a in anomalies if a.is_active}
    matrix = queries.matrix_entry_for(db.session, record) if kind == "purchase_line" else None
    corrections = queries.record_corrections(db.session, kind, record_id)
    return render_template(
        "review/record.html",
        kind=kind,
        kind_label=RECORD_KIND_LABELS[kind],
        record=record,
        label=record_label(kind, record),
        fields=_fields(kind, record),
        failing=failing,
        anomalies=anomalies,
        corrections=corrections,
        pending_reverts={
            c.reverts_id
            for c in corrections
            if c.status == CorrectionStatus.PENDING and c.reverts_id
        },
        field_label=labels.field_label,
        rule_title=labels.rule_title,
        shown_value=labels.shown_value,
        dismiss_reasons=DISMISS_REASONS,
        history=describe_all(record_history(db.session, kind, record_id), db.session),
        can_edit=operations.can_edit(db.session, current_user, kind, record),
        correction_form=CorrectionForm(),
        revert_form=RevertForm(),
        dismiss_form=DismissForm(),
        button_form=ButtonForm(),
        get_rule=get_rule,
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
        correction_status_labels=CORRECTION_STATUS_LABELS,
        correction_kind_labels=CORRECTION_KIND_LABELS,
        preset_field=request.args.get("champ"),
        preset_anomaly=request.args.get("anomalie", type=int),
        matrix=matrix,
        report_form=MatrixReportForm(),
    )


@login_required
def correct(kind: str, record_id: int):  # type: ignore[no-untyped-def]
    record = load_scoped(db.session, kind, record_id, current_user)
    form = CorrectionForm()
    page = url_for("review.record", kind=kind, record_id=record_id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
        return redirect(page)
    base_version = _hidden_int(form.base_version.data)
    anomaly_id = _hidden_int(form.anomaly_id.data)
    correction = commit_or_flash(
        lambda: operations.propose_correction(
            db.session,
            current_user,
            kind,
            record.id,
            form.field.data,
            form.value.data,
            form.reason.data,
            base_version=base_version,
            anomaly_id=anomaly_id,
        )
    )
    if correction is FAILED:
        return redirect(page)
    if correction.status == CorrectionStatus.APPLIED:
        flash("Correction appliquée.", "success")
    else:
        flash(
            "Correction proposée : elle sera appliquée après validation par le service juridique.",
            "info",
        )
    return _back(page)


def _load_correction(correction_id: int) -> tuple[Correction, object]:
    correction = db.get_or_404(Correction, correction_id)
    record = load_scoped(db.session, correction.record_kind, correction.record_id, current_user)
    return correction, record


@login_required
def revert(correction_id: int):  # type: ignore[no-untyped-def]
    correction, record = _load_correction(correction_id)
    page = url_for("review.record", kind=correction.record_kind, record_id=correction.record_id)
    form = RevertForm()
    if not form.validate_on_submit():
        flash("Indiquez la raison de l'annulation.", "danger")
        return redirect(page)
    new = commit_or_flash(
        lambda: operations.revert_correction(db.session, current_user, correction, form.reason.data)
    )
    if new is FAILED:
        return redirect(page)
    flash(
        "Correction annulée."
        if new.status == CorrectionStatus.APPLIED
        else "Annulation proposée au service juridique.",
        "success",
    )
    return redirect(page)


@roles_required("legal", "admin")
def approvals():  # type: ignore[no-untyped-def]
    """« À valider »: one list, filtered, oldest first, with select-all and bulk decisions."""
    page, per_page = page_number(), page_size()
    filt = proposals.ApprovalFilter.from_args(request.args)
    corrections, total = proposals.pending_page(db.session, current_user, filt, page, per_page)
    return render_template(
        "review/approvals.html",
        corrections=corrections,
        total=total,
        listing=Page.of(corrections, total, page, per_page),
        filt=filt,
        facets=proposals.pending_facets(db.session, current_user),
        names=proposals.record_names(db.session, corrections),
        kind_labels=RECORD_KIND_LABELS,
        form=DecisionForm(),
        field_label=labels.field_label,
        rule_title=labels.rule_title,
        shown_value=labels.shown_value,
        dismiss_reasons=DISMISS_REASONS,
        decidable=len(proposals.decidable_ids(db.session, current_user, filt))
        if current_user.role == "legal"
        else 0,
    )


@login_required
def my_proposals():  # type: ignore[no-untyped-def]
    """« Mes propositions »: status, decider, date and comment of each of the user's proposals.

    Reading the page marks the decisions as seen (the navigation badge goes back to zero).
    """
    view = request.args.get("vue") or "decisions"
    page, per_page = page_number(), page_size()
    last_seen = proposals.seen_at(db.session, current_user)
    corrections, total = proposals.my_proposals(db.session, current_user, view, page, per_page)
    html = render_template(
        "review/my_proposals.html",
        corrections=corrections,
        total=total,
        listing=Page.of(corrections, total, page, per_page),
        view=view if view in proposals.MINE_VIEWS else "decisions",
        views=proposals.MINE_VIEWS,
        last_seen=last_seen,
        names=proposals.record_names(db.session, corrections),
        kind_labels=RECORD_KIND_LABELS,
        status_labels=CORRECTION_STATUS_LABELS,
        correction_kind_labels=CORRECTION_KIND_LABELS,
        field_label=labels.field_label,
        rule_title=labels.rule_title,
        shown_value=labels.shown_value,
        dismiss_reasons=DISMISS_REASONS,
    )
    commit(lambda: proposals.mark_seen(db.session, current_user))
    return html


def _decision_message(correction: Correction) -> tuple[str, str]:
    if correction.status == CorrectionStatus.CONFLICT:
        return (
            "L'enregistrement a changé depuis la proposition : elle est marquée en conflit et "
            "n'a pas été appliquée.",
            "warning",
        )
    if correction.status == CorrectionStatus.APPLIED:
        return "Proposition validée et appliquée.", "success"
    return "Proposition refusée.", "info"


@roles_required("legal")
def decide(correction_id: int):  # type: ignore[no-untyped-def]
    correction = db.get_or_404(Correction, correction_id)
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        abort(400)
    approve = form.decision.data == "approve"
    outcome = commit_or_flash(
        lambda: operations.decide(db.session, current_user, correction, approve, form.comment.data),
        refusal_as_message=True,
    )
    if outcome is FAILED:
        return redirect(url_for("review.approvals"))
    flash(*_decision_message(correction))
    return _back(url_for("review.approvals"))


@roles_required("legal")
def decide_many():  # type: ignore[no-untyped-def]
    """Bulk decision on the ticked proposals, or on every proposal matching the filters."""
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        abort(400)
    filt = proposals.ApprovalFilter.from_args(request.form)
    back = url_for("review.approvals", **filt.as_args())
    if request.form.get("tout") == "1":
        ids = proposals.decidable_ids(db.session, current_user, filt)
    else:
        ids = [i for i in (_hidden_int(v) for v in request.form.getlist("ids")) if i is not None]
    if not ids:
        flash("Aucune proposition sélectionnée.", "warning")
        return redirect(back)
    approve = form.decision.data == "approve"
    outcomes = commit_or_flash(
        lambda: proposals.decide_selection(
            db.session, current_user, ids, approve, form.comment.data
        ),
        refusal_as_message=True,
    )
    if outcomes is FAILED:
        return redirect(back)
    verb = "validée(s)" if approve else "refusée(s)"
    total = sum(o.decided for o in outcomes)
    flash(f"{format_number(total)} proposition(s) {verb}.", "success")
    for outcome in outcomes:
        conflicts = f", dont {outcome.conflicts} en conflit" if outcome.conflicts else ""
        flash(f"{outcome.label} : {format_number(outcome.decided)}{conflicts}.", "info")
    return redirect(back)


def _load_anomaly(anomaly_id: int) -> Anomaly:
    """The anomaly if it is in one of the user's queues (same scope as the queue), else 404."""
    stmt = scope_anomalies(sa.select(Anomaly).where(Anomaly.id == anomaly_id), current_user)
    anomaly = db.session.scalar(stmt)
    if anomaly is None:
        abort(404)
    load_scoped(db.session, anomaly.record_kind, anomaly.record_id, current_user)
    if current_user.role not in (anomaly.owner_role, "admin"):
        abort(403)
    return anomaly


@login_required
def claim(anomaly_id: int):  # type: ignore[no-untyped-def]
    anomaly = _load_anomaly(anomaly_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if (
        commit_or_flash(lambda: operations.claim_anomaly(db.session, current_user, anomaly))
        is not FAILED
    ):
        flash("Anomalie prise en charge.", "success")
    return _back(url_for("review.record", kind=anomaly.record_kind, record_id=anomaly.record_id))


@login_required
def dismiss(anomaly_id: int):  # type: ignore[no-untyped-def]
    anomaly = _load_anomaly(anomaly_id)
    page = url_for("review.record", kind=anomaly.record_kind, record_id=anomaly.record_id)
    form = DismissForm()
    if not form.validate_on_submit():
        flash("Choisissez un motif et saisissez un commentaire.", "danger")
        return redirect(page)
    proposal = commit_or_flash(
        lambda: operations.dismiss_anomaly(
            db.session, current_user, anomaly, form.reason_code.data, form.comment.data
        )
    )
    if proposal is FAILED:
        return redirect(page)
    flash(
        "Anomalie écartée."
        if proposal is None
        else "Anomalie bloquante : la mise à l'écart attend la validation du service juridique.",
        "success",
    )
    return _back(page)


def _queue_spec(queue: str) -> dict[str, str]:
    spec = QUEUES.get(queue)
    if spec is None:
        abort(404)
    if current_user.role not in (spec["role"], "admin", "legal"):
        abort(403)
    return spec


#: The orders of the line view's « Tri » (the column headers give the same, ``ordre``): the
#: filter form keeps the one a header chose, and shows it.
LINE_SORTS = {
    "": "Plus anciennes d'abord",
    "-depuis": "Plus récentes d'abord",
    "regle": "Règle (A → Z)",
    "-regle": "Règle (Z → A)",
    "gravite": "Gravité : la plus grave d'abord",
    "-gravite": "Gravité : la moins grave d'abord",
    "etat": "État : les moins avancées d'abord",
    "-etat": "État : les plus avancées d'abord",
    "champ": "Champ (A → Z)",
    "-champ": "Champ (Z → A)",
    "valeur": "Valeur (A → Z)",
    "-valeur": "Valeur (Z → A)",
}


@login_required
def queue(queue: str):  # type: ignore[no-untyped-def]
    """A queue, line by line (sortable columns) or grouped (``vue=groupes``) with bulk actions."""
    spec = _queue_spec(queue)
    filt = queries.QueueFilter.from_args(request.args)
    page, per_page = page_number(), page_size()
    grouped = request.args.get("vue") == "groupes"
    sort = request.args.get("ordre") or None
    anomalies: list[Anomaly] = []
    found_groups: list[groups.AnomalyGroup] = []
    if grouped:
        found_groups, total = groups.grouped_queue(
            db.session,
            current_user,
            queue,
            filt,
            sort=sort or "nombre",
            page=page,
            per_page=per_page,
        )
    else:
        anomalies, total = queries.queue_page(
            db.session, current_user, queue, filt, page, per_page, sort=sort
        )
    sites = current_user.sites if current_user.role == "canteen" else []
    rules = {code: get_rule(code) for code in queries.queue_rule_codes(queue)}
    return render_template(
        "review/queue.html",
        queue=queue,
        spec=spec,
        anomalies=anomalies,
        groups=found_groups,
        grouped=grouped,
        sort=sort,
        group_sorts=groups.GROUP_SORTS,
        line_sorts=LINE_SORTS,
        total=total,
        listing=Page.keyset(
            found_groups or anomalies,
            total,
            page,
            per_page,
            queries.queue_cursor(anomalies[-1]) if anomalies else None,
        ),
        filt=filt,
        sites=sites,
        rules=rules,
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
        kind_labels=RECORD_KIND_LABELS,
        record_labels=queries.record_labels(db.session, anomalies),
        field_label=labels.field_label,
        rule_title=labels.rule_title,
        can_act=current_user.role in (spec["role"], "admin"),
        dismiss_form=DismissForm(),
        matrix_fields=bulk.MATRIX_FIELDS,
    )


@login_required
def queue_bulk(queue: str):  # type: ignore[no-untyped-def]
    """One bulk action on the ticked groups of a queue: claim, dismiss, accept the matrix."""
    spec = _queue_spec(queue)
    if current_user.role not in (spec["role"], "admin"):
        abort(403)
    form = DismissForm()
    if not ButtonForm().validate_on_submit():
        abort(400)
    filt = queries.QueueFilter.from_args(request.form)
    back = request.form.get("next")
    back = back if is_safe_next(back) else url_for("review.queue", queue=queue, vue="groupes")
    tokens = request.form.getlist("groupes")
    found = groups.group_anomalies(db.session, current_user, queue, filt, tokens)
    if not found:
        flash("Aucun groupe sélectionné (ou plus rien à traiter dans ces groupes).", "warning")
        return redirect(back)
    action = request.form.get("action")
    if action == "claim":
        run = lambda: bulk.claim_all(db.session, current_user, found)  # noqa: E731
        verb = "prise(s) en charge"
    elif action == "dismiss":
        run = lambda: bulk.dismiss_all(  # noqa: E731
            db.session, current_user, found, form.reason_code.data, form.comment.data or ""
        )
        verb = "écartée(s)"
    elif action == "matrix":
        run = lambda: bulk.accept_matrix_all(db.session, current_user, found)  # noqa: E731
        verb = "corrigée(s) avec la valeur de la matrice"
    else:
        abort(400)
    result = commit_or_flash(run)
    if result is FAILED:
        return redirect(back)
    message = f"{format_number(result.done)} anomalie(s) {verb}"
    if result.proposed:
        message += f", dont {format_number(result.proposed)} en attente de validation juridique"
    flash(message + ".", "success" if result.done else "warning")
    for reason, count in sorted(result.reasons.items()):
        flash(f"{format_number(count)} non traitée(s) : {reason}", "info")
    return redirect(back)


@login_required
def report_matrix(record_id: int):  # type: ignore[no-untyped-def]
    line = load_scoped(db.session, "purchase_line", record_id, current_user)
    page = url_for("review.record", kind="purchase_line", record_id=record_id)
    form = MatrixReportForm()
    if not form.validate_on_submit():
        flash("Expliquez en quoi la matrice est erronée.", "danger")
        return redirect(page)
    reported = commit_or_flash(
        lambda: operations.report_matrix(
            db.session, current_user, line, form.field.data, form.comment.data
        )
    )
    if reported is FAILED:
        return redirect(page)
    flash("Signalement transmis à la direction (file « Fournisseurs »).", "success")
    return redirect(page)
