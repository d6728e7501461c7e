"""Fixed reference lists of the demo dataset: sites, suppliers, article economics, labels.

Nothing random here: :mod:`workbench.demo.generate` draws from these lists with its seeded
generator. See ``docs/demo.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

SIZES: dict[str, int] = {"small": 20_000, "large": 200_000, "regional": 1_000_000}
#: Lycées of the regional demo (the Region's 115: the 10 named ones and 105 numbered ones).
REGIONAL_SITES = 115
ORIGINS = ("FRANCE", "UE", "HORS_UE")
UNITS = ("KG", "L", "U")
REGION_SIRET = "23350001600040"
REGION_NAME = "Région Bretagne"
SCHOOL_YEAR = (dt.date(2025, 9, 1), dt.date(2026, 6, 30))
#: School holidays (zone B, 2025-2026): no deliveries.
HOLIDAYS = (
    (dt.date(2025, 10, 18), dt.date(2025, 11, 2)),
    (dt.date(2025, 12, 20), dt.date(2026, 1, 4)),
    (dt.date(2026, 2, 7), dt.date(2026, 2, 22)),
    (dt.date(2026, 4, 4), dt.date(2026, 4, 19)),
)

DIRECTIONS = pd.DataFrame(
    [
        ("DLYC", "Direction des lycées", "15,55,39"),
        ("DIMM", "Direction de l'immobilier et de la logistique", "45,50,70,71,90"),
        ("DSIN", "Direction des systèmes d'information et du numérique", "30,32,48,72,64,79,80"),
    ],
    columns=["code", "name", "cpv_divisions"],
)

#: (name, commune, department, INSEE commune code, 7-digit UAI number, relative size).
LYCEES = (
    ("Lycée Chateaubriand", "Rennes", "35", "35238", 350024, 1.4),
    ("Lycée Bréquigny", "Rennes", "35", "35238", 350028, 1.3),
    ("Lycée Jacques Cartier", "Saint-Malo", "35", "35288", 350102, 0.9),
    ("Lycée de l'Harteloire", "Brest", "29", "29019", 290008, 1.0),
    ("Lycée Brizeux", "Quimper", "29", "29232", 290069, 1.1),
    ("Lycée Tristan Corbière", "Morlaix", "29", "29151", 290051, 0.7),
    ("Lycée Dupuy de Lôme", "Lorient", "56", "56121", 560026, 1.2),
    ("Lycée Alain-René Lesage", "Vannes", "56", "56260", 560051, 1.0),
    ("Lycée Ernest Renan", "Saint-Brieuc", "22", "22278", 220057, 0.9),
    ("Lycée Félix Le Dantec", "Lannion", "22", "22113", 220023, 0.6),
)

ALL = (
    "VIANDES_VOLAILLES",
    "CHARCUTERIE",
    "PRODUITS_DE_LA_MER",
    "FRUITS_ET_LEGUMES",
    "PRODUITS_LAITIERS",
    "BOULANGERIE",
    "BOISSONS",
    "AUTRES",
)

#: Food suppliers: (name, families, kind, weight). kind: farm (short circuit), bio, wholesale, trade.
FOOD_SUPPLIERS = (
    ("ARMOR VIANDES SAS", ("VIANDES_VOLAILLES",), "trade", 1.5),
    ("BOUCHERIE DU TREGOR SARL", ("VIANDES_VOLAILLES", "CHARCUTERIE"), "trade", 0.8),
    ("VOLAILLES DE L'ARGOAT SAS", ("VIANDES_VOLAILLES",), "trade", 1.0),
    ("GAEC DE KERBASTARD", ("VIANDES_VOLAILLES",), "farm", 0.4),
    ("ABATTOIR DU MENE SA", ("VIANDES_VOLAILLES",), "trade", 0.8),
    ("SALAISONS DE L'ODET SAS", ("CHARCUTERIE",), "trade", 0.7),
    ("CHARCUTERIE LE GALL SARL", ("CHARCUTERIE",), "trade", 0.5),
    ("MAREE D'IROISE SAS", ("PRODUITS_DE_LA_MER",), "trade", 1.0),
    ("CRIEE SERVICES CORNOUAILLE SARL", ("PRODUITS_DE_LA_MER",), "trade", 0.6),
    ("OCEAN SURGELES OUEST SAS", ("PRODUITS_DE_LA_MER", "FRUITS_ET_LEGUMES"), "trade", 1.0),
    ("PRIMEURS DE LA RANCE SAS", ("FRUITS_ET_LEGUMES",), "trade", 1.2),
    ("EARL DU PRE VERT", ("FRUITS_ET_LEGUMES",), "farm", 0.4),
    ("EARL LES JARDINS DE PLOUGASTEL", ("FRUITS_ET_LEGUMES",), "farm", 0.4),
    ("SCA TERRES DE SAINT-POL", ("FRUITS_ET_LEGUMES",), "trade", 0.8),
    ("LEGUMERIE DU PENTHIEVRE SAS", ("FRUITS_ET_LEGUMES",), "trade", 0.7),
    ("GAEC TY LOGOD", ("PRODUITS_LAITIERS",), "farm", 0.4),
    ("LAITERIE DU POHER SAS", ("PRODUITS_LAITIERS",), "trade", 1.2),
    ("FROMAGERIE DE L'ARREE SARL", ("PRODUITS_LAITIERS",), "trade", 0.6),
    ("CREMERIE ARMORICAINE SAS", ("PRODUITS_LAITIERS",), "trade", 0.8),
    ("BOULANGERIE KERAVEL SARL", ("BOULANGERIE",), "trade", 0.9),
    ("FOURNIL DU BLAVET EURL", ("BOULANGERIE",), "trade", 0.5),
    ("PATISSERIE SURGELEE DE L'OUEST SAS", ("BOULANGERIE",), "trade", 0.6),
    ("BOISSONS DE CORNOUAILLE SAS", ("BOISSONS",), "trade", 0.4),
    ("CIDRERIE ET JUS DU TREGOR SARL", ("BOISSONS",), "trade", 0.3),
    ("EPICERIE COLLECTIVE DE BRETAGNE SAS", ("AUTRES",), "trade", 1.2),
    ("OUEST RESTAURATION DISTRIBUTION SAS", ALL, "wholesale", 2.5),
    ("BREIZH FOOD SERVICE SAS", ALL, "wholesale", 2.0),
    ("GRANDS MOULINS DE L'OUST SA", ("AUTRES", "BOULANGERIE"), "trade", 0.6),
    ("CONSERVERIE DE DOUARNENEZ SAS", ("PRODUITS_DE_LA_MER", "AUTRES"), "trade", 0.5),
    ("SCIC BIO ARMORIQUE DISTRIBUTION", ALL, "bio", 1.0),
)
#: Second spelling of the first supplier: same SIREN, another establishment (NIC).
DUPLICATE_SPELLING = "SAS ARMOR-VIANDES"

#: Other suppliers (contract holders): (name, direction, CPV division, ESS).
OTHER_SUPPLIERS = (
    ("BATI ARMOR CONSTRUCTION SAS", "DIMM", "45", False),
    ("ETANCHEITE OUEST SARL", "DIMM", "45", False),
    ("ELECTRICITE GENERALE DU MORBIHAN SAS", "DIMM", "45", False),
    ("MENUISERIES DE L'ELORN SARL", "DIMM", "45", False),
    ("CHARPENTE COUVERTURE LE BIHAN SARL", "DIMM", "45", False),
    ("ATELIER D'ARCHITECTURE KERLEROUX SARL", "DIMM", "71", False),
    ("BUREAU D'ETUDES FLUIDES ATLANTIQUE SAS", "DIMM", "71", False),
    ("PROPRETE SERVICES BRETAGNE SAS", "DIMM", "90", False),
    ("ATELIERS DU RHEU ENTREPRISE ADAPTEE", "DIMM", "90", True),
    ("SCOP ESPACES VERTS DU LEFF", "DIMM", "90", True),
    ("ASCENSEURS SERVICE OUEST SAS", "DIMM", "50", False),
    ("OUEST INFORMATIQUE SA", "DSIN", "30", False),
    ("NUMERIQUE BREIZH SAS", "DSIN", "72", False),
    ("LOGICIELS PUBLICS SAS", "DSIN", "48", False),
    ("TELECOM ARMOR RESEAUX SAS", "DSIN", "64", False),
    ("FORMATION NUMERIQUE OUEST SARL", "DSIN", "80", False),
    ("CONSEIL ACHAT PUBLIC SAS", "DSIN", "79", False),
    ("ENERGIES DE FRANCE COLLECTIVITES SA", None, "09", False),
    ("CARS DE L'ODET SAS", None, "60", False),
    ("MOBILIER SCOLAIRE DE L'OUEST SAS", "DLYC", "39", False),
)

BRETON_COMMUNES = (
    "35238",
    "29019",
    "29232",
    "56121",
    "56260",
    "22278",
    "22113",
    "35288",
    "29151",
    "56178",
    "22050",
    "35360",
    "35115",
    "29103",
    "22093",
    "56098",
)
OTHER_COMMUNES = ("44109", "75056", "69123", "53130", "49007", "14118")

HEADCOUNT = {
    "PME": ("00", "01", "02", "03", "11", "12", "21", "22", "31"),
    "ETI": ("32", "41", "42"),
    "GE": ("51", "52", "53"),
}


@dataclass(frozen=True)
class Spec:
    """Article economics of a family: unit, price range per unit, pack formats, states."""

    unit: str
    price: tuple[float, float]
    packs: tuple[str, ...]
    states: tuple[str, ...]


FAMILY_SPECS: dict[str, Spec] = {
    "VIANDES_VOLAILLES": Spec(
        "KG",
        (7.0, 19.0),
        ("10X1KG", "5KG", "2.5KG", "SAC 2KG", "COLIS 10KG", "3KG"),
        ("FRAIS", "SURG", "", "S/V"),
    ),
    "CHARCUTERIE": Spec(
        "KG", (6.0, 16.0), ("1KG", "2KG", "X10 TR", "BQ 500G", "PCE 4KG"), ("", "", "FRAIS")
    ),
    "PRODUITS_DE_LA_MER": Spec(
        "KG",
        (8.0, 24.0),
        ("CT 5KG", "1KG", "SAC 2.5KG", "CT 10KG", "6X1KG"),
        ("SURG", "IQF", "FRAIS", ""),
    ),
    "FRUITS_ET_LEGUMES": Spec(
        "KG",
        (0.9, 4.5),
        ("SAC 10KG", "CT 5KG", "COLIS 6KG", "2.5KG", "5/1", "4/4", "SAC 25KG"),
        ("", "FRAIS", "SURG", "IQF", "4E GAMME"),
    ),
    "PRODUITS_LAITIERS": Spec(
        "KG",
        (4.0, 16.0),
        ("1KG", "2.5KG", "PCE 3KG", "BQ 500G", "X48", "125G X48", "6X1L"),
        ("", "", "FRAIS"),
    ),
    "BOULANGERIE": Spec(
        "KG", (2.5, 8.0), ("X60", "PCE 400G", "X30", "CT 3KG", "X100"), ("", "SURG", "CRU SURG")
    ),
    "BOISSONS": Spec("L", (0.45, 2.6), ("6X1L", "1.5L", "20CL X24", "BIB 5L", "1L"), ("",)),
    "AUTRES": Spec(
        "KG",
        (1.2, 9.0),
        ("5KG", "BTE 1KG", "SEAU 5KG", "3/1", "5/1", "SAC 10KG", "1KG"),
        ("", "", "SURG"),
    ),
}

#: Share of matrix articles carrying each label, per family (a "bio" supplier: BIO at 85 %).
LABEL_RATES: dict[str, dict[str, float]] = {
    "VIANDES_VOLAILLES": {"BIO": 0.09, "LABEL_ROUGE": 0.08, "IGP": 0.02, "FERMIER": 0.03},
    "CHARCUTERIE": {"BIO": 0.08, "LABEL_ROUGE": 0.05, "IGP": 0.03},
    "PRODUITS_DE_LA_MER": {"BIO": 0.02, "PECHE_DURABLE": 0.18, "LABEL_ROUGE": 0.02},
    "FRUITS_ET_LEGUMES": {"BIO": 0.19, "HVE": 0.05, "IGP": 0.01},
    "PRODUITS_LAITIERS": {"BIO": 0.17, "AOCAOP": 0.07, "FERMIER": 0.03},
    "BOULANGERIE": {"BIO": 0.12, "LABEL_ROUGE": 0.01},
    "BOISSONS": {"BIO": 0.11, "COMMERCE_EQUITABLE": 0.04},
    "AUTRES": {"BIO": 0.10, "COMMERCE_EQUITABLE": 0.03},
}
LABEL_TOKENS = {
    "BIO": ("BIO", "AB"),
    "LABEL_ROUGE": ("LR",),
    "AOCAOP": ("AOP",),
    "IGP": ("IGP",),
    "PECHE_DURABLE": ("MSC",),
    "HVE": ("HVE",),
    "FERMIER": ("FERMIER",),
    "COMMERCE_EQUITABLE": ("EQUITABLE",),
}
ORIGIN_RATES = {
    "VIANDES_VOLAILLES": (0.75, 0.20, 0.05),
    "CHARCUTERIE": (0.80, 0.20, 0.0),
    "PRODUITS_DE_LA_MER": (0.40, 0.30, 0.30),
    "FRUITS_ET_LEGUMES": (0.70, 0.22, 0.08),
    "PRODUITS_LAITIERS": (0.90, 0.10, 0.0),
    "BOULANGERIE": (0.85, 0.15, 0.0),
    "BOISSONS": (0.60, 0.35, 0.05),
    "AUTRES": (0.50, 0.30, 0.20),
}
