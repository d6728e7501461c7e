"""Jobs: create, enqueue, report progress, cancel (operations flush; callers commit)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from workbench.db import utcnow
from workbench.jobs.models import Job, JobStatus
from workbench.jobs.queue import huey


class JobCancelled(Exception):
    """Raised inside a job when its cancellation was asked for: its transaction rolls back."""


def _key(job: Job, what: str) -> str:
    """The queue-storage key of a job's live state (unique even if an id were reused)."""
    return f"workbench-job-{job.params.get('queue_key') or job.id}-{what}"


def create_job(
    session: Session, kind: str, label: str, params: dict[str, Any], user: Any = None
) -> Job:
    job = Job(
        kind=kind,
        label=label[:300],
        params={**params, "queue_key": uuid.uuid4().hex},
        status=JobStatus.QUEUED,
        created_by_id=getattr(user, "id", None),
    )
    session.add(job)
    session.flush()
    set_progress(job, 0, None, "En attente d'un processus de travail")
    return job


def stage_upload(instance_path: str, source: Path | str, suffix: str) -> str:
    """Move an uploaded file where the worker will find it (``instance/jobs/``)."""
    folder = Path(instance_path) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    shutil.move(str(source), target)
    return str(target)


def import_in_background(
    session: Session,
    instance_path: str,
    path: str,
    suffix: str,
    *,
    user: Any,
    kind: str,
    file_name: str,
    **options: Any,
) -> Job:
    """A job importing the uploaded file at ``path`` (moved under ``instance/jobs/``)."""
    staged = stage_upload(instance_path, path, suffix)
    params = {"kind": kind, "path": staged, "file_name": file_name, **options}
    return create_job(session, "import", f"Import {kind} : {file_name}", params, user)


def enqueue(job: Job) -> None:
    """Hand the job to the queue; call it after the commit that made the job visible."""
    from workbench.jobs.tasks import run_job

    run_job(job.id)


def set_progress(job: Job, done: int, total: int | None, step: str) -> None:
    huey.put(_key(job, "progress"), {"done": done, "total": total, "step": step})


def progress(job: Job) -> dict[str, Any]:
    return huey.get(_key(job, "progress"), peek=True) or {"done": 0, "total": None, "step": ""}


def request_cancel(job: Job) -> None:
    """Ask a job to stop: it checks the flag between its steps and rolls back its work."""
    huey.put(_key(job, "cancel"), True)


def cancel_requested(job: Job) -> bool:
    return bool(huey.get(_key(job, "cancel"), peek=True))


def check_cancel(job: Job) -> None:
    if cancel_requested(job):
        raise JobCancelled()


def finish(job: Job, status: str, message: str, result: dict[str, Any] | None = None) -> None:
    job.status, job.message, job.result = status, message[:1000], result
    job.finished_at = utcnow()
    huey.get(_key(job, "cancel"))  # consume the flag


def status_payload(job: Job) -> dict[str, Any]:
    """The small JSON the job page polls."""
    live = progress(job)
    done, total = live.get("done", 0), live.get("total")
    if job.status == JobStatus.DONE:
        done, total = (total or 1), (total or 1)
    percent = None if not total else round(100 * min(done, total) / total)
    return {
        "id": job.id,
        "status": job.status,
        "status_label": job.status_label,
        "step": live.get("step", "") if not job.is_finished else job.message,
        "done": done,
        "total": total,
        "percent": percent,
        "finished": job.is_finished,
        "cancel_requested": cancel_requested(job) and not job.is_finished,
        "result": job.result or {},
    }
