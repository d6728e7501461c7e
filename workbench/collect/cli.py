"""``workbench collect DIR``: import the files dropped in a folder (cron-friendly)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as
from workbench.collect.operations import COLLECT_KINDS, Outcome, collect
from workbench.core.errors import WorkbenchError
from workbench.extensions import db


def import_one(kind: str, path: Path, name: str) -> Outcome:
    """Import one dropped file in its own transaction (committed, or rolled back)."""
    from workbench.imports.operations import import_file
    from workbench.imports.queries import report_lines

    actor = Actor(email="collecte (dépôt de fichiers)", role="admin")
    try:
        with acting_as(actor):
            result = import_file(
                db.session,
                kind,
                path,
                file_name=name,
                chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
            )
            db.session.commit()
    except WorkbenchError as error:
        db.session.rollback()
        return Outcome("rejected", error.message)
    except Exception:
        db.session.rollback()
        raise
    batch = result.batch or result.previous
    problems = result.report.sorted_problems()
    return Outcome(
        result.status,
        result.message,
        {
            "kind": kind,
            "batch_id": batch.id if batch is not None else None,
            "rows": result.row_count,
            "inserted": result.counts.inserted,
            "updated": result.counts.updated,
            "unchanged": result.counts.unchanged,
            "rejected": result.rejected_count,
            "problems": problems,
            "lines": report_lines(problems),
        },
    )


@click.command("collect")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--watch", is_flag=True, help="Continuer : relever le dossier toutes les S secondes.")
@click.option("--interval", default=10.0, show_default=True, help="Secondes entre deux relevés.")
@click.option("--rounds", type=int, hidden=True, help="Nombre de relevés avec --watch (tests).")
@with_appcontext
def collect_command(directory: str, watch: bool, interval: float, rounds: int | None) -> None:
    """Importer chaque fichier déposé dans DIRECTORY/<type>/ puis le ranger.

    Types : directions, sites, nomenclature, suppliers, matrix, contracts, purchases (dans
    cet ordre). Chaque fichier va dans done/ ou rejected/, avec son rapport FICHIER.report.json.
    Sans --watch, un seul relevé (pour cron); deux collectes simultanées ne traitent jamais
    le même fichier.
    """
    done = 0
    while True:
        result = collect(Path(directory), import_one)
        for kind, name, status in result.files:
            click.echo(f"{kind}/{name} : {status}")
        done += 1
        if not watch or (rounds is not None and done >= rounds):
            break
        time.sleep(interval)
    if not watch and not result.files:
        click.echo("Aucun fichier à importer (" + ", ".join(COLLECT_KINDS) + ").")


COMMANDS = [collect_command]
