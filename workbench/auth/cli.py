"""``workbench users``: manage accounts from the command line."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as
from workbench.auth import operations
from workbench.auth.models import ROLE_LABELS, User
from workbench.core.errors import ValidationError
from workbench.extensions import db


@click.group("users")
def users_group() -> None:
    """Gérer les comptes utilisateurs."""


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([str(r) for r in ROLE_LABELS]),
    help="Rôle du compte.",
)
@click.option(
    "--site", "sites", multiple=True, help="Code UAI d'un lycée (répétable, rôle canteen)."
)
@click.option("--direction", help="Code de la direction (rôle direction).")
@click.option("--name", default="", help="Nom affiché.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Mot de passe (demandé s'il est omis).",
)
@with_appcontext
def create_command(
    email: str, role: str, sites: tuple[str, ...], direction: str | None, name: str, password: str
) -> None:
    """Créer un compte EMAIL avec un rôle et son périmètre."""
    with acting_as(Actor(email="cli", role="admin")):
        try:
            user = operations.create_user(
                db.session,
                email,
                role,
                password,
                name=name,
                site_uais=list(sites),
                direction=direction,
            )
        except ValidationError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role_label}).")


@users_group.command("list")
@with_appcontext
def list_command() -> None:
    """Lister les comptes."""
    for user in db.session.scalars(sa.select(User).order_by(User.role, User.email)):
        scope = ",".join(s.uai for s in user.sites) or user.direction_code or "région"
        click.echo(
            f"{user.email}\t{user.role}\t{scope}\t{'actif' if user.is_active_account else 'inactif'}"
        )
