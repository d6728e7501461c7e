"""``workbench audit``: verify and export the journal."""

from __future__ import annotations

import csv
import sys

import click
from flask.cli import with_appcontext

from workbench.audit.operations import verify_chain, verify_rows
from workbench.audit.queries import JournalFilter, write_journal_csv
from workbench.extensions import db


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit : vérification de la chaîne et export."""


@audit_group.command("verify")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Vérifier un export CSV du journal (sans la base).",
)
@with_appcontext
def verify_command(csv_path: str | None) -> None:
    """Vérifier la chaîne de hachage du journal (code de sortie 1 si elle est rompue)."""
    if csv_path:
        with open(csv_path, encoding="utf-8", newline="") as handle:
            result = verify_rows(csv.DictReader(handle))
    else:
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
