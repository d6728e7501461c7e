"""The ``workbench`` command: Flask's CLI plus one command group per feature."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from workbench import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Atelier de qualité des données d'achat de la Région."""


def register_commands(app: Flask) -> None:
    """Attach every feature's commands to ``app.cli`` (so ``flask`` and ``workbench`` agree)."""
    from workbench.audit.cli import audit_group
    from workbench.auth.cli import users_group

    for command in (users_group, audit_group):
        app.cli.add_command(command)
    for name in (
        "demo",
        "imports",
        "rules",
        "matching",
        "indicators",
        "service",
        "api",
        "collect",
        "jobs",
        "digest",
    ):
        _add_optional(app, name)


def _add_optional(app: Flask, feature: str) -> None:
    import importlib

    try:
        module = importlib.import_module(f"workbench.{feature}.cli")
    except ModuleNotFoundError as error:
        if f"workbench.{feature}.cli".startswith(str(error.name)):
            return
        raise
    for command in getattr(module, "COMMANDS", ()):
        app.cli.add_command(command)


def _run_with_worker() -> click.Command:
    """Flask's ``run``, plus Huey worker threads in the same process (``--no-worker``: none).

    So that ``make run`` stays one command: uploads handed to a job are imported while the
    development server keeps answering.
    """
    import os

    from flask.cli import ScriptInfo, get_debug_flag
    from flask.cli import run_command as flask_run

    @click.pass_context
    def callback(ctx: click.Context, worker: bool, **kwargs: object) -> None:
        reloading = kwargs.get("reload")
        if reloading is None:
            reloading = get_debug_flag()
        in_server_process = not reloading or os.environ.get("WERKZEUG_RUN_MAIN") == "true"
        if in_server_process:
            from workbench.service.heap import settle

            settle(ctx.ensure_object(ScriptInfo).load_app())  # the app `flask run` then serves
        if worker and in_server_process:
            ctx.ensure_object(ScriptInfo).load_app()  # configures the queue
            from workbench.jobs import tasks  # noqa: F401  (registers the task)
            from workbench.jobs.queue import huey, start_worker_threads

            if not huey.immediate:
                start_worker_threads(1)
                click.echo("Travaux en arrière-plan : 1 fil de travail démarré.")
        ctx.invoke(flask_run, **kwargs)

    return click.Command(
        "run",
        callback=callback,
        params=[
            *flask_run.params,
            click.Option(
                ["--worker/--no-worker"],
                default=True,
                help="Démarrer aussi un fil de travail pour les travaux en arrière-plan.",
            ),
        ],
        help="Serveur de développement, avec un fil de travail pour les travaux en arrière-plan.",
    )


main.add_command(_run_with_worker())
