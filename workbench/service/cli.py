"""``workbench init``, ``workbench serve``, ``workbench backup``: setting up and running an instance."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as
from workbench.core.errors import ValidationError
from workbench.extensions import db


@click.command("init")
@click.argument("email")
@click.option("--name", default="", help="Nom affiché.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Mot de passe (au moins 10 caractères; demandé s'il est omis).",
)
@with_appcontext
def init_command(email: str, name: str, password: str) -> None:
    """Créer le premier compte administrateur EMAIL sur une base vide (sans démonstration).

    Refuse si la base n'est pas migrée (`workbench db upgrade` d'abord) ou si un compte existe
    déjà (les suivants se créent avec `workbench users create` ou `workbench import users`).
    """
    from workbench.service.health import migration_state

    state = migration_state(db.session)
    if not state["at_head"]:
        raise click.ClickException(
            "La base n'est pas à jour (révision "
            f"{state['current'] or 'aucune'}, attendue {state['head']}) : lancez d'abord "
            "`workbench db upgrade`."
        )
    from workbench.service.operations import create_first_admin

    with acting_as(Actor(email="workbench init", role="admin")):
        try:
            user = create_first_admin(db.session, email, password, name=name)
        except ValidationError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Premier compte administrateur créé : {user.email}.")
    click.echo(
        "Étapes suivantes : importer les directions, les sites, les comptes "
        "(voir docs/deployment.md)."
    )


@click.command("serve")
@click.option("--bind", help="Adresse d'écoute (réglage BIND par défaut).")
@click.option("--workers", type=int, help="Nombre de processus (réglage WORKERS par défaut).")
@with_appcontext
def serve_command(bind: str | None, workers: int | None) -> None:
    """Servir l'application en production avec gunicorn (réglages BIND, WORKERS, TIMEOUT)."""
    from workbench.service.serve import gunicorn_options, run_gunicorn

    options = gunicorn_options(current_app.config, bind=bind, workers=workers)
    click.echo(f"gunicorn sur {options['bind']} avec {options['workers']} processus.")
    run_gunicorn(options)


@click.command("backup")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Fichier produit."
)
@with_appcontext
def backup_command(output: str) -> None:
    """Sauvegarder la base dans un fichier (SQLite : sauvegarde en ligne; PostgreSQL : pg_dump).

    La restauration est décrite dans docs/deployment.md (« Sauvegardes »).
    """
    from workbench.service.backup import BackupError, backup_database

    try:
        result = backup_database(str(db.engine.url.render_as_string(hide_password=False)), output)
    except BackupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"Sauvegarde écrite : {result.path} ({result.size_bytes} octets, {result.method}).")


@click.command("health")
@with_appcontext
def health_command() -> None:
    """Afficher l'état de santé (base joignable, migrations à jour) en JSON; code 1 sinon."""
    import json

    from workbench.service.health import health

    report = health(db.session)
    click.echo(json.dumps(report, ensure_ascii=False))
    if report["status"] != "ok":
        sys.exit(1)


COMMANDS = [init_command, serve_command, backup_command, health_command]
