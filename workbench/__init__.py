"""Workbench: the data-quality workbench for the Region's purchasing data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application. No database access happens here."""
    from workbench.config import load_config

    app = Flask(
        __name__,
        instance_path=str(PROJECT_DIR / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_DIR / "templates"),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, config))
    from workbench.service.logs import configure_logging

    configure_logging(app)  # text, or JSON lines with LOG_FORMAT=json

    _init_extensions(app)
    _register_blueprints(app)
    _register_cross_cutting(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from workbench import models  # noqa: F401  (every table known to the metadata)
    from workbench.audit.guard import install_audit_guard
    from workbench.auth.loader import init_login
    from workbench.db import configure_sqlite_transactions
    from workbench.extensions import csrf, db, migrate

    db.init_app(app)
    with app.app_context():  # binds engine events only; no query runs here
        configure_sqlite_transactions(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_DIR / "migrations"))
    csrf.init_app(app)
    init_login(app)
    install_audit_guard()
    from workbench.rules.group_counts import install_settle

    install_settle()  # the dirty anomaly groups read again before every commit
    from workbench.jobs.queue import configure as configure_jobs

    configure_jobs(app)  # Huey: SQLite under instance/, Redis, or immediate in tests


def _register_blueprints(app: Flask) -> None:
    from workbench.blueprints import blueprints

    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    from workbench.api import init_api

    init_api(app)  # flask-smorest registers the API blueprint and its OpenAPI document


def _register_cross_cutting(app: Flask) -> None:
    from workbench.core.errors import register_error_handlers
    from workbench.core.formatting import register_filters
    from workbench.core.forms import use_french_form_messages
    from workbench.core.guards import register_input_guards
    from workbench.core.navigation import register_navigation
    from workbench.core.requests import register_request_hooks
    from workbench.core.security import register_security_headers

    register_error_handlers(app)
    register_filters(app)
    use_french_form_messages(app)
    register_navigation(app)
    register_security_headers(app)
    register_request_hooks(app)
    register_input_guards(app)
    from workbench.rules import init_rules

    init_rules(app)  # records_changed → incremental re-check of those records


def _register_cli(app: Flask) -> None:
    from workbench.cli import register_commands

    register_commands(app)
