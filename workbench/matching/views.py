"""Thin handlers of the "Articles à rattacher" queue: the page, one decision, a refusal, search."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from workbench.core.errors import PermissionDenied, ValidationError
from workbench.core.formatting import format_number
from workbench.core.permissions import roles_required
from workbench.core.security import is_safe_next
from workbench.extensions import db
from workbench.matching import operations, queries
from workbench.matching.forms import MapForm, RejectForm
from workbench.reference.models import FAMILIES, LABELS, Site
from workbench.review.groups import INVALID_CODE_RULE, invalid_code_lines
from workbench.rules.models import STATUS_LABELS

ROLES = ("canteen", "admin")
#: Plural forms of the anomaly statuses (« 2 ouvertes », « 3 prises en charge »).
STATUS_PLURALS = {
    "open": "ouvertes",
    "claimed": "prises en charge",
    "proposed": "corrections proposées",
    "resolved": "résolues",
    "dismissed": "écartées",
}


def _sites() -> list[Site]:
    if current_user.role == "admin":
        return list(db.session.scalars(sa.select(Site).order_by(Site.name)))
    return sorted(current_user.sites, key=lambda s: s.name)


def _back():  # type: ignore[no-untyped-def]
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("matching.articles"))


def _site_ids(raw: str | None) -> list[int] | None:
    if not raw:
        return None
    try:
        return [int(raw)]
    except ValueError:
        raise ValidationError("Lycée invalide.") from None


def _flash_errors(form) -> None:  # type: ignore[no-untyped-def]
    for errors in form.errors.values():
        for error in errors:
            flash(error, "danger")


@roles_required(*ROLES)
def articles():  # type: ignore[no-untyped-def]
    filt = queries.GroupFilter.from_args(request.args)
    page = queries.group_page(db.session, current_user, filt)
    invalid, invalid_total = invalid_code_lines(db.session, current_user)
    return render_template(
        "matching/articles.html",
        page=page,
        invalid=invalid,
        invalid_total=invalid_total,
        filt=filt,
        sites=_sites(),
        sorts=queries.SORTS,
        families=FAMILIES,
        quality_labels=LABELS,
        status_labels=STATUS_LABELS,
        status_plurals=STATUS_PLURALS,
        is_admin=current_user.role == "admin",
        map_form=MapForm(),
        invalid_rule=INVALID_CODE_RULE,
    )


@roles_required(*ROLES)
def map_group():  # type: ignore[no-untyped-def]
    form = MapForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back()
    try:
        result = operations.map_group(
            db.session,
            current_user,
            form.group.data,
            form.code.data,
            all_sites=bool(form.all_sites.data),
            site_ids=_site_ids(form.site.data),
        )
    except (ValidationError, PermissionDenied) as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back()
    db.session.commit()
    lines = format_number(result.count)
    if result.is_pending:
        flash(
            f"{lines} ligne(s) : rattachement à « {result.label} » ({result.code}) proposé, "
            "en attente de validation.",
            "info",
        )
    else:
        flash(
            f"{lines} ligne(s) rattachée(s) à « {result.label} » ({result.code}).",
            "success",
        )
    return _back()


@roles_required(*ROLES)
def reject():  # type: ignore[no-untyped-def]
    form = RejectForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back()
    try:
        operations.reject_for_group(
            db.session,
            current_user,
            form.group.data,
            form.code.data,
            site_ids=_site_ids(form.site.data),
        )
    except (ValidationError, PermissionDenied) as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back()
    db.session.commit()
    flash(
        f"Suggestion {form.code.data} refusée : elle ne sera plus proposée pour cet article.",
        "info",
    )
    return _back()


@roles_required(*ROLES)
def search():  # type: ignore[no-untyped-def]
    results = queries.search_nomenclature(db.session, request.args.get("q", ""))
    return jsonify({"query": request.args.get("q", ""), "results": results})
