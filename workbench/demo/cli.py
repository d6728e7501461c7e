"""``workbench demo``: load the demonstration dataset into the configured database."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as
from workbench.core.errors import ValidationError
from workbench.demo.generate import SIZES
from workbench.demo.load import DemoResult, database_has_data, load_demo
from workbench.extensions import db

logger = logging.getLogger(__name__)

DEMO_DOMAIN = "region.example"
ALREADY_LOADED = "La base contient déjà des données : jeu de démonstration non chargé."


def _run_rules() -> str:
    """Run the rules engine once if it exists, so the queues are populated."""
    try:
        from workbench.rules.operations import run_rules
    except ImportError:
        return "Moteur de règles absent : files d'anomalies non calculées."
    try:
        with acting_as(Actor(email="workbench demo", role="system")):
            outcome = run_rules(db.session)
        db.session.commit()
    except Exception as error:  # the demo data stays loaded; say why the queues are empty
        db.session.rollback()
        logger.exception("rules run after the demo load failed")
        return f"Règles non exécutées ({type(error).__name__} : {error})."
    total = getattr(outcome, "total", None)
    if callable(total):
        return (
            f"Règles exécutées en {getattr(outcome, 'duration', 0.0):.1f} s : "
            f"{total('opened')} anomalies ouvertes."
        )
    return "Règles exécutées."


def _simulate_activity() -> str:
    """A few corrections and decisions through the real operations, so every page has content."""
    from workbench.demo.activity import simulate_activity

    with acting_as(Actor(email="workbench demo", role="system")):
        done = simulate_activity(db.session)
    db.session.commit()
    return (
        f"Activité simulée : {done.mapped} lignes rattachées ({done.groups} articles), "
        f"{done.proposed} corrections proposées, "
        f"{done.approved} validées et {done.rejected} refusée(s) par le service juridique."
    )


def print_accounts(result: DemoResult) -> None:
    """The demo accounts as a table, with their common password."""
    width = max(len(a["email"]) for a in result.accounts)
    click.echo("")
    click.echo(f"{'Compte'.ljust(width)}  {'Rôle'.ljust(9)}  Périmètre")
    click.echo(f"{'-' * width}  {'-' * 9}  {'-' * 30}")
    for account in result.accounts:
        click.echo(
            f"{account['email'].ljust(width)}  {account['role'].ljust(9)}  {account['scope']}"
        )
    click.echo(f"\nMot de passe de tous les comptes : {result.password}")


def existing_accounts(session) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The demo accounts already in the database (to print them at every `make run`)."""
    import sqlalchemy as sa

    from workbench.auth.models import User

    users = session.scalars(
        sa.select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")).order_by(User.role, User.email)
    )
    return [
        {
            "email": u.email,
            "role": u.role,
            "name": u.name,
            "scope": ", ".join(s.name for s in u.sites) or (u.direction_code or "région"),
        }
        for u in users
    ]


@click.command("demo")
@click.option(
    "--seed",
    default=2025,
    show_default=True,
    type=int,
    help="Graine du générateur (même graine, mêmes données).",
)
@click.option(
    "--size",
    default="small",
    show_default=True,
    type=click.Choice(list(SIZES)),
    help=(
        "small : 20 000 lignes d'achat ; large : 200 000 ; regional : 115 lycées et "
        "1 000 000 de lignes (mesures à l'échelle de la Région, chargé en quelques minutes)."
    ),
)
@click.option(
    "--lines",
    type=click.IntRange(min=100),
    default=None,
    help="Nombre de lignes d'achat (remplace --size).",
)
@click.option("--no-rules", is_flag=True, help="Ne pas exécuter les règles après le chargement.")
@with_appcontext
def demo_command(seed: int, size: str, lines: int | None, no_rules: bool) -> None:
    """Charger le jeu de démonstration (lycées, fournisseurs, achats, marchés, comptes).

    Refuse sans erreur (code 0) si la base contient déjà des lycées : `make run` l'appelle à
    chaque démarrage.
    """
    session = db.session
    password = str(current_app.config.get("DEMO_PASSWORD") or "demo-workbench")
    if database_has_data(session):
        click.echo(ALREADY_LOADED)
        accounts = existing_accounts(session)
        if accounts:
            print_accounts(
                DemoResult(
                    seed=0,
                    size="",
                    counts={},
                    accounts=accounts,
                    password=password,
                    nomenclature_source="",
                )
            )
            click.echo("(sauf si le mot de passe a été changé depuis)")
        return
    try:
        with acting_as(Actor(email="workbench demo", role="system")):
            result = load_demo(session, seed=seed, size=size, lines=lines, password=password)
    except ValidationError as error:
        session.rollback()
        raise click.ClickException(error.message) from None
    session.commit()
    counts = result.counts
    click.echo(
        f"Jeu de démonstration chargé en {result.seconds:.1f} s (graine {seed}, taille {size}) : "
        f"{counts['sites']} lycées, {counts['suppliers']} fournisseurs, "
        f"{counts['nomenclature_items']} articles de nomenclature, {counts['matrix_entries']} articles de matrices, "
        f"{counts['purchase_lines']} lignes d'achat, {counts['contracts']} marchés et concessions."
    )
    if not no_rules:
        message = _run_rules()
        click.echo(message)
        if message.startswith("Règles exécutées"):
            click.echo(_simulate_activity())
    print_accounts(result)


COMMANDS = [demo_command]
