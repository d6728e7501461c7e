"""``workbench indicators egalim|spaser``: the published figures as JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from workbench.exports.cli import export_group
from workbench.extensions import db
from workbench.indicators import engine, queries, reports, summary
from workbench.indicators.queries import Filters
from workbench.reference.models import Site, Supplier


def _filters(
    year: int | None,
    site_uai: str | None,
    direction: str | None,
    family: str | None,
    supplier_siret: str | None,
    domain: str | None,
    years: list[int],
) -> Filters:
    site_id = supplier_id = None
    if site_uai:
        site_id = db.session.scalar(sa.select(Site.id).where(Site.uai == site_uai.strip().upper()))
        if site_id is None:
            click.echo(f"Lycée inconnu : « {site_uai} ».", err=True)
            sys.exit(1)
    if supplier_siret:
        supplier_id = db.session.scalar(
            sa.select(Supplier.id).where(Supplier.siret == supplier_siret.replace(" ", ""))
        )
        if supplier_id is None:
            click.echo(f"Fournisseur inconnu : « {supplier_siret} ».", err=True)
            sys.exit(1)
    return Filters(
        year=year if year is not None else reports.default_year(years),
        site_id=site_id,
        direction_code=direction,
        family=family,
        supplier_id=supplier_id,
        domain=domain,
    )


def _write(output: str, fmt: str, payload: Any, columns: tuple[str, ...], rows: list[dict]) -> None:
    with open(output, "w", encoding="utf-8", newline="") as handle:
        if fmt == "json":
            json.dump(payload, handle, ensure_ascii=False, indent=1)
        else:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def _common(function):  # type: ignore[no-untyped-def]
    for option in reversed(
        [
            click.option("--year", type=int, help="Année civile (par défaut l'année en cours)."),
            click.option("--site", "site_uai", help="UAI du lycée."),
            click.option("--direction", help="Code de la direction."),
            click.option("--supplier", "supplier_siret", help="SIRET du fournisseur."),
            click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json"),
            click.option("-o", "--output", required=True, type=click.Path(dir_okay=False)),
        ]
    ):
        function = option(function)
    return function


@click.group("indicators")
def indicators_group() -> None:
    """Calculer les indicateurs publiés (règle d'exclusion appliquée)."""


@indicators_group.command("egalim")
@_common
@click.option("--family", help="Famille de produits ma cantine.")
@click.option("--year-to-date", "until_month", type=int, help="Cumul de janvier au mois donné.")
@click.option("--monthly", is_flag=True, help="CSV : une ligne par mois.")
@with_appcontext
def egalim_command(
    year: int | None,
    site_uai: str | None,
    direction: str | None,
    supplier_siret: str | None,
    fmt: str,
    output: str,
    family: str | None,
    until_month: int | None,
    monthly: bool,
) -> None:
    """Parts EGalim de l'année : bio, durables et de qualité, proximité (JSON ou CSV)."""
    years = queries.years_with_lines(db.session, None)
    filters = _filters(year, site_uai, direction, family, supplier_siret, None, years)
    if until_month is not None:
        filters = Filters(**{**filters.__dict__, "until_month": until_month})
    report = reports.egalim_report(
        db.session, None, filters, str(current_app.config["REGION_CODE"])
    )
    payload = reports.egalim_json(report)
    payload["monthly"] = [
        {k: m.get(k) for k in ("year", "month", "total_ht", "bio_share", "egalim_share")}
        for m in report["monthly"]
    ]
    rows = reports.egalim_csv_rows(report, monthly=monthly)
    _write(output, fmt, payload, reports.EGALIM_CSV_COLUMNS, rows)
    click.echo(
        f"EGalim {filters.year} : bio {_pct(report['bio_share'])}, EGalim "
        f"{_pct(report['egalim_share'])} ; {report['excluded_lines']} ligne(s) exclue(s) → {output}"
    )


@indicators_group.command("spaser")
@_common
@click.option("--domain", help="Domaine d'achat : division CPV à deux chiffres.")
@with_appcontext
def spaser_command(
    year: int | None,
    site_uai: str | None,
    direction: str | None,
    supplier_siret: str | None,
    fmt: str,
    output: str,
    domain: str | None,
) -> None:
    """Indicateurs SPASER de l'année de notification, marchés et concessions à part."""
    if site_uai:
        click.echo("--site ne s'applique pas aux marchés (utilisez --direction).", err=True)
        sys.exit(1)
    years = queries.contract_years(db.session, None)
    filters = _filters(year, None, direction, None, supplier_siret, domain, years)
    report = reports.spaser_report(
        db.session,
        None,
        filters,
        str(current_app.config["REGION_CODE"]),
        int(current_app.config["FIRST_WINNER_YEARS"]),
    )
    _write(output, fmt, report, reports.SPASER_CSV_COLUMNS, engine.spaser_flat_rows(report))
    click.echo(
        f"SPASER {filters.year} : {report['marche']['contracts']} marché(s), "
        f"{report['concession']['contracts']} concession(s) ; "
        f"{report['excluded_contracts']} contrat(s) exclu(s) → {output}"
    )


@indicators_group.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Reconstruire la table de synthèse EGalim (après un chargement hors application)."""
    import time

    start = time.perf_counter()
    summary.rebuild_all(db.session, str(current_app.config["REGION_CODE"]))
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(summary.TABLE))
    click.echo(
        f"Synthèse EGalim reconstruite : {rows} ligne(s) en {time.perf_counter() - start:.1f} s."
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %".replace(".", ",")


COMMANDS = [indicators_group, export_group]
