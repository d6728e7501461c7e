"""``workbench rules`` (run, docs) and ``workbench anomalies`` (export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from workbench import PROJECT_DIR
from workbench.audit.operations import Actor, acting_as
from workbench.extensions import db


@click.group("rules")
def rules_group() -> None:
    """Règles de qualité : exécution et catalogue."""


@rules_group.command("run")
@click.option(
    "--rule", "rule_codes", multiple=True, help="Code d'une règle (répétable) ; toutes par défaut."
)
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON.")
@click.option(
    "--full",
    is_flag=True,
    help="Réévaluer tous les lycées (par défaut, seuls ceux dont les lignes ont changé depuis "
    "la dernière exécution complète, tant que réglages, code et petites tables sont les mêmes).",
)
@with_appcontext
def run_command(rule_codes: tuple[str, ...], as_json: bool, full: bool) -> None:
    """Exécuter les règles sur toutes les données et mettre les anomalies à jour."""
    from workbench.core.errors import WorkbenchError
    from workbench.rules.operations import run_rules

    try:
        with acting_as(Actor(email="cli", role="system")):
            result = run_rules(db.session, rule_codes=list(rule_codes) or None, full=full)
        db.session.commit()
    except WorkbenchError as error:
        db.session.rollback()
        click.echo(error.message, err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{'règle':40s} {'en échec':>9s} {'ouvertes':>9s} {'rouvertes':>9s} {'fermées':>9s} {'inchangées':>10s}"
    )
    for code, c in sorted(result.counts.items()):
        flag = "" if c.enabled else "  (désactivée)"
        click.echo(
            f"{code:40s} {c.failing:9d} {c.opened:9d} {c.reopened:9d} {c.closed:9d} {c.unchanged:10d}{flag}"
        )
    click.echo(
        f"{'TOTAL':40s} {result.total('failing'):9d} {result.total('opened'):9d} {result.total('reopened'):9d}"
        f" {result.total('closed'):9d} {result.total('unchanged'):10d}"
    )
    if result.sites_checked is not None:
        click.echo(
            f"Lycées évalués : {result.sites_checked} (les autres n'ont pas changé depuis la "
            "dernière exécution complète ; --full pour tout réévaluer)."
        )
    click.echo(
        f"Durée : {result.duration:.2f} s (chargement {result.load_seconds:.2f} s, règles "
        f"{result.check_seconds:.2f} s, écriture {result.write_seconds:.2f} s)."
    )


@rules_group.command("docs")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=str(PROJECT_DIR / "docs" / "rules.md"),
    show_default=True,
)
def docs_command(output: str) -> None:
    """Écrire le catalogue des règles (Markdown) à partir du registre."""
    from workbench.rules.docs import rules_markdown

    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rules_markdown(), encoding="utf-8")
    click.echo(f"Catalogue écrit dans {path}.")


@rules_group.command("rebuild-counts")
@with_appcontext
def rebuild_counts_command() -> None:
    """Recalculer les comptes tenus des anomalies (par règle et portée, par jour, par groupe)
    et ramener les textes de recherche aux anomalies présentes (après un chargement hors
    application, ou pour alléger la recherche quand beaucoup d'anomalies ont été supprimées)."""
    import time

    import sqlalchemy as sa

    from workbench.rules import search_texts
    from workbench.rules.counts import rebuild_counts

    started = time.perf_counter()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":  # no anomaly written meanwhile; reads go on
        connection.exec_driver_sql("LOCK TABLE anomalies IN SHARE MODE")
    rebuild_counts(db.session)
    texts = db.session.scalar(sa.text(f"SELECT count(*) FROM {search_texts.TABLE}"))
    db.session.commit()
    click.echo(
        f"Comptes des anomalies recalculés ; {texts} combinaison(s) de textes de recherche "
        f"gardée(s), en {time.perf_counter() - started:.1f} s."
    )


@click.group("anomalies")
def anomalies_group() -> None:
    """Anomalies : export."""


@anomalies_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--active", is_flag=True, help="Seulement les anomalies actives (ouvertes, prises, proposées)."
)
@with_appcontext
def export_command(output: str, active: bool) -> None:
    """Exporter les anomalies en CSV (rule, severity, status, record_kind, record_key, record_label, field, value, message)."""
    from workbench.rules.models import ACTIVE_STATUSES
    from workbench.rules.queries import export_anomalies

    with open(output, "w", encoding="utf-8", newline="") as handle:
        count = export_anomalies(db.session, handle, statuses=ACTIVE_STATUSES if active else None)
    click.echo(f"{count} anomalies exportées dans {output}.")


COMMANDS = [rules_group, anomalies_group]
