"""``workbench audit``: verify and export the journal."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from workbench.audit.operations import verify_chain
from workbench.audit.queries import JournalFilter, write_journal_csv
from workbench.extensions import db


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit : vérification de la chaîne et export."""


@audit_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Vérifier la chaîne de hachage du journal (code de sortie 1 si elle est rompue)."""
    result = verify_chain(db.session)
    if result.ok:
        click.echo(f"Journal intègre : {result.checked} entrées vérifiées.")
        return
    click.echo(
        f"Journal ROMPU à l'entrée {result.broken_id} ({result.problem}); "
        f"{result.checked} entrées valides avant elle.",
        err=True,
    )
    sys.exit(1)


@audit_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--action", help="Filtrer sur une action (préfixe, ex. « correction »).")
@with_appcontext
def export_command(output: str, action: str | None) -> None:
    """Exporter le journal en CSV, avec les hachages de chaîne."""
    with open(output, "w", encoding="utf-8", newline="") as handle:
        count = write_journal_csv(db.session, handle, JournalFilter(action=action))
    click.echo(f"{count} entrées exportées dans {output}.")
