"""Background jobs: large uploads and full rule runs as Huey jobs, progress, cancellation."""

from __future__ import annotations

import io
import time

import pytest
import sqlalchemy as sa

from workbench.audit.models import AuditEntry
from workbench.audit.operations import record
from workbench.jobs import operations, tasks
from workbench.jobs.models import Job
from workbench.records.models import PurchaseLine

UAI = "0350001A"
HEADER = "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht"


def _csv(count: int) -> str:
    rows = [f"{UAI};02/03/2026;;F;R{i};Article {i};1;kg;2" for i in range(count)]
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.fixture
def background_threshold(app):
    """Every upload goes to a job (threshold 0 MB) during the test."""
    previous = app.config["JOBS_IMPORT_MIN_MB"]
    app.config["JOBS_IMPORT_MIN_MB"] = 0
    yield
    app.config["JOBS_IMPORT_MIN_MB"] = previous


def _upload(client, text: str):  # type: ignore[no-untyped-def]
    data = {"kind": "purchases", "file_format": "", "site": ""}
    data["file"] = (io.BytesIO(text.encode()), "gros.csv")
    return client.post_form("/imports/", data, content_type="multipart/form-data")


def test_a_large_upload_runs_as_a_job_with_a_progress_page(
    client, login_as, make, session, background_threshold
):
    make.site(uai=UAI)
    login_as("admin")
    response = _upload(client, _csv(50))
    assert response.status_code == 302 and "/travaux/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="job-progress"' in page and "jobs.js" in page
    assert "<script>" not in page, "no inline script (CSP)"
    job = session.scalar(sa.select(Job))
    assert job.kind == "import" and job.status == "done", job.message
    state = client.get(f"/travaux/{job.id}/etat.json").get_json()
    assert state["finished"] is True and state["percent"] == 100
    assert state["batch_url"].endswith(f"/imports/{job.result['batch_id']}")
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 50
    assert "50 ajout(s)" in job.message


def test_small_uploads_are_still_imported_in_the_request(client, login_as, make, session):
    make.site(uai=UAI)
    login_as("admin")
    response = _upload(client, _csv(2))
    assert "/imports/" in response.headers["Location"]
    assert session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_a_job_is_only_visible_to_its_author_and_the_admins(client, login_as, make, session):
    other = make.user(role="canteen")
    job = operations.create_job(session, "rules", "x", {}, other)
    login_as("viewer")
    assert client.get(f"/travaux/{job.id}").status_code == 404
    assert client.get(f"/travaux/{job.id}/etat.json").status_code == 404


def test_a_job_cancelled_while_it_runs_rolls_its_import_back(
    app, session, make, tmp_path, monkeypatch
):
    make.site(uai=UAI)
    record(session, "test.setup")  # the factories' rows, journaled like any change
    path = tmp_path / "a.csv"
    path.write_text(_csv(5))
    job = operations.create_job(
        session, "import", "Import", {"kind": "purchases", "path": str(path), "file_name": "a.csv"}
    )
    session.commit()
    real_import = tasks._import

    def import_then_user_cancels(session_, job_):  # type: ignore[no-untyped-def]
        from workbench.imports.operations import run as run_module

        original = run_module.import_file

        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = original(*args, **kwargs)
            operations.request_cancel(job_)  # the user clicks « Annuler » meanwhile
            return result

        monkeypatch.setattr("workbench.imports.operations.import_file", wrapped)
        return real_import(session_, job_)

    monkeypatch.setitem(tasks.HANDLERS, "import", import_then_user_cancels)
    assert tasks.execute(job.id) == "cancelled"
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0
    assert session.get(Job, job.id).message.startswith("Annulé")
    assert session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "job.cancel"))
    assert not path.exists(), "the staged upload is removed"


def test_a_job_cancelled_before_it_starts_never_runs(session):
    job = operations.create_job(session, "rules", "Règles", {})
    session.commit()
    operations.request_cancel(job)
    assert tasks.execute(job.id) == "cancelled"
    assert operations.status_payload(session.get(Job, job.id))["finished"] is True


