"""The rule catalogue page (admin: settings; legal: read-only)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from workbench.core.edge import FAILED, commit_or_flash
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.rules.forms import settings_form
from workbench.rules.models import SEVERITY_LABELS
from workbench.rules.operations import effective_rule, effective_rules, update_rule_setting
from workbench.rules.queries import open_counts_by_rule
from workbench.rules.registry import APPROVAL_POLICIES, DOMAINS, QUEUES, SCOPE_LABELS


@roles_required("admin", "legal")
def catalogue():  # type: ignore[no-untyped-def]
    views = effective_rules(db.session)
    counts = open_counts_by_rule(db.session)
    forms = (
        {code: settings_form(view) for code, view in views.items()}
        if current_user.role == "admin"
        else {}
    )
    return render_template(
        "rules/catalogue.html",
        views=views,
        counts=counts,
        forms=forms,
        domains=DOMAINS,
        queues=QUEUES,
        severity_labels=SEVERITY_LABELS,
        policies=APPROVAL_POLICIES,
        scope_labels=SCOPE_LABELS,
    )


@roles_required("admin")
def update(code: str):  # type: ignore[no-untyped-def]
    view = effective_rule(db.session, code)
    form = settings_form(view, formdata=request.form)
    if not form.validate():
        flash(
            "Formulaire invalide : "
            + "; ".join(f"{k} : {', '.join(v)}" for k, v in form.errors.items()),
            "danger",
        )
        return redirect(url_for("rules.catalogue", _anchor=code))
    params = {p.name: form[f"param_{p.name}"].data for p in view.rule.params}
    result = commit_or_flash(
        lambda: update_rule_setting(
            db.session,
            code,
            enabled=form.enabled.data,
            approval_policy=form.approval_policy.data,
            params=params,
            user_id=current_user.id,
        ),
        refusal_as_message=True,
    )
    if result is FAILED:
        return redirect(url_for("rules.catalogue", _anchor=code))
    if result is None:
        flash(f"Règle {code} : aucun changement.", "info")
    else:
        count = result.counts[code]
        flash(
            f"Règle {code} enregistrée et relancée : {count.failing} en échec, {count.opened} ouvertes, "
            f"{count.reopened} rouvertes, {count.closed} fermées.",
            "success",
        )
    return redirect(url_for("rules.catalogue", _anchor=code))
