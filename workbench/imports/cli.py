"""``workbench import KIND PATH``: import a file from the command line."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as
from workbench.core.errors import WorkbenchError
from workbench.extensions import db
from workbench.imports.models import IMPORT_KINDS
from workbench.imports.operations import import_file
from workbench.imports.queries import report_lines

FORMAT_CHOICES = ("decp_v2", "decp_1.5", "decp_csv", "canonique", "macantine")


@click.command("import")
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_uai", help="UAI du lycée (fichiers ma-cantine : achats d'un lycée).")
@click.option("--dry-run", is_flag=True, help="Vérifier et compter sans rien enregistrer.")
@click.option("--partial", is_flag=True, help="Importer les lignes valides, rejeter les autres.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMAT_CHOICES),
    help="Forcer le format (sinon détecté : DECP v2/1.5/CSV, achats canoniques/ma-cantine).",
)
@with_appcontext
def import_command(
    kind: str,
    path: str,
    site_uai: str | None,
    dry_run: bool,
    partial: bool,
    file_format: str | None,
) -> None:
    """Importer un fichier KIND (contracts, purchases, matrix, suppliers, nomenclature, sites,
    directions, users).

    Un import de comptes (users) affiche une fois le mot de passe généré de chaque compte créé.

    Affiche le rapport (toutes les erreurs, avec ligne et colonne); code de sortie 1 si le
    fichier est refusé.
    """
    actor = Actor(id=None, email="ligne de commande", role="admin")
    try:
        with acting_as(actor):
            result = import_file(
                db.session,
                kind,
                path,
                site_uai=site_uai,
                dry_run=dry_run,
                partial=partial,
                file_format=file_format,
                chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
            )
            db.session.commit()
    except WorkbenchError as error:
        db.session.rollback()
        click.echo(error.message, err=True)
        sys.exit(2)
    for line in report_lines(result.report.sorted_problems()):
        click.echo(line)
    if result.report.error_count > len(result.report.problems):
        click.echo(f"… {result.report.error_count} erreurs au total (liste tronquée).")
    click.echo(result.message, err=result.status == "rejected")
    passwords = getattr(result.counts, "passwords", None)
    if passwords and result.status == "applied":
        click.echo(
            "Mots de passe des nouveaux comptes (affichés une seule fois; à transmettre à "
            "chaque personne, qui le changera) :"
        )
        for email, password in passwords.items():
            click.echo(f"{email}\t{password}")
    if result.status == "rejected":
        sys.exit(1)


COMMANDS = [import_command]
