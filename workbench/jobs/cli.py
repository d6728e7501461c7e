"""``workbench worker`` and ``workbench jobs``: run the queue, follow and cancel jobs."""

from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from workbench.extensions import db
from workbench.jobs import operations
from workbench.jobs.models import Job


@click.command("worker")
@click.option("--workers", type=int, help="Nombre de fils de travail (réglage JOBS_WORKERS).")
@with_appcontext
def worker_command(workers: int | None) -> None:
    """Exécuter les travaux en arrière-plan (consommateur Huey; Ctrl-C pour arrêter)."""
    from workbench.jobs import tasks  # noqa: F401  (registers the task)
    from workbench.jobs.queue import huey

    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE est actif : les travaux s'exécutent sur place.")
    count = workers or current_app.config["JOBS_WORKERS"]
    huey.create_consumer(workers=count, worker_type="thread").run()


@click.group("jobs")
def jobs_group() -> None:
    """Travaux en arrière-plan : lister, suivre, annuler, lancer les règles."""


@jobs_group.command("list")
@with_appcontext
def list_command() -> None:
    """Les 50 derniers travaux."""
    for job in db.session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(50)):
        click.echo(f"{job.id}\t{job.kind}\t{job.status}\t{job.label}\t{job.message}")


def _follow(job_id: int, interval: float = 0.5) -> Job:
    """Show a progress bar until the job ends."""
    with click.progressbar(length=100, label=f"Travail n° {job_id}", show_percent=True) as bar:
        shown = 0
        while True:
            db.session.expire_all()
            job = db.session.get(Job, job_id)
            state = operations.status_payload(job)
            db.session.rollback()
            percent = state["percent"] or 0
            if percent > shown:
                bar.update(percent - shown)
                shown = percent
            if state["finished"]:
                bar.update(100 - shown)
                return job
            time.sleep(interval)


@jobs_group.command("watch")
@click.argument("job_id", type=int)
@with_appcontext
def watch_command(job_id: int) -> None:
    """Suivre le travail JOB_ID (barre de progression) jusqu'à sa fin; code 1 s'il échoue."""
    if db.session.get(Job, job_id) is None:
        raise click.ClickException(f"Aucun travail n° {job_id}.")
    job = _follow(job_id)
    click.echo(f"{job.status_label} : {job.message}")
    if job.status != "done":
        sys.exit(1)


@jobs_group.command("rules")
@click.option("--wait", is_flag=True, help="Attendre la fin en affichant la progression.")
@with_appcontext
def rules_command(wait: bool) -> None:
    """Lancer un contrôle complet des règles en arrière-plan."""
    job = operations.create_job(db.session, "rules", "Contrôle complet des règles", {})
    db.session.commit()
    operations.enqueue(job)
    click.echo(f"Travail n° {job.id} lancé.")
    if wait:
        finished = _follow(job.id)
        click.echo(f"{finished.status_label} : {finished.message}")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@with_appcontext
def cancel_command(job_id: int) -> None:
    """Demander l'annulation du travail JOB_ID (il s'arrête à sa prochaine étape)."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise click.ClickException(f"Aucun travail n° {job_id}.")
    if job.is_finished:
        raise click.ClickException(f"Le travail n° {job_id} est déjà terminé ({job.status_label}).")
    operations.request_cancel(job)
    click.echo(f"Annulation du travail n° {job_id} demandée.")


COMMANDS = [worker_command, jobs_group]
