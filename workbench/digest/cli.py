"""``workbench digest send [--dry-run]``: e-mail each active user what waits for them."""

from __future__ import annotations

import smtplib

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.digest import operations
from workbench.extensions import db


@click.group("digest")
def digest_group() -> None:
    """Récapitulatif par courriel de ce qui attend chacun (réglages SMTP_*)."""


@digest_group.command("send")
@click.option("--dry-run", is_flag=True, help="Afficher les messages sans rien envoyer.")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Envoyer à chaque compte actif le récapitulatif de ce qui l'attend.

    Un compte à qui rien n'attend ne reçoit rien. Chaque envoi est journalisé
    (« Récapitulatif envoyé ») : le suivant reprend les décisions depuis celui-ci.
    """
    config = current_app.config
    sender = config.get("SMTP_FROM") or "workbench@localhost"
    if not dry_run and not config.get("SMTP_HOST"):
        click.echo("Récapitulatif désactivé : SMTP_HOST n'est pas renseigné. Rien n'a été envoyé.")
        return
    digests, empty = [], 0
    for user in operations.active_users(db.session):
        digest = operations.compose(db.session, user)
        if digest.is_empty:
            empty += 1
        else:
            digests.append(digest)
    if dry_run:
        for digest in digests:
            click.echo(f"À : {digest.user.email}\nObjet : {operations.SUBJECT}\n")
            click.echo(digest.text())
            click.echo("-" * 72)
        db.session.rollback()
        click.echo(
            f"Simulation : {len(digests)} message(s) à envoyer, {empty} compte(s) sans rien "
            "en attente. Rien n'a été envoyé."
        )
        return
    sent, failed = 0, []
    if digests:
        with operations.connect(config) as smtp:
            for digest in digests:
                try:
                    smtp.send_message(operations.message(digest, sender))
                except smtplib.SMTPException as error:
                    failed.append((digest.user.email, str(error)))
                    continue
                operations.journal_sent(db.session, digest)
                db.session.commit()  # each mail sent is journalled at once: never sent twice
                sent += 1
    click.echo(
        f"{sent} récapitulatif(s) envoyé(s), {empty} compte(s) sans rien en attente"
        + (f", {len(failed)} échec(s)" if failed else "")
        + "."
    )
    for email, reason in failed:
        click.echo(f"Échec pour {email} : {reason}", err=True)
    if failed:
        raise SystemExit(1)


COMMANDS = (digest_group,)
