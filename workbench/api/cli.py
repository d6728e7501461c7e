"""``workbench tokens``: the API tokens of the source systems."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from workbench.api import operations
from workbench.api.models import TOKEN_KINDS
from workbench.audit.operations import Actor, acting_as
from workbench.core.errors import ValidationError
from workbench.extensions import db


@click.group("tokens")
def tokens_group() -> None:
    """Gérer les jetons d'API des systèmes sources."""


@tokens_group.command("create")
@click.argument("name")
@click.option(
    "--kinds",
    required=True,
    help="Types de lots permis, séparés par des virgules : " + ", ".join(TOKEN_KINDS) + ".",
)
@click.option(
    "--site",
    "sites",
    multiple=True,
    help="UAI d'un lycée dont le jeton peut déposer les achats (répétable; aucun = tous).",
)
@with_appcontext
def create_command(name: str, kinds: str, sites: tuple[str, ...]) -> None:
    """Créer le jeton du système source NAME; le jeton s'affiche une seule fois, en dernière ligne."""
    with acting_as(Actor(email="ligne de commande", role="admin")):
        try:
            token, secret = operations.create_token(db.session, name, kinds.split(","), list(sites))
        except ValidationError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    scope = ", ".join(token.site_uais) or "tous les lycées"
    click.echo(f"Jeton « {token.name} » créé : lots {token.kinds}; achats de {scope}.")
    click.echo("Conservez-le maintenant : il n'est stocké que sous forme d'empreinte.")
    click.echo(secret)


@tokens_group.command("list")
@with_appcontext
def list_command() -> None:
    """Lister les jetons (nom, début du jeton, types, lycées, dernier usage, état)."""
    for token in operations.list_tokens(db.session):
        used = token.last_used_at.strftime("%d/%m/%Y %H:%M") if token.last_used_at else "jamais"
        state = "révoqué" if token.is_revoked else "actif"
        click.echo(
            f"{token.name}\t{token.prefix}…\t{token.kinds}\t"
            f"{','.join(token.site_uais) or 'tous'}\t{used}\t{state}"
        )


@tokens_group.command("revoke")
@click.argument("name")
@with_appcontext
def revoke_command(name: str) -> None:
    """Révoquer le jeton NAME : ses appels reçoivent ensuite 401."""
    with acting_as(Actor(email="ligne de commande", role="admin")):
        try:
            operations.revoke_token(db.session, name)
        except ValidationError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Jeton « {name} » révoqué.")


COMMANDS = [tokens_group]
