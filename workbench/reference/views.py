"""Thin handlers of the reference pages: list, create and edit directions and sites."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from workbench.core.edge import FAILED, commit_or_flash
from workbench.core.pagination import page_size, paginate
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.reference import nomenclature as governance
from workbench.reference import operations
from workbench.reference.forms import (
    ApproveForm,
    DirectionForm,
    MergeForm,
    ProposalForm,
    RefuseForm,
    SiteForm,
)
from workbench.reference.models import (
    FAMILIES,
    Direction,
    NomenclatureItem,
    NomenclatureProposal,
    Site,
)


@roles_required("admin")
def direction_list():  # type: ignore[no-untyped-def]
    listing = paginate(db.session, sa.select(Direction).order_by(Direction.code))
    counts = dict(
        db.session.execute(
            sa.select(Site.direction_code, sa.func.count(Site.id)).group_by(Site.direction_code)
        ).all()
    )
    return render_template(
        "reference/directions.html", directions=listing.items, listing=listing, counts=counts
    )


@roles_required("admin")
def direction_edit(code: str | None = None):  # type: ignore[no-untyped-def]
    direction = db.session.get(Direction, code) if code is not None else None
    if code is not None and direction is None:
        abort(404)
    form = DirectionForm()
    if request.method == "GET" and direction is not None:
        form.code.data, form.name.data = direction.code, direction.name
        form.cpv_divisions.data = direction.cpv_divisions
    if form.validate_on_submit():
        saved = commit_or_flash(
            lambda: operations.save_direction(
                db.session,
                direction,
                code=form.code.data,
                name=form.name.data,
                cpv_divisions=form.cpv_divisions.data or "",
            )
        )
        if saved is FAILED:
            return render_template(
                "reference/direction_edit.html", form=form, direction=direction
            ), 400
        flash(f"Direction {saved.code} enregistrée.", "success")
        return redirect(url_for("reference.directions"))
    return render_template("reference/direction_edit.html", form=form, direction=direction)


@roles_required("admin")
def site_list():  # type: ignore[no-untyped-def]
    listing = paginate(db.session, sa.select(Site).order_by(Site.uai))
    return render_template("reference/sites.html", sites=listing.items, listing=listing)


@roles_required("admin")
def site_edit(site_id: int | None = None):  # type: ignore[no-untyped-def]
    site = db.get_or_404(Site, site_id) if site_id is not None else None
    form = SiteForm()
    directions = db.session.scalars(sa.select(Direction).order_by(Direction.code)).all()
    form.direction_code.choices = [("", "—")] + [
        (d.code, f"{d.code} — {d.name}") for d in directions
    ]
    if request.method == "GET" and site is not None:
        form.uai.data, form.name.data, form.kind.data = site.uai, site.name, site.kind
        form.commune.data, form.department.data = site.commune, site.department
        form.direction_code.data, form.siret.data = site.direction_code or "", site.siret
    if form.validate_on_submit():
        saved = commit_or_flash(
            lambda: operations.save_site(
                db.session,
                site,
                uai=form.uai.data,
                name=form.name.data,
                kind=form.kind.data or "lycee",
                commune=form.commune.data,
                department=form.department.data,
                direction_code=form.direction_code.data or None,
                siret=form.siret.data,
            )
        )
        if saved is FAILED:
            return render_template("reference/site_edit.html", form=form, site=site), 400
        flash(f"Site {saved.uai} enregistré.", "success")
        return redirect(url_for("reference.sites"))
    return render_template("reference/site_edit.html", form=form, site=site)


# -- nomenclature governance ----------------------------------------------------------------
def _refused():  # type: ignore[no-untyped-def]
    return redirect(url_for("reference.nomenclature"))


@roles_required("canteen", "admin")
def propose():  # type: ignore[no-untyped-def]
    form = ProposalForm()
    if request.method == "GET":
        form.label.data = form.label.data or request.args.get("label", "")[:300]
        form.group.data = request.args.get("group", "")[:600]
        if request.args.get("family") in FAMILIES:
            form.family.data = request.args["family"]
    if form.validate_on_submit():
        proposed = commit_or_flash(
            lambda: governance.propose_item(
                db.session,
                current_user,
                label=form.label.data,
                family=form.family.data,
                parent_code=form.parent_code.data,
                comment=form.comment.data or "",
                group_key=form.group.data or None,
            )
        )
        if proposed is FAILED:
            return render_template("reference/propose.html", form=form), 400
        flash(
            "Proposition envoyée à l'administration de la nomenclature. Une fois l'article "
            "créé, rattachez-y vos lignes.",
            "success",
        )
        return redirect(url_for("matching.articles"))
    return render_template("reference/propose.html", form=form)


@roles_required("admin")
def nomenclature():  # type: ignore[no-untyped-def]
    query = (request.args.get("q") or "").strip()
    statement = sa.select(NomenclatureItem).order_by(NomenclatureItem.code)
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            sa.or_(NomenclatureItem.code.ilike(pattern), NomenclatureItem.label.ilike(pattern))
        )
    proposals = db.session.scalars(
        sa.select(NomenclatureProposal)
        .where(NomenclatureProposal.status == "proposed")
        .order_by(NomenclatureProposal.id)
    ).all()
    decided = db.session.scalars(
        sa.select(NomenclatureProposal)
        .where(NomenclatureProposal.status != "proposed")
        .order_by(NomenclatureProposal.id.desc())
        .limit(page_size())
    ).all()
    listing = paginate(db.session, statement)
    approve_forms = {}
    for p in proposals:
        approve = ApproveForm(prefix=f"p{p.id}")
        approve.label.data, approve.family.data = p.label, p.family
        approve.parent_code.data = p.parent_code
        approve_forms[p.id] = approve
    return render_template(
        "reference/nomenclature.html",
        items=listing.items,
        listing=listing,
        query=query,
        proposals=proposals,
        decided=decided,
        approve_forms=approve_forms,
        refuse_form=RefuseForm(),
        merge_form=MergeForm(),
        families=FAMILIES,
    )


def _proposal(proposal_id: int) -> NomenclatureProposal:
    return db.get_or_404(NomenclatureProposal, proposal_id)


def _active_item(code: str) -> NomenclatureItem:
    item = db.session.scalar(sa.select(NomenclatureItem).where(NomenclatureItem.code == code))
    if item is None:
        abort(404)
    return item


@roles_required("admin")
def approve(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _proposal(proposal_id)
    form = ApproveForm(prefix=f"p{proposal.id}")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
        return redirect(url_for("reference.nomenclature"))
    item = commit_or_flash(
        lambda: governance.approve_proposal(
            db.session,
            proposal,
            current_user,
            code=form.code.data,
            label=form.label.data,
            family=form.family.data,
            parent_code=form.parent_code.data or None,
        )
    )
    if item is FAILED:
        return _refused()
    flash(f"Article {item.code} créé dans la nomenclature.", "success")
    return redirect(url_for("reference.nomenclature"))


@roles_required("admin")
def refuse(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _proposal(proposal_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash("Indiquez le motif du refus.", "danger")
        return redirect(url_for("reference.nomenclature"))
    refused = commit_or_flash(
        lambda: governance.refuse_proposal(
            db.session, proposal, current_user, reason=form.reason.data
        )
    )
    if refused is FAILED:
        return _refused()
    flash("Proposition refusée.", "info")
    return redirect(url_for("reference.nomenclature"))


@roles_required("admin")
def retire(code: str):  # type: ignore[no-untyped-def]
    item = _active_item(code)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if commit_or_flash(lambda: governance.retire_item(db.session, item)) is FAILED:
        return _refused()
    flash(f"Article {code} retiré : ses lignes sont signalées pour être rattachées.", "success")
    return redirect(url_for("reference.nomenclature"))


@roles_required("admin")
def merge(code: str):  # type: ignore[no-untyped-def]
    item = _active_item(code)
    form = MergeForm()
    if not form.validate_on_submit():
        abort(400)
    target = db.session.scalar(
        sa.select(NomenclatureItem).where(NomenclatureItem.code == form.target.data.strip())
    )
    if target is None:
        flash(f"Code cible inconnu : {form.target.data}.", "danger")
        return redirect(url_for("reference.nomenclature"))
    count = commit_or_flash(lambda: governance.merge_item(db.session, item, target))
    if count is FAILED:
        return _refused()
    flash(f"Article {code} fusionné dans {target.code} : {count} ligne(s) rattachée(s).", "success")
    return redirect(url_for("reference.nomenclature"))
