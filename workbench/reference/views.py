"""Thin handlers of the reference pages: list, create and edit directions and sites."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for

from workbench.core.errors import ValidationError
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.reference import operations
from workbench.reference.forms import DirectionForm, SiteForm
from workbench.reference.models import Direction, Site


@roles_required("admin")
def direction_list():  # type: ignore[no-untyped-def]
    directions = db.session.scalars(sa.select(Direction).order_by(Direction.code)).all()
    counts = dict(
        db.session.execute(
            sa.select(Site.direction_code, sa.func.count(Site.id)).group_by(Site.direction_code)
        ).all()
    )
    return render_template("reference/directions.html", directions=directions, counts=counts)


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
        try:
            saved = operations.save_direction(
                db.session,
                direction,
                code=form.code.data,
                name=form.name.data,
                cpv_divisions=form.cpv_divisions.data or "",
            )
        except ValidationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return render_template(
                "reference/direction_edit.html", form=form, direction=direction
            ), 400
        db.session.commit()
        flash(f"Direction {saved.code} enregistrée.", "success")
        return redirect(url_for("reference.directions"))
    return render_template("reference/direction_edit.html", form=form, direction=direction)


@roles_required("admin")
def site_list():  # type: ignore[no-untyped-def]
    sites = db.session.scalars(sa.select(Site).order_by(Site.uai)).all()
    return render_template("reference/sites.html", sites=sites)


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
        try:
            saved = operations.save_site(
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
        except ValidationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return render_template("reference/site_edit.html", form=form, site=site), 400
        db.session.commit()
        flash(f"Site {saved.uai} enregistré.", "success")
        return redirect(url_for("reference.sites"))
    return render_template("reference/site_edit.html", form=form, site=site)
