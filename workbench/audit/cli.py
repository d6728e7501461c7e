"""``workbench audit``: verify and export the journal."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.audit import checkpoint as checkpoints
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
@click.option(
    "--checkpoint",
    "checkpoint_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Vérifier aussi le journal contre ce point de contrôle signé (répétable) : "
    "détecte la troncature et la réécriture rechaînée jusqu'à sa tête.",
)
@with_appcontext
def verify_command(csv_path: str | None, checkpoint_paths: tuple[str, ...]) -> None:
    """Vérifier la chaîne de hachage du journal (code de sortie 1 si elle est rompue)."""
    if csv_path and checkpoint_paths:
        raise click.UsageError("--checkpoint vérifie la base : ne le combinez pas avec --csv.")
    if csv_path:
        with open(csv_path, encoding="utf-8", newline="") as handle:
            result = verify_rows(csv.DictReader(handle))
    elif checkpoint_paths:
        try:
            key = _key(create=False)
            result = verify_chain(db.session)
            for path in checkpoint_paths:
                if result.ok:
                    result = checkpoints.verify_against(
                        db.session, checkpoints.read_checkpoint(path), key
                    )
        except checkpoints.CheckpointError as error:
            raise click.ClickException(str(error)) from None
    else:
        result = verify_chain(db.session)
    if result.ok:
        suffix = (
            f", conforme à {len(checkpoint_paths)} point(s) de contrôle" if checkpoint_paths else ""
        )
        click.echo(f"Journal intègre : {result.checked} entrées vérifiées{suffix}.")
        return
    if result.broken_id is None:
        click.echo(f"Journal ROMPU : {result.problem}.", err=True)
        sys.exit(1)
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


def _key(*, create: bool) -> bytes:
    return checkpoints.load_key(
        current_app.config.get("AUDIT_HMAC_KEY"), current_app.instance_path, create=create
    )


@audit_group.command("checkpoint")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Fichier à écrire (par défaut instance/audit-checkpoints/checkpoint-<date>.json). "
    "« - » : la sortie standard.",
)
@with_appcontext
def checkpoint_command(output: str | None) -> None:
    """Écrire un point de contrôle signé de la tête du journal, à conserver hors de la base."""
    result = verify_chain(db.session)
    if not result.ok:
        click.echo(
            f"Journal ROMPU à l'entrée {result.broken_id} ({result.problem}) : "
            "pas de point de contrôle.",
            err=True,
        )
        sys.exit(1)
    checkpoint = checkpoints.make_checkpoint(db.session, _key(create=True))
    text = json.dumps(checkpoint, indent=1, sort_keys=True) + "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    if output is None:
        stamp = checkpoint["created_at"][:19].replace(":", "").replace("-", "")
        path = Path(current_app.instance_path) / "audit-checkpoints" / f"checkpoint-{stamp}Z.json"
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(output)
    path.write_text(text, encoding="utf-8")
    click.echo(
        f"Point de contrôle écrit dans {path} : entrée {checkpoint['last_id']}, "
        f"{checkpoint['count']} entrées. Copiez-le hors du serveur de la base."
    )
