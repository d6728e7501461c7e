"""Thin handlers of the "Articles à rattacher" queue: the page, one decision, a refusal, search."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from workbench.core.edge import FAILED, commit_or_flash
from workbench.core.errors import ValidationError
from workbench.core.formatting import format_number
from workbench.core.pagination import Page
from workbench.core.permissions import roles_required
from workbench.core.security import is_safe_next
from workbench.extensions import db
from workbench.matching import operations, queries
from workbench.matching.forms import MapForm, RejectForm
from workbench.reference.models import FAMILIES, LABELS, Site
from workbench.review.forms import ButtonForm
from workbench.review.groups import INVALID_CODE_RULE, invalid_code_lines
from workbench.review.proposals import decided_today
from workbench.rules.models import STATUS_LABELS

ROLES = ("canteen", "admin")
#: Scores offered for « accepter la meilleure suggestion de chaque article ≥ S ».
BULK_THRESHOLDS = (100, 95, 90, 85, 80)
#: Groups looked at by one bulk accept (the current filters, in the page's order).
BULK_MAX_GROUPS = 100
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
    # the PAGE_SIZE setting, at most PER_PAGE cards (each carries its suggestions and forms)
    filt.per_page = max(1, min(int(current_app.config["PAGE_SIZE"]), queries.PER_PAGE))
    page = queries.group_page(db.session, current_user, filt)
    variants = page.variants
    invalid, invalid_total = invalid_code_lines(db.session, current_user)
    decisions, lines = decided_today(db.session, current_user, queries.RULE_CODE)
    last = operations.last_mapping(db.session, current_user)
    return render_template(
        "matching/articles.html",
        page=page,
        # the one pager, over clusters of groups
        listing=Page.of(page.groups, page.total_groups, page.page, page.per_page),
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
        variants=variants,
        progress={"decisions": decisions, "lines": lines, "remaining": page.total_groups},
        last_mapping=last,
        button_form=ButtonForm(),
        thresholds=BULK_THRESHOLDS,
    )


def _variants(group: str | None, site: str | None) -> list[str]:
    """The card's near variants: posted one by one, or (« variantes ») looked up again."""
    posted = [v for v in request.form.getlist("variant") if v][:50]
    if posted or not request.form.get("variantes") or not group:
        return posted
    if site and not site.isdigit():
        return []  # a forged lycée: the decision itself refuses it (« Lycée invalide. »)
    return queries.cluster_variants(
        db.session,
        current_user,
        group,
        int(site) if site else None,
        request.form.get("variantes") or "anciens",
    )


def _map_with_variants(form: MapForm, variants: list[str]):  # type: ignore[no-untyped-def]
    """One decision for a group and its near variants (each mapped like its own group)."""
    pairs = [(form.group.data, form.code.data)] + [(v, form.code.data) for v in variants]
    result = operations.map_groups(
        db.session, current_user, pairs, site_ids=_site_ids(form.site.data)
    )
    if not result.groups:
        raise ValidationError(result.refused[0][1] if result.refused else "Rien à rattacher.")
    return result


def _flash_variants(form: MapForm, result):  # type: ignore[no-untyped-def]
    flash(
        f"{format_number(result.lines)} ligne(s) de {result.groups} variante(s) rattachée(s) "
        f"au code {form.code.data}"
        + (" (en attente de validation)" if result.pending else "")
        + ".",
        "success",
    )
    return _back()


@roles_required(*ROLES)
def map_group():  # type: ignore[no-untyped-def]
    form = MapForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back()
    variants = _variants(form.group.data, form.site.data)
    if variants and not form.all_sites.data:
        result = commit_or_flash(
            lambda: _map_with_variants(form, variants), refusal_as_message=True
        )
        return _back() if result is FAILED else _flash_variants(form, result)
    result = commit_or_flash(
        lambda: operations.map_group(
            db.session,
            current_user,
            form.group.data,
            form.code.data,
            all_sites=bool(form.all_sites.data),
            site_ids=_site_ids(form.site.data),
        ),
        refusal_as_message=True,
    )
    if result is FAILED:
        return _back()
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

    def reject_all() -> None:
        for group in [form.group.data, *_variants(form.group.data, form.site.data)]:
            operations.reject_for_group(
                db.session,
                current_user,
                group,
                form.code.data,
                site_ids=_site_ids(form.site.data),
            )

    if commit_or_flash(reject_all, refusal_as_message=True) is FAILED:
        return _back()
    flash(
        f"Suggestion {form.code.data} refusée : elle ne sera plus proposée pour cet article.",
        "info",
    )
    return _back()


