"""Production serving: gunicorn options, the health endpoint, JSON logs, backup and restore."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from workbench import create_app
from workbench.service.backup import backup_database, postgres_dsn
from workbench.service.logs import JsonFormatter
from workbench.service.serve import gunicorn_options


def test_gunicorn_options_come_from_the_settings():
    config = {"BIND": "0.0.0.0:8100", "WORKERS": 4, "TIMEOUT": 60, "LOG_FORMAT": "text"}
    options = gunicorn_options(config)
    assert options["bind"] == "0.0.0.0:8100" and options["workers"] == 4
    assert options["timeout"] == 60 and "logconfig_dict" not in options
    assert gunicorn_options(config, workers=1, bind="127.0.0.1:9")["workers"] == 1
    json_options = gunicorn_options({**config, "LOG_FORMAT": "json"})
    formatter = json_options["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "workbench.service.logs.JsonFormatter"


def test_the_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_WORKERS", "6")
    monkeypatch.setenv("WORKBENCH_BIND", "127.0.0.1:5555")
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert app.config["WORKERS"] == 6 and app.config["BIND"] == "127.0.0.1:5555"


def test_gunicorn_serves_the_application_with_the_health_endpoint(tmp_path, database_url, app):
    """A real gunicorn (one worker) on a random local port answers /sante."""
    import socket
    import time
    import urllib.request

    if not database_url.startswith("sqlite"):
        pytest.skip("served against the session's SQLite database only")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_SECRET_KEY": "serve-test",
        "WORKBENCH_LOG_FORMAT": "json",
    }
    workbench = os.path.join(os.path.dirname(sys.executable), "workbench")
    server = subprocess.Popen(
        [workbench, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sante", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "gunicorn did not answer"
        assert body["status"] == "ok" and body["migrations"]["at_head"] is True
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    lines = [line for line in err.decode().splitlines() if line.startswith("{")]
    assert lines, err.decode()[-500:]
    assert all("level" in json.loads(line) for line in lines), "structured (JSON) logs"


def test_health_answers_json_without_a_session(client):
    response = client.get("/sante")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["status"] == "ok" and body["database"]["reachable"] is True
    assert body["migrations"]["at_head"] is True and body["migrations"]["current"]


def test_health_reports_a_database_behind_the_migrations(tmp_path):
    from flask_migrate import downgrade, upgrade

    from workbench.extensions import db

    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite3'}"})
    with app.app_context():
        upgrade()
        downgrade(revision="-1")
        db.engine.dispose()
    response = app.test_client().get("/sante")
    assert response.status_code == 503 and response.get_json()["migrations"]["at_head"] is False
    result = app.test_cli_runner().invoke(args=["health"])
    assert result.exit_code == 1 and '"at_head": false' in result.output
    init = app.test_cli_runner().invoke(args=["init", "a@b.example", "--password", "x" * 12])
    assert init.exit_code != 0 and "workbench db upgrade" in init.output
    with app.app_context():
        db.engine.dispose()


def test_json_log_lines_carry_the_message_the_level_and_extras():
    record = logging.LogRecord("workbench.x", logging.WARNING, "f.py", 1, "lot %s", (12,), None)
    record.batch_id = 12
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "lot 12" and line["level"] == "WARNING"
    assert line["logger"] == "workbench.x" and line["batch_id"] == 12


def test_sqlite_backup_then_restore_into_a_new_file_reads_the_same_data(tmp_path):
    from flask_migrate import upgrade

    from workbench.extensions import db

    source = tmp_path / "prod.sqlite3"
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{source}"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(
        args=["init", "chef@region.example", "--password", "motdepasse-admin"]
    )
    assert result.exit_code == 0, result.output
    backup = tmp_path / "sauvegardes" / "wb.sqlite3"
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(backup)])
    assert result.exit_code == 0, result.output
    assert "sqlite backup API" in result.output
    # restore = copy the backup to the database's place (server stopped); here: a new file
    restored = tmp_path / "restored.sqlite3"
    shutil.copyfile(backup, restored)
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{restored}"})
    with other.app_context():
        from workbench.auth.models import User

        assert db.session.scalar(sa.select(User.email)) == "chef@region.example"
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()


def test_backup_refuses_to_overwrite_the_database_itself(tmp_path):
    from workbench.service.backup import BackupError

    database = tmp_path / "db.sqlite3"
    sqlite3.connect(database).close()
    with pytest.raises(BackupError):
        backup_database(f"sqlite:///{database}", database)


@pytest.mark.postgres
def test_postgres_backup_with_pg_dump_restores_with_pg_restore(tmp_path):
    """pg_dump of a fresh schema, pg_restore into a throw-away database, read back."""
    url = os.environ.get("WORKBENCH_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql") or not shutil.which("pg_restore"):
        pytest.skip("needs WORKBENCH_TEST_DATABASE_URL (PostgreSQL) and pg_restore")
    parsed = sa.engine.make_url(url)
    source_name = f"{parsed.database}_bk_{uuid.uuid4().hex[:6]}"
    target_name = f"{parsed.database}_rs_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(
        parsed.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{source_name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{target_name}"'))
    try:
        source_url = parsed.set(database=source_name)
        engine = sa.create_engine(source_url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (v text)"))
            conn.execute(sa.text("INSERT INTO t VALUES ('sauvegardé')"))
        engine.dispose()
        dump = tmp_path / "wb.dump"
        result = backup_database(source_url.render_as_string(hide_password=False), dump)
        assert result.method.startswith("pg_dump") and dump.stat().st_size > 0
        target_url = parsed.set(database=target_name)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={postgres_dsn(target_url)}", str(dump)],
            check=True,
            capture_output=True,
        )
        engine = sa.create_engine(target_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT v FROM t")).scalar() == "sauvegardé"
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{source_name}"'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target_name}"'))
        admin.dispose()


def test_health_answers_503_without_details_when_the_database_is_down():
    app = create_app(
        {"ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/absent"}
    )
    response = app.test_client().get("/sante")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["database"] == {"reachable": False}
    result = app.test_cli_runner().invoke(args=["health"])
    assert result.exit_code == 1 and "error" in result.output
