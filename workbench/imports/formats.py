"""Column specifications of every tabular import, and their pure (pandas) preparation.

A :class:`Column` says what a column is called (and its accepted aliases), whether it must be
present, whether a value is required, and how a cell is read. :func:`convert` turns a chunk of
text into typed values, adding one report line per unreadable cell. The kind-specific
``prepare_*`` functions then check what needs reference data (known sites, suppliers...) passed
in as plain dictionaries. No Flask, no database here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from stdnum.fr import siret as stdnum_siret

from workbench.imports.parsing import (
    ROW,
    Report,
    by_unique,
    empty_mask,
    normalise_header,
    normalise_token,
    parse_booleans,
    parse_dates,
    parse_decimals,
    text_or_none,
)
from workbench.reference.models import COMPANY_CATEGORIES, FAMILIES, LABELS


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    #: text, upper, date, decimal, bool, flag, family, labels, choice, siret
    type: str = "text"
    required: bool = False
    not_null: bool = False
    max_len: int | None = None
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    doc: str = ""

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(normalise_header(n) for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class Format:
    key: str
    title: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...] = ()
    doc: str = ""
    example: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# -- code lists ---------------------------------------------------------------------------------
FAMILY_ALIASES: dict[str, str] = {normalise_token(code): code for code in FAMILIES}
FAMILY_ALIASES.update({normalise_token(label): code for code, label in FAMILIES.items()})
FAMILY_ALIASES.update(
    {
        "VIANDES": "VIANDES_VOLAILLES",
        "VOLAILLES": "VIANDES_VOLAILLES",
        "VIANDE": "VIANDES_VOLAILLES",
        "POISSONS": "PRODUITS_DE_LA_MER",
        "PRODUITS_DE_LA_MER_ET_AQUACULTURE": "PRODUITS_DE_LA_MER",
        "FRUITS_LEGUMES": "FRUITS_ET_LEGUMES",
        "BOF": "PRODUITS_LAITIERS",
        "PRODUITS_LAITIERS_BEURRE_ET_OEUFS": "PRODUITS_LAITIERS",
        "PATISSERIE": "BOULANGERIE",
        "BOULANGERIE_PATISSERIE": "BOULANGERIE",
        "AUTRE": "AUTRES",
        "EPICERIE": "AUTRES",
    }
)

LABEL_ALIASES: dict[str, str] = {normalise_token(code): code for code in LABELS}
LABEL_ALIASES.update({normalise_token(label): code for code, label in LABELS.items()})
LABEL_ALIASES.update(
    {
        "AB": "BIO",
        "AGRICULTURE_BIOLOGIQUE": "BIO",
        "BIOLOGIQUE": "BIO",
        "LR": "LABEL_ROUGE",
        "AOC": "AOCAOP",
        "AOP": "AOCAOP",
        "AOC_AOP": "AOCAOP",
        "AOC/AOP": "AOCAOP",
        "MSC": "PECHE_DURABLE",
        "ECOLABEL_PECHE_DURABLE": "PECHE_DURABLE",
        "EQUITABLE": "COMMERCE_EQUITABLE",
        "ORIGINE_FRANCE": "FRANCE",
        "CIRCUIT_COURT": "CIRCUIT_COURT",
    }
)
_LABEL_SPLIT = re.compile(r"[,;|+]")


def normalise_labels(value: Any) -> tuple[str, list[str]]:
    """``"Bio, AB , LR"`` → (``"BIO,LABEL_ROUGE"``, unknown tokens)."""
    codes: set[str] = set()
    unknown: list[str] = []
    for token in _LABEL_SPLIT.split(str(value or "")):
        if not token.strip():
            continue
        key = normalise_token(token)
        code = LABEL_ALIASES.get(key) or LABEL_ALIASES.get(key.replace("/", "_"))
        if code is None:
            unknown.append(token.strip())
        else:
            codes.add(code)
    return ",".join(sorted(codes)), unknown


def compact_siret(value: Any) -> str | None:
    text = stdnum_siret.compact(str(value or "")) if value not in (None, "") else ""
    return text or None


# -- generic conversion -------------------------------------------------------------------------
def match_headers(fmt: Format, headers: list[str], original: list[str], report: Report) -> dict:
    """Map each column of ``fmt`` to the file's header(s); report missing and unknown ones.

    Returns ``{column name: [file header, ...]}`` (aliases in order of preference).
    """
    present = {h: i for i, h in enumerate(headers)}
    mapping: dict[str, list[str]] = {}
    used: set[str] = set()
    for column in fmt.columns:
        found = [h for h in column.headers if h in present]
        if found:
            mapping[column.name] = found
            used.update(found)
    missing = [c.name for c in fmt.columns if c.required and c.name not in mapping]
    if missing:
        report.file_error(
            "Colonne(s) obligatoire(s) absente(s) : "
            + ", ".join(missing)
            + ". Colonnes trouvées : "
            + (", ".join(o for o in original if o) or "(aucune)")
            + "."
        )
    unknown = [original[i] for i, h in enumerate(headers) if h not in used and original[i]]
    if unknown:
        report.warning(
            1,
            ", ".join(unknown)[:200],
            None,
            "Colonne(s) inconnue(s), ignorée(s) : " + ", ".join(unknown) + ".",
        )
    return mapping


def _source(chunk: pd.DataFrame, headers: list[str]) -> pd.Series:
    series = chunk[headers[0]]
    for other in headers[1:]:  # aliases: first non-empty value wins
        series = series.where(~empty_mask(series), chunk[other])
    return series


def convert(
    chunk: pd.DataFrame, fmt: Format, mapping: dict[str, list[str]], report: Report
) -> pd.DataFrame:
    """Typed values of one chunk (``None``/NaN for empty cells); errors go to ``report``."""
    out = pd.DataFrame({ROW: chunk[ROW].to_numpy()}, index=chunk.index)
    for column in fmt.columns:
        headers = mapping.get(column.name)
        if not headers:
            continue
        raw = _source(chunk, headers)
        empty = empty_mask(raw)
        if column.not_null:
            report.errors_where(chunk, empty, column.name, "Valeur obligatoire manquante.")
        out[column.field] = _convert_column(chunk, column, raw, empty, report)
    return out


def _convert_column(
    chunk: pd.DataFrame, column: Column, raw: pd.Series, empty: pd.Series, report: Report
) -> pd.Series:
    name = column.name
    kind = column.type
    if kind == "date":
        values, bad = parse_dates(raw)
        report.errors_where(
            chunk, bad, name, "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa).", raw
        )
        return values
    if kind == "decimal":
        values, bad = parse_decimals(raw)
        report.errors_where(chunk, bad, name, "Nombre illisible.", raw)
        if column.minimum is not None:
            report.errors_where(
                chunk,
                values < column.minimum,
                name,
                f"La valeur doit être supérieure ou égale à {column.minimum:g}.",
                raw,
            )
        return values
    if kind == "bool":
        values, bad = parse_booleans(raw)
        report.errors_where(chunk, bad, name, "Valeur oui/non illisible (oui, non, x, 1, 0).", raw)
        return values
    if kind == "flag":  # ma-cantine: OUI / x means yes, anything else no
        return by_unique(
            raw, lambda s: s.astype(str).str.strip().str.upper().isin(["OUI", "X", "O"])
        ).astype(bool)
    if kind == "family":
        values = by_unique(raw.where(~empty), lambda s: s.map(normalise_token).map(FAMILY_ALIASES))
        bad = values.isna() & ~empty
        report.errors_where(
            chunk,
            bad,
            name,
            "Famille « {value} » inconnue; familles possibles : " + ", ".join(FAMILIES) + ".",
            raw,
        )
        return values
    if kind == "labels":
        positions, uniques = pd.factorize(raw.where(~empty), use_na_sentinel=True)
        pairs = [normalise_labels(value) for value in uniques]
        # one more slot for the empty cells (position -1)
        known = np.array([p[0] for p in pairs] + [""], dtype=object)
        unknown_text = np.array([", ".join(p[1]) for p in pairs] + [""], dtype=object)
        codes = pd.Series(known[positions], index=raw.index)
        unknown = pd.Series(unknown_text[positions], index=raw.index)
        report.errors_where(
            chunk,
            unknown != "",
            name,
            lambda v: (
                "Label(s) inconnu(s) : " + v + ". Labels possibles : " + ", ".join(LABELS) + "."
            ),
            unknown,
        )
        return codes
    if kind == "choice":
        values = by_unique(raw.where(~empty), lambda s: s.map(normalise_token))
        bad = ~values.isin(list(column.choices)) & ~empty
        report.errors_where(
            chunk,
            bad,
            name,
            "Valeur « {value} » inconnue; valeurs possibles : " + ", ".join(column.choices) + ".",
            raw,
        )
        return values.where(~bad & ~empty, None)
    if kind == "siret":
        values = by_unique(raw.where(~empty), lambda s: s.map(compact_siret))
        limit = column.max_len or 20
        too_long = by_unique(values, lambda s: s.str.len() > limit).eq(True)
        report.errors_where(
            chunk, too_long, name, f"Identifiant trop long (au plus {limit} caractères).", raw
        )
        return values.where(~too_long, None)
    values = text_or_none(raw)
    if kind == "upper":
        values = by_unique(values, lambda s: s.astype(str).str.upper())
    if column.max_len:
        too_long = raw.str.len() > column.max_len
        report.errors_where(
            chunk,
            too_long,
            name,
            f"Texte trop long (au plus {column.max_len} caractères).",
            raw,
        )
    return values


def check_duplicates(frame: pd.DataFrame, keys: list[str], label: str, report: Report) -> None:
    """One error per row repeating the natural key of an earlier row of the file."""
    complete = frame[keys].notna().all(axis=1)
    subset = frame[complete]
    dup = subset.duplicated(keys, keep="first")
    if not dup.any():
        return
    first = subset.groupby(keys, sort=False)[ROW].transform("first")
    for row, first_row, key in zip(
        subset.loc[dup, ROW],
        first[dup],
        subset.loc[dup, keys].astype(str).agg(" / ".join, axis=1),
        strict=True,
    ):
        report.error(
            int(row),
            label,
            key,
            f"Doublon : même {label} que la ligne {int(first_row)}.",
        )


# -- formats ------------------------------------------------------------------------------------
FAMILY_DOC = "code de famille ma-cantine : " + ", ".join(FAMILIES)
LABELS_DOC = (
    "liste séparée par des virgules de labels ma-cantine ("
    + ", ".join(LABELS)
    + "); alias acceptés : AB → BIO, LR → LABEL_ROUGE, AOC/AOP → AOCAOP, MSC → PECHE_DURABLE"
)

PURCHASES = Format(
    key="purchases",
    title="Lignes d'achat des cantines (export du logiciel de gestion)",
    natural_key=("uai", "date", "siret_fournisseur", "reference_article ou libelle", "occurrence"),
    columns=(
        Column("uai", "uai", "upper", True, True, 8, doc="code UAI du lycée (8 caractères)"),
        Column(
            "date", "line_date", "date", True, True, aliases=("date_achat",), doc="date d'achat"
        ),
        Column(
            "siret_fournisseur",
            "supplier_siret",
            "siret",
            True,
            doc="SIRET du fournisseur (espaces ignorés)",
        ),
        Column("fournisseur", "supplier_name", "text", True, max_len=300, doc="nom du fournisseur"),
        Column(
            "reference_article",
            "reference",
            "text",
            True,
            max_len=100,
            aliases=("reference",),
            doc="référence de l'article chez le fournisseur",
        ),
        Column(
            "libelle",
            "label",
            "text",
            True,
            True,
            500,
            aliases=("designation", "libelle_article"),
            doc="libellé de l'article",
        ),
        Column(
            "quantite",
            "quantity",
            "decimal",
            True,
            minimum=0,
            aliases=("qte",),
            doc="quantité (≥ 0)",
        ),
        Column("unite", "unit", "text", True, max_len=20, doc="unité (kg, l, pièce...)"),
        Column(
            "prix_ht",
            "amount_ht",
            "decimal",
            aliases=("montant_ht",),
            doc="montant HT de la ligne, en euros",
        ),
        Column("famille_produits", "family", "family", doc=FAMILY_DOC),
        Column("categories_egalim", "labels", "labels", aliases=("labels",), doc=LABELS_DOC),
        Column("origine", "origin", "upper", max_len=50, doc="origine déclarée (texte libre)"),
        Column(
            "code_nomenclature",
            "nomenclature_code",
            "text",
            max_len=30,
            doc="code de l'article dans la nomenclature partagée",
        ),
    ),
    example=(
        "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht;"
        "famille_produits;categories_egalim;origine;code_nomenclature\n"
        "0350001A;02/03/2026;552 045 999 00869;Laiterie de l'Ouest;YA125;YAOURT NAT BIO 125G X48;"
        "48;pièce;21,60;PRODUITS_LAITIERS;BIO;FRANCE;N00012"
    ),
)

MACANTINE = Format(
    key="macantine",
    title="Achats au format national ma-cantine (import par SIRET)",
    natural_key=("uai du lycée choisi", "date", "description", "occurrence"),
    columns=(
        Column("siret", "canteen_siret", "siret", True, True, doc="SIRET de la cantine"),
        Column("description", "label", "text", True, True, 500, doc="description de l'achat"),
        Column("fournisseur", "supplier_name", "text", max_len=300, doc="nom du fournisseur"),
        Column("date", "line_date", "date", True, True, doc="date de l'achat (aaaa-mm-jj)"),
        Column("prix_ht", "amount_ht", "decimal", True, True, doc="prix HT (point décimal)"),
        Column("famille_produits", "family", "family", True, True, doc=FAMILY_DOC),
        Column("categories_egalim", "labels", "labels", doc=LABELS_DOC),
        Column("origine", "origin", "choice", choices=("EUROPE", "FRANCE"), doc="EUROPE ou FRANCE"),
        Column("est_circuit_court", "is_short_circuit", "flag", doc="OUI ou x pour oui"),
        Column("est_local", "is_local", "flag", doc="OUI ou x pour oui"),
        Column(
            "definition_local",
            "local_definition",
            "choice",
            choices=("PAT", "COMMUNE", "DEPARTEMENT", "REGION", "KM"),
            doc="obligatoire si est_local : PAT, COMMUNE, DEPARTEMENT, REGION ou KM",
        ),
        Column("definition_local_km", "local_km", "decimal", minimum=0, doc="distance en km"),
    ),
    example=(
        "siret,description,fournisseur,date,prix_ht,famille_produits,categories_egalim,origine,"
        "est_circuit_court,est_local,definition_local,definition_local_km\n"
        '21010034300016,"Pommes, rouges",Le bon traiteur,2022-05-02,90.11,FRUITS_ET_LEGUMES,'
        "BIO,FRANCE,,x,DEPARTEMENT,"
    ),
)

MATRIX = Format(
    key="matrix",
    title="Matrice produits d'un fournisseur",
    natural_key=("siret_fournisseur", "reference_article"),
    columns=(
        Column(
            "siret_fournisseur", "supplier_siret", "siret", True, True, doc="SIRET du fournisseur"
        ),
        Column(
            "reference_article",
            "reference",
            "text",
            True,
            True,
            100,
            aliases=("reference",),
            doc="référence de l'article",
        ),
        Column("libelle", "label", "text", True, True, 300, doc="libellé de l'article"),
        Column(
            "code_nomenclature", "nomenclature_code", "text", max_len=30, doc="code nomenclature"
        ),
        Column("categories_egalim", "labels", "labels", aliases=("labels",), doc=LABELS_DOC),
        Column("origine", "origin", "upper", max_len=50, doc="origine déclarée"),
        Column(
            "prix_unitaire_ht",
            "unit_price",
            "decimal",
            minimum=0,
            aliases=("prix_ht",),
            doc="prix unitaire HT en euros",
        ),
        Column("unite", "unit", "text", max_len=20, doc="unité de prix"),
        Column("debut_validite", "valid_from", "date", doc="début de validité"),
        Column("fin_validite", "valid_to", "date", doc="fin de validité (≥ début)"),
    ),
    example=(
        "siret_fournisseur;reference_article;libelle;code_nomenclature;categories_egalim;origine;"
        "prix_unitaire_ht;unite;debut_validite;fin_validite\n"
        "55204599900869;YA125;YAOURT NAT BIO 125G;N00012;BIO;FRANCE;0,45;pièce;01/01/2026;31/12/2026"
    ),
)

SUPPLIERS = Format(
    key="suppliers",
    title="Fournisseurs (ou extrait Sirene des établissements)",
    natural_key=("siret",),
    columns=(
        Column("siret", "siret", "siret", True, True, doc="SIRET (espaces ignorés)"),
        Column(
            "raison_sociale",
            "name",
            "text",
            True,
            True,
            300,
            aliases=(
                "denominationUniteLegale",
                "enseigne1Etablissement",
                "denominationUsuelleEtablissement",
                "nomUniteLegale",
            ),
            doc="raison sociale (Sirene : denominationUniteLegale, à défaut enseigne1Etablissement)",
        ),
        Column(
            "categorie_entreprise",
            "company_category",
            "choice",
            choices=COMPANY_CATEGORIES,
            aliases=("categorieEntreprise",),
            doc="PME, ETI ou GE (Sirene : categorieEntreprise)",
        ),
        Column(
            "tranche_effectifs",
            "headcount_bracket",
            "text",
            max_len=2,
            aliases=("trancheEffectifsUniteLegale", "trancheEffectifsEtablissement"),
            doc="tranche d'effectifs Sirene (NN, 00, 01, 02...)",
        ),
        Column(
            "code_commune",
            "commune_code",
            "text",
            max_len=5,
            aliases=("codeCommuneEtablissement",),
            doc="code commune INSEE de l'établissement",
        ),
        Column(
            "ess",
            "is_ess",
            "bool",
            aliases=("economieSocialeSolidaireUniteLegale",),
            doc="entreprise de l'ESS : O/N, oui/non",
        ),
    ),
    example=(
        "siret;raison_sociale;categorie_entreprise;tranche_effectifs;code_commune;ess\n"
        "55204599900869;Laiterie de l'Ouest;PME;12;35238;N"
    ),
)

NOMENCLATURE = Format(
    key="nomenclature",
    title="Nomenclature partagée des articles",
    natural_key=("code",),
    columns=(
        Column("code", "code", "text", True, True, 30, doc="code de l'article"),
        Column("libelle", "label", "text", True, True, 300, doc="libellé"),
        Column("famille", "family", "family", True, True, doc=FAMILY_DOC),
        Column("code_parent", "parent_code", "text", max_len=30, doc="code du parent (facultatif)"),
        Column("actif", "is_active", "bool", doc="oui/non (vide = oui)"),
    ),
    example="code;libelle;famille;code_parent;actif\nN00012;Yaourt nature;PRODUITS_LAITIERS;;oui",
)

SITES = Format(
    key="sites",
    title="Sites (lycées)",
    natural_key=("uai",),
    columns=(
        Column("uai", "uai", "upper", True, True, 8, doc="code UAI : 7 chiffres et une lettre"),
        Column("nom", "name", "text", True, True, 200, doc="nom du lycée"),
        Column("type", "kind", "text", max_len=50, doc="type de site (vide = lycee)"),
        Column("commune", "commune", "text", max_len=100, doc="commune"),
        Column("departement", "department", "text", max_len=3, doc="code département"),
        Column("direction", "direction_code", "upper", max_len=20, doc="code de la direction"),
        Column(
            "siret",
            "siret",
            "siret",
            max_len=14,
            doc="SIRET de la cantine (facultatif; relie les fichiers ma-cantine au lycée)",
        ),
    ),
    example=(
        "uai;nom;type;commune;departement;direction;siret\n"
        "0350001A;Lycée Chateaubriand;lycee;Rennes;35;DLYC;19350001400012"
    ),
)

FORMATS: dict[str, Format] = {
    f.key: f for f in (PURCHASES, MACANTINE, MATRIX, SUPPLIERS, NOMENCLATURE, SITES)
}


def detect_purchase_format(headers: list[str]) -> Format:
    """ma-cantine files have ``siret`` and ``description``, the canonical export ``uai``."""
    if "uai" not in headers and "description" in headers:
        return MACANTINE
    return PURCHASES


# -- kind-specific preparation (reference data passed in as dicts) -------------------------------
UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")


def prepare_purchases(
    frame: pd.DataFrame,
    report: Report,
    site_ids: dict[str, int],
    allowed_site_ids: set[int] | None,
    supplier_ids: dict[str, int],
) -> pd.DataFrame:
    """Canonical purchase lines: site by UAI (and the user's scope), supplier by SIRET."""
    frame["site_id"] = frame["uai"].map(site_ids)
    unknown = frame["uai"].notna() & frame["site_id"].isna()
    report.errors_where(frame, unknown, "uai", "Lycée inconnu (UAI « {value} »).", frame["uai"])
    if allowed_site_ids is not None:
        outside = frame["site_id"].notna() & ~frame["site_id"].isin(list(allowed_site_ids))
        report.errors_where(
            frame,
            outside,
            "uai",
            "Vous ne pouvez pas importer d'achats pour le lycée « {value} ».",
            frame["uai"],
        )
    frame["supplier_id"] = frame["supplier_siret"].map(supplier_ids)
    return frame


def prepare_macantine(
    frame: pd.DataFrame, report: Report, canteen_siret: str | None, site_uai: str | None
) -> pd.DataFrame:
    """ma-cantine lines: all for the chosen site; one canteen SIRET per file."""
    if canteen_siret is not None:
        other = frame["canteen_siret"].notna() & (frame["canteen_siret"] != canteen_siret)
        report.errors_where(
            frame,
            other,
            "siret",
            lambda v: (
                f"Ce fichier concerne la cantine de SIRET {canteen_siret} : "
                f"cette ligne porte un autre SIRET ({v})."
            ),
            frame["canteen_siret"],
        )
    if "is_local" in frame and "local_definition" in frame:
        missing = frame["is_local"].astype(bool) & frame["local_definition"].isna()
        report.errors_where(
            frame, missing, "definition_local", "Produit local : précisez la définition de local."
        )
    if site_uai is not None:
        frame["uai"] = site_uai
    frame["supplier_siret"] = None
    frame["reference"] = None
    return frame


def majority_value(series: pd.Series) -> Any:
    counts = series.dropna().value_counts()
    return None if counts.empty else counts.index[0]


def prepare_matrix(
    frame: pd.DataFrame, report: Report, supplier_ids: dict[str, int]
) -> pd.DataFrame:
    frame["supplier_id"] = frame["supplier_siret"].map(supplier_ids)
    unknown = frame["supplier_siret"].notna() & frame["supplier_id"].isna()
    report.errors_where(
        frame,
        unknown,
        "siret_fournisseur",
        "Fournisseur inconnu (SIRET « {value} ») : importez d'abord le fichier des fournisseurs.",
        frame["supplier_siret"],
    )
    if "valid_from" in frame and "valid_to" in frame:
        order = frame["valid_from"].notna() & frame["valid_to"].notna()
        bad = order & (frame["valid_to"] < frame["valid_from"])
        report.errors_where(
            frame, bad, "fin_validite", "La fin de validité précède le début de validité."
        )
    return frame


def prepare_sites(frame: pd.DataFrame, report: Report, directions: set[str]) -> pd.DataFrame:
    bad = frame["uai"].notna() & ~frame["uai"].astype(str).str.match(UAI_PATTERN.pattern)
    report.errors_where(
        frame, bad, "uai", "Code UAI invalide « {value} » (7 chiffres et une lettre).", frame["uai"]
    )
    if "direction_code" in frame:
        unknown = frame["direction_code"].notna() & ~frame["direction_code"].isin(list(directions))
        report.errors_where(
            frame, unknown, "direction", "Direction inconnue « {value} ».", frame["direction_code"]
        )
    if "kind" in frame:
        frame["kind"] = frame["kind"].fillna("lycee")
    return frame


def prepare_nomenclature(frame: pd.DataFrame, report: Report) -> pd.DataFrame:
    if "is_active" in frame:
        frame["is_active"] = frame["is_active"].map(lambda v: True if v is None else bool(v))
    return frame


PREPARE: dict[str, Callable[..., pd.DataFrame]] = {
    "matrix": prepare_matrix,
    "sites": prepare_sites,
    "nomenclature": prepare_nomenclature,
}