@roles_required(*ROLES)
def search():  # type: ignore[no-untyped-def]
    results = queries.search_nomenclature(db.session, request.args.get("q", ""))
    return jsonify({"query": request.args.get("q", ""), "results": results})


@roles_required(*ROLES)
def undo():  # type: ignore[no-untyped-def]
    """Undo the user's last group decision (its lines come back to the queue)."""
    if not ButtonForm().validate_on_submit():
        flash("Formulaire expiré : rechargez la page.", "danger")
        return _back()
    result = commit_or_flash(
        lambda: operations.undo_last_mapping(db.session, current_user), refusal_as_message=True
    )
    if result is FAILED:
        return _back()
    flash(
        f"Décision annulée : {format_number(result.count)} ligne(s) de nouveau à rattacher "
        f"(code {result.code} retiré).",
        "success",
    )
    return _back()


def _top_choices(filt: queries.GroupFilter, threshold: float) -> list[dict]:
    """The groups (current filters, first :data:`BULK_MAX_GROUPS`) whose best suggestion
    scores at least ``threshold``, with that suggestion."""
    filt.page, filt.per_page = 1, BULK_MAX_GROUPS
    page = queries.group_page(db.session, current_user, filt)
    choices = []
    for g in page.groups:
        best = max(g.suggestions, key=lambda s: s["score"], default=None)
        if best is not None and best["score"] >= threshold:
            choices.append({"group": g, "suggestion": best})
    return choices


def _threshold(raw: str | None) -> float:
    try:
        value = float(str(raw or "").replace(",", "."))
    except ValueError:
        raise ValidationError("Seuil invalide : un score entre 50 et 100.") from None
    if not 50 <= value <= 100:
        raise ValidationError("Seuil invalide : un score entre 50 et 100.")
    return value


@roles_required(*ROLES)
def bulk_preview():  # type: ignore[no-untyped-def]
    """What « accepter la meilleure suggestion ≥ S » would map, before one confirmation."""
    filt = queries.GroupFilter.from_args(request.args)
    try:
        threshold = _threshold(request.args.get("seuil"))
    except ValidationError as error:
        flash(error.message, "danger")
        return redirect(url_for("matching.articles"))
    choices = _top_choices(filt, threshold)
    return render_template(
        "matching/bulk.html",
        choices=choices,
        threshold=threshold,
        filt=filt,
        lines=sum(c["group"].line_count for c in choices),
        max_groups=BULK_MAX_GROUPS,
        form=ButtonForm(),
        families=FAMILIES,
    )


@roles_required(*ROLES)
def bulk_accept():  # type: ignore[no-untyped-def]
    """Map every confirmed (group, code) pair of the preview (one commit)."""
    if not ButtonForm().validate_on_submit():
        flash("Formulaire expiré : rechargez la page.", "danger")
        return redirect(url_for("matching.articles"))
    pairs = []
    for raw in request.form.getlist("choix"):
        code, sep, group = raw.partition("@")
        if sep and code and group:
            pairs.append((group, code))
    if not pairs:
        flash("Aucun article sélectionné.", "warning")
        return redirect(url_for("matching.articles"))
    result = commit_or_flash(
        lambda: operations.map_groups(
            db.session, current_user, pairs, site_ids=_site_ids(request.form.get("site"))
        ),
        refusal_as_message=True,
    )
    if result is FAILED:
        return redirect(url_for("matching.articles"))
    flash(
        f"{format_number(result.groups)} article(s) rattaché(s) : "
        f"{format_number(result.lines)} ligne(s)"
        + (
            f", dont {format_number(result.pending)} en attente de validation"
            if result.pending
            else ""
        )
        + ".",
        "success",
    )
    if result.refused:
        flash(
            f"{len(result.refused)} article(s) non rattaché(s) : {result.refused[0][1]}", "warning"
        )
    return redirect(url_for("matching.articles"))
