"""``workbench export decp|purchases``: the open-data exports from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from workbench.audit.operations import Actor, acting_as, record
from workbench.core.csvsafe import safe_cell
from workbench.exports import decp, purchases, queries
from workbench.extensions import db
from workbench.reference.models import Site

CLI_ACTOR = Actor(id=None, email="ligne de commande", role="admin")


def withheld_path(path: Path) -> Path:
    """``FILE.json`` → ``FILE.withheld.csv`` beside it."""
    return path.with_name(f"{path.stem}.withheld.csv")


def _journal(kind: str, rows: int, **extra: object) -> None:
    with acting_as(CLI_ACTOR):
        record(
            db.session,
            "export.downloaded",
            target_kind="export",
            target_id=kind,
            after={"rows": rows, **extra},
        )
    db.session.commit()


@click.group("export")
def export_group() -> None:
    """Exporter les données publiables (DECP v2, achats canoniques ou ma cantine)."""


@export_group.command("decp")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--include-blocked",
    is_flag=True,
    help="Publier aussi les contrats sous anomalie bloquante ouverte (retenus par défaut).",
)
@with_appcontext
def export_decp(output: str, include_blocked: bool) -> None:
    """Écrire les marchés en DECP v2 JSON (validé) et FILE.withheld.csv (les retenus, avec motif)."""
    contracts, holders = queries.contract_rows(db.session, None)
    export = decp.build_export(
        contracts, holders, queries.blocking_anomalies(db.session), include_blocked
    )
    path = Path(output)
    path.write_text(json.dumps(export.document, ensure_ascii=False, indent=1), encoding="utf-8")
    rows = ([safe_cell(v) for v in row] for row in decp.withheld_rows(export))
    with open(withheld_path(path), "w", encoding="utf-8", newline="") as handle:
        purchases.write_csv(handle, decp.WITHHELD_COLUMNS, rows)
    _journal("contracts_decp_v2", export.exported, withheld=len(export.withheld))
    click.echo(
        f"{export.exported} contrat(s) publié(s) dans {path}, {len(export.withheld)} retenu(s) "
        f"listé(s) dans {withheld_path(path)} ({export.total} au total)."
    )


@export_group.command("purchases")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["canonical", "macantine"]), default="canonical")
@click.option("--year", type=int, help="Année civile des achats.")
@click.option("--site", "site_uai", help="UAI du lycée.")
@with_appcontext
def export_purchases(output: str, fmt: str, year: int | None, site_uai: str | None) -> None:
    """Écrire les lignes d'achat corrigées en CSV (format canonique ou ma cantine)."""
    site_id = None
    if site_uai:
        site_id = db.session.scalar(sa.select(Site.id).where(Site.uai == site_uai.strip().upper()))
        if site_id is None:
            click.echo(f"Lycée inconnu : « {site_uai} ».", err=True)
            sys.exit(1)
    filt = queries.PurchaseFilter(year=year, site_id=site_id)
    withheld: list[dict[str, object]] = []
    if fmt == "macantine":
        with open(output, "w", encoding="utf-8", newline="") as handle:
            withheld = queries.macantine_withheld(db.session, None, filt)
            rows = map(purchases.macantine_row, queries.macantine_rows(db.session, None, filt))
            count = purchases.write_csv(handle, purchases.MACANTINE_COLUMNS, rows)
    else:
        export = queries.CanonicalExport(db.session, None, filt, bom=False)
        with open(output, "wb") as binary:
            binary.writelines(export)
        count = export.rows
    kind = "purchases_macantine" if fmt == "macantine" else "purchases_csv"
    _journal(kind, count, withheld=sum(int(w["lines"]) for w in withheld))  # type: ignore[call-overload]
    for item in withheld:
        click.echo(str(item["message"]), err=True)
    click.echo(f"{count} ligne(s) écrite(s) dans {output}.")


COMMANDS = [export_group]
