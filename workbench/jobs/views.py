"""Thin handlers of the jobs pages (the job page polls ``etat.json`` with static/jobs.js)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from workbench.core.edge import commit, end_read
from workbench.core.pagination import paginate
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.jobs import operations
from workbench.jobs.models import Job

ALL_ROLES = ("admin", "canteen", "direction", "legal", "viewer")


def _visible(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not job.can_see(current_user):
        abort(404)
    return job


@roles_required(*ALL_ROLES)
def index():  # type: ignore[no-untyped-def]
    statement = sa.select(Job).order_by(Job.id.desc())
    if current_user.role != "admin":
        statement = statement.where(Job.created_by_id == current_user.id)
    listing = paginate(db.session, statement)
    return render_template("jobs/index.html", jobs=listing.items, listing=listing, form=FlaskForm())


@roles_required("admin")
def run_rules():  # type: ignore[no-untyped-def]
    if not FlaskForm().validate_on_submit():
        abort(400)
    job = commit(
        lambda: operations.create_job(
            db.session, "rules", "Contrôle complet des règles", {}, current_user
        )
    )
    operations.enqueue(job)
    return redirect(url_for("jobs.job", job_id=job.id))


@roles_required(*ALL_ROLES)
def job(job_id: int):  # type: ignore[no-untyped-def]
    found = _visible(job_id)
    return render_template(
        "jobs/job.html", job=found, state=operations.status_payload(found), form=FlaskForm()
    )


@roles_required(*ALL_ROLES)
def status(job_id: int):  # type: ignore[no-untyped-def]
    found = _visible(job_id)
    payload = operations.status_payload(found)
    batch_id = payload["result"].get("batch_id")
    payload["batch_url"] = url_for("imports.batch", batch_id=batch_id) if batch_id else None
    end_read()
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


@roles_required(*ALL_ROLES)
def cancel(job_id: int):  # type: ignore[no-untyped-def]
    found = _visible(job_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if found.is_finished:
        flash("Ce travail est déjà terminé.", "info")
    else:
        # only the queue's flag is written here: the job may hold the database (SQLite)
        operations.request_cancel(found)
        flash("Annulation demandée : le travail s'arrête à sa prochaine étape.", "info")
    return redirect(url_for("jobs.job", job_id=found.id))
