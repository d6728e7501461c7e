"""The column specification of every tabular import, and purchase format detection."""

from __future__ import annotations

from workbench.core.values import MONEY_PRECISION, MONEY_SCALE, QUANTITY_MAX
from workbench.imports.formats.columns import Column, Format
from workbench.reference.models import COMPANY_CATEGORIES, FAMILIES, LABELS

#: ``(precision, scale)`` of the Money columns (``workbench.db.Money``).
MONEY = (MONEY_PRECISION, MONEY_SCALE)

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
            maximum=QUANTITY_MAX,
            aliases=("qte",),
            doc="quantité (≥ 0)",
        ),
        Column("unite", "unit", "text", True, max_len=20, doc="unité (kg, l, pièce...)"),
        Column(
            "prix_ht",
            "amount_ht",
            "decimal",
            numeric=MONEY,
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
        Column(
            "prix_ht",
            "amount_ht",
            "decimal",
            True,
            True,
            numeric=MONEY,
            doc="prix HT (point décimal)",
        ),
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
            numeric=MONEY,
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

DIRECTIONS = Format(
    key="directions",
    title="Directions (périmètre des comptes direction, des marchés et des fournisseurs)",
    natural_key=("code",),
    columns=(
        Column("code", "code", "upper", True, True, 20, doc="code de la direction (ex. DLYC)"),
        Column("nom", "name", "text", True, True, 200, doc="nom de la direction"),
        Column(
            "divisions_cpv",
            "cpv_divisions",
            "text",
            max_len=200,
            aliases=("cpv",),
            doc="divisions CPV (deux chiffres, séparées par des virgules) de ses marchés",
        ),
    ),
    example="code;nom;divisions_cpv\nDLYC;Direction des lycées;15,55",
)

USERS = Format(
    key="users",
    title="Comptes utilisateurs (création en masse)",
    natural_key=("email",),
    columns=(
        Column("email", "email", "text", True, True, 254, doc="adresse électronique du compte"),
        Column("nom", "name", "text", max_len=200, doc="nom affiché"),
        Column(
            "role",
            "role",
            "choice",
            True,
            True,
            choices=("CANTEEN", "DIRECTION", "LEGAL", "ADMIN", "VIEWER"),
            doc="canteen, direction, legal, admin ou viewer",
        ),
        Column(
            "lycees",
            "site_uais",
            "upper",
            max_len=2000,
            aliases=("lycee", "uai"),
            doc="codes UAI séparés par des virgules (obligatoire pour le rôle canteen)",
        ),
        Column(
            "direction",
            "direction",
            "upper",
            max_len=20,
            doc="code de la direction (obligatoire pour le rôle direction)",
        ),
    ),
    example=(
        "email;nom;role;lycees;direction\n"
        "cantine.chateaubriand@region.example;Cantine Chateaubriand;canteen;0350001A;\n"
        "direction.lycees@region.example;Direction des lycées;direction;;DLYC"
    ),
)

FORMATS: dict[str, Format] = {
    f.key: f
    for f in (PURCHASES, MACANTINE, MATRIX, SUPPLIERS, NOMENCLATURE, SITES, DIRECTIONS, USERS)
}


def detect_purchase_format(headers: list[str]) -> Format:
    """ma-cantine files have ``siret`` and ``description``, the canonical export ``uai``."""
    if "uai" not in headers and "description" in headers:
        return MACANTINE
    return PURCHASES