def test_cancel_button_sets_the_flag_of_a_running_job(client, login_as, session):
    admin = login_as("admin")
    job = operations.create_job(session, "rules", "Règles", {}, admin)
    job.status = "running"
    session.commit()
    response = client.post_form(f"/travaux/{job.id}/annuler")
    assert response.status_code == 302 and operations.cancel_requested(job)
    assert client.get(f"/travaux/{job.id}/etat.json").get_json()["cancel_requested"] is True


def test_a_full_rule_run_as_a_job_from_the_cli_shows_progress(app, session, make):
    make.purchase_line(make.site(uai=UAI), nomenclature_code=None)
    record(session, "test.setup")
    result = app.test_cli_runner().invoke(args=["jobs", "rules", "--wait"])
    assert result.exit_code == 0, result.output
    assert "Terminé : Règles exécutées" in result.output
    job = session.scalar(sa.select(Job).where(Job.kind == "rules"))
    assert job.status == "done" and job.result["failing"] >= 1
    listing = app.test_cli_runner().invoke(args=["jobs", "list"]).output
    assert f"{job.id}\trules\tdone" in listing


def test_a_real_huey_consumer_runs_the_job_while_the_site_answers(app, tmp_path):
    """Not immediate: SQLite storage, worker threads; the job's progress is polled."""
    from huey.storage import SqliteStorage

    from workbench import create_app
    from workbench.extensions import db
    from workbench.jobs import queue

    url = f"sqlite:///{tmp_path / 'jobs-db.sqlite3'}"
    live = create_app({"ENV": "development", "DATABASE_URL": url, "SECRET_KEY": "x"})
    from flask_migrate import upgrade

    with live.app_context():
        upgrade()
    queue.huey.storage = SqliteStorage("workbench", filename=str(tmp_path / "huey.sqlite3"))
    assert queue.huey.immediate is False
    consumer = queue.start_worker_threads(1)
    try:
        with live.app_context():
            job = operations.create_job(db.session, "rules", "Règles", {})
            db.session.commit()
            job_id = job.id
            operations.enqueue(job)
            health = live.test_client()
            deadline = time.monotonic() + 60
            status = "queued"
            while time.monotonic() < deadline and status not in ("done", "failed"):
                assert health.get("/sante").status_code == 200
                db.session.expire_all()
                status = db.session.get(Job, job_id).status
                db.session.rollback()
                time.sleep(0.1)
            assert status == "done", db.session.get(Job, job_id).message
            db.session.remove()
    finally:
        consumer.stop(graceful=True)
        with live.app_context():
            db.engine.dispose()
        queue.configure(app)  # back to the session's (immediate) configuration


def test_cancelling_without_a_csrf_token_is_refused(client, login_as, session):
    admin = login_as("admin")
    job = operations.create_job(session, "rules", "Règles", {}, admin)
    job.status = "running"
    session.commit()
    assert client.post(f"/travaux/{job.id}/annuler").status_code == 400
    assert not operations.cancel_requested(job)


def test_workbench_run_starts_a_worker_thread_with_the_development_server(
    app, tmp_path, monkeypatch
):
    """``make run`` is one command: ``workbench run`` = Flask's server + a worker thread."""
    from click.testing import CliRunner
    from flask.cli import run_command as flask_run

    from workbench.cli import main
    from workbench.jobs import queue

    started, served = [], []
    monkeypatch.setenv("WORKBENCH_ENV", "development")
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", f"sqlite:///{tmp_path / 'run.sqlite3'}")
    monkeypatch.setattr(queue, "start_worker_threads", lambda n: started.append(n))
    monkeypatch.setattr(flask_run, "callback", lambda **kwargs: served.append(kwargs["port"]))
    try:
        result = CliRunner().invoke(main, ["run", "--port", "5999"])
        assert result.exit_code == 0, result.output
        assert started == [1] and served == [5999]
        result = CliRunner().invoke(main, ["run", "--port", "5998", "--no-worker"])
        assert started == [1] and served == [5999, 5998]
    finally:
        queue.configure(app)
