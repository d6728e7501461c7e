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
