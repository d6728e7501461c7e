"""The Huey task that runs a job, and what each kind of job does."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from flask import has_app_context
from sqlalchemy.orm import Session

from workbench.db import utcnow
from workbench.jobs import operations
from workbench.jobs.models import Job, JobStatus
from workbench.jobs.queue import application, huey

logger = logging.getLogger(__name__)


def _import(session: Session, job: Job) -> tuple[str, dict[str, Any]]:
    """An import: pass 1 and 2 and the rules' re-check run in one call, then commit or not."""
    from flask import current_app

    from workbench.auth.models import User
    from workbench.imports.operations import import_file

    params = job.params
    user = session.get(User, job.created_by_id) if job.created_by_id else None
    operations.set_progress(job, 1, 3, "Lecture, contrôle et écriture du fichier")
    try:
        result = import_file(
            session,
            params["kind"],
            params["path"],
            file_name=params["file_name"],
            user=user,
            site_uai=params.get("site_uai"),
            dry_run=bool(params.get("dry_run")),
            partial=bool(params.get("partial")),
            file_format=params.get("file_format"),
            chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
        )
    finally:
        if os.path.exists(params["path"]):
            os.unlink(params["path"])
    operations.set_progress(job, 2, 3, "Enregistrement")
    operations.check_cancel(job)
    batch = result.batch or result.previous
    return result.message, {"status": result.status, "batch_id": batch.id if batch else None}


def _rules(session: Session, job: Job) -> tuple[str, dict[str, Any]]:
    """A full rule run, one record kind at a time (the progress counts the kinds)."""
    from workbench.rules.models import RECORD_KINDS
    from workbench.rules.operations import run_rules

    totals = {"opened": 0, "closed": 0, "failing": 0}
    kinds = list(RECORD_KINDS)
    for position, kind in enumerate(kinds):
        operations.check_cancel(job)
        operations.set_progress(job, position, len(kinds), f"Règles des enregistrements {kind}")
        result = run_rules(session, record_kind=kind)
        for name in totals:
            totals[name] += result.total(name)
    operations.set_progress(job, len(kinds), len(kinds), "Enregistrement")
    operations.check_cancel(job)
    message = (
        f"Règles exécutées : {totals['failing']} en échec, {totals['opened']} anomalie(s) "
        f"ouverte(s), {totals['closed']} fermée(s)."
    )
    return message, totals


HANDLERS: dict[str, Callable[[Session, Job], tuple[str, dict[str, Any]]]] = {
    "import": _import,
    "rules": _rules,
}


def execute(job_id: int) -> str:
    """Run job ``job_id`` in the current application context; returns its final status."""
    from workbench.audit.operations import Actor, acting_as, record
    from workbench.extensions import db

    session = db.session
    job = session.get(Job, job_id)
    if job is None:
        logger.warning("Job %s vanished before it ran", job_id)
        return "missing"
    if operations.cancel_requested(job):
        operations.finish(job, JobStatus.CANCELLED, "Annulé avant son démarrage.")
        session.commit()
        return job.status
    job.status, job.started_at = JobStatus.RUNNING, utcnow()
    session.commit()
    user = job.created_by
    actor = Actor.of(user) if user is not None else Actor(email="travail en arrière-plan")
    try:
        with acting_as(actor):
            message, result = HANDLERS[job.kind](session, job)
            job = session.get(Job, job_id)
            operations.finish(job, JobStatus.DONE, message, result)
            session.commit()
    except operations.JobCancelled:
        session.rollback()
        job = session.get(Job, job_id)
        with acting_as(actor):
            operations.finish(job, JobStatus.CANCELLED, "Annulé : rien n'a été enregistré.")
            record(
                session, "job.cancel", target_kind="job", target_id=job.id, target_label=job.label
            )
        session.commit()
    except Exception as error:
        session.rollback()
        logger.exception("Job %s (%s) failed", job_id, job.kind)
        job = session.get(Job, job_id)
        operations.finish(job, JobStatus.FAILED, f"Échec : {error}"[:1000])
        session.commit()
    return job.status


@huey.task(name="workbench.run_job")
def run_job(job_id: int) -> str:
    if has_app_context():  # immediate mode: the caller's application
        return execute(job_id)
    with application().app_context():
        try:
            return execute(job_id)
        finally:
            from workbench.extensions import db

            db.session.remove()
