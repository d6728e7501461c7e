"""``workbench match`` and ``workbench match-eval``: the engine on plain CSV files (neither
needs a database or a Flask application: plain ``click`` commands, which ``FlaskGroup`` runs
without loading the app); ``workbench matching rebuild-groups``: the queue's groups table.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import click
import pandas as pd
from flask.cli import with_appcontext

from workbench.matching.engine import Matcher

EXPLAIN_COLUMNS = ["label", "matched_words", "unmatched_words", "signals"]


def read_csv_auto(path: str | Path) -> pd.DataFrame:
    """Read a CSV whose separator (``,`` ``;`` tab) and encoding (UTF-8 with or without BOM,
    else cp1252) are not known in advance. All columns are read as strings."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.split("\n", 1)[0]
    sep = max([",", ";", "\t"], key=first.count)
    df = pd.read_csv(
        io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL
    )
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def _require(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise click.UsageError(
            f"{name} : colonnes manquantes {', '.join(missing)} (trouvées : {', '.join(df.columns)})"
        )


@click.command("match")
@click.argument("nomenclature", type=click.Path(exists=True, dir_okay=False))
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.option("--top", "top", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True)
)
@click.option(
    "--explain", is_flag=True, help="Ajoute libellé, mots reconnus/non reconnus, signaux."
)
def match_command(nomenclature: str, labels: str, top: int, output: str, explain: bool) -> None:
    """Propose les codes de NOMENCLATURE (code,label[,family]) pour chaque libellé de LABELS
    (id,label[,supplier,reference]) ; écrit une ligne par suggestion dans OUTPUT."""
    nom = read_csv_auto(nomenclature)
    _require(nom, ["code", "label"], "nomenclature")
    lab = read_csv_auto(labels)
    _require(lab, ["id", "label"], "libellés")
    start = time.perf_counter()
    matcher = Matcher(nom)
    sug = matcher.suggest(
        lab["label"].tolist(),
        k=top,
        suppliers=lab["supplier"].tolist() if "supplier" in lab.columns else None,
        references=lab["reference"].tolist() if "reference" in lab.columns else None,
    )
    sug.insert(0, "id", lab["id"].to_numpy()[sug["input_index"].to_numpy()])
    columns = ["id", "rank", "code", "score"] + (EXPLAIN_COLUMNS if explain else [])
    sug[columns].to_csv(output, index=False, float_format="%.2f")
    elapsed = time.perf_counter() - start
    click.echo(
        f"{len(lab)} libellés, {len(nom)} postes de nomenclature : "
        f"{len(sug)} suggestions écrites dans {output} en {elapsed:.1f} s."
    )


@click.command("match-eval")
@click.option(
    "--nomenclature",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV code,label[,family] ; par défaut la nomenclature CIQUAL fournie.",
)
@click.option("--per-item", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--seed", default=20240601, show_default=True, type=int)
def match_eval_command(nomenclature: str | None, per_item: int, seed: int) -> None:
    """Évalue le moteur sur un jeu de variantes généré (précision top-1/top-5, courbe
    d'apprentissage, débit)."""
    from workbench.matching.evaluation import format_report, run_evaluation

    nom = read_csv_auto(nomenclature) if nomenclature else None
    click.echo(format_report(run_evaluation(nom, per_item=per_item, seed=seed)))


@click.group("matching")
def matching_group() -> None:
    """File « Articles à rattacher »."""


@matching_group.command("rebuild-groups")
@with_appcontext
def rebuild_groups_command() -> None:
    """Reconstruire la table des groupes d'articles à rattacher (après un chargement hors
    application)."""
    import time

    from workbench.extensions import db
    from workbench.matching.groups import rebuild

    start = time.perf_counter()
    count = rebuild(db.session)
    db.session.commit()
    click.echo(
        f"Groupes d'articles à rattacher reconstruits : {count} groupe(s) "
        f"en {time.perf_counter() - start:.1f} s."
    )


COMMANDS = [match_command, match_eval_command, matching_group]
