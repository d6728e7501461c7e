"""Thin handlers: upload a file, show a batch and its report, download the report as CSV."""

from __future__ import annotations

import os
import tempfile

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from workbench.auth.models import Role
from workbench.core.edge import commit
from workbench.core.pagination import Page, page_number, page_size, paginate
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.imports import queries
from workbench.imports.forms import UploadForm
from workbench.imports.labels import format_label
from workbench.imports.operations import KIND_LABELS, STATUS_LABELS, import_file
from workbench.jobs.operations import enqueue, import_in_background


def _form() -> UploadForm:
    form = UploadForm()
    # accounts are imported from the command line, which shows their generated passwords once
    form.kind.choices = [c for c in form.kind.choices if c[0] != "users"]
    if current_user.role != Role.ADMIN:
        form.kind.choices = [("purchases", KIND_LABELS["purchases"])]
        form.file_format.choices = [
            c for c in form.file_format.choices if c[0] in ("", "canonique", "macantine")
        ]
    sites = queries.importable_sites(db.session, current_user)
    form.site.choices = [("", "—")] + [(s.uai, f"{s.uai} — {s.name}") for s in sites]
    return form


@roles_required(Role.ADMIN, Role.CANTEEN)
def index():  # type: ignore[no-untyped-def]
    form = _form()
    if form.validate_on_submit():
        upload = form.file.data
        suffix = os.path.splitext(upload.filename or "")[1][:10]
        handle, path = tempfile.mkstemp(prefix="workbench-import-", suffix=suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                upload.save(out)
            if os.path.getsize(path) >= current_app.config["JOBS_IMPORT_MIN_MB"] * 1024 * 1024:
                job = commit(
                    lambda: import_in_background(
                        db.session,
                        current_app.instance_path,
                        path,
                        suffix,
                        user=current_user,
                        kind=form.kind.data,
                        file_name=os.path.basename(upload.filename or "fichier"),
                        site_uai=form.site.data or None,
                        dry_run=form.dry_run.data,
                        partial=form.partial.data,
                        file_format=form.file_format.data or None,
                    )
                )
                enqueue(job)
                return redirect(url_for("jobs.job", job_id=job.id))
            result = commit(
                lambda: import_file(
                    db.session,
                    form.kind.data,
                    path,
                    file_name=os.path.basename(upload.filename or "fichier"),
                    user=current_user,
                    site_uai=form.site.data or None,
                    dry_run=form.dry_run.data,
                    partial=form.partial.data,
                    file_format=form.file_format.data or None,
                    chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
                )
            )
        finally:
            if os.path.exists(path):
                os.unlink(path)
        category = {"applied": "success", "rejected": "danger"}.get(result.status, "info")
        flash(result.message, category)
        if result.batch is not None:
            return redirect(url_for("imports.batch", batch_id=result.batch.id))
        return redirect(url_for("imports.index"))
    listing = paginate(db.session, queries.batches_statement(current_user))
    return render_template(
        "imports/index.html",
        form=form,
        batches=listing.items,
        listing=listing,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        max_mb=current_app.config["MAX_UPLOAD_MB"],
    )


@roles_required(Role.ADMIN, Role.CANTEEN)
def batch(batch_id: int):  # type: ignore[no-untyped-def]
    found = queries.get_batch(db.session, current_user, batch_id)
    if found is None:
        abort(404)
    problems = found.report or []
    listing = Page.from_list(problems, page_number(), page_size())
    return render_template(
        "imports/batch.html",
        batch=found,
        problems=listing.items,
        listing=listing,
        total_problems=len(problems),
        errors=sum(1 for p in problems if p.get("level") == "error"),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        format_label=format_label,
    )


@roles_required(Role.ADMIN, Role.CANTEEN)
def report_csv(batch_id: int):  # type: ignore[no-untyped-def]
    found = queries.get_batch(db.session, current_user, batch_id)
    if found is None:
        abort(404)
    return Response(
        queries.report_csv(found.report or []),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rapport-import-{found.id}.csv"'},
    )
