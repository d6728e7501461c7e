"""The demo nomenclature and supplier-style article labels (pure: pandas only, no Flask, no db).

The nomenclature comes, in order of preference, from:

1. ``workbench/data/nomenclature_seed.csv`` (columns ``code,label,family,parent_code``) when it
   exists — the shared seed written by the matching feature;
2. otherwise :func:`workbench.matching.nomenclature.build_nomenclature` run on the CIQUAL list
   (``workbench/data/ciqual_foods_with_groups.csv``);
3. otherwise a minimal local cleaning of the CIQUAL list (same code scheme).

Codes are always ``NOM-<CIQUAL alim_code on 5 digits>`` with parent ``GRP-<CIQUAL sub-group>``,
so all three sources agree. :func:`canteen_selection` then keeps the few hundred items a lycée
canteen actually buys (raw meat and fish rather than cooked dishes, no offal or game, no
alcohol or baby food), capped per CIQUAL sub-group.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from workbench.matching.nomenclature import SUBGROUP_FAMILY

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SEED_CSV = DATA_DIR / "nomenclature_seed.csv"
CIQUAL_CSV = DATA_DIR / "ciqual_foods_with_groups.csv"


#: Sub-groups a canteen does not buy as such: cooked meat/fish dishes (it buys them raw),
#: sandwiches, alcohol, fish oils, special diets, infant foods, "no group".
EXCLUDED_SUBGROUPS = frozenset(
    [
        "0000",
        "0105",
        "0303",
        "0401",
        "0405",
        "0407",
        "0603",
        "0904",
        "1008",
        "1101",
        "1102",
        "1103",
        "1104",
    ]
)

#: Foods no lycée canteen orders (offal, game, exotic meats, alcohol, baby food...).
EXCLUDED_WORDS = re.compile(
    r"cheval|cervelle|rognon|langue|tripe|c(?:oe|œ)ur|foie gras|gibier|sanglier|chevreuil|cerf|biche|"
    r"autruche|kangourou|bison|escargot|grenouille|pigeon|caille|faisan|perdrix|li[eè]vre|\boie\b|"
    r"alcool|\bvin\b|bi[eè]re|cidre|liqueur|infantile|b[ée]b[ée]|nourrisson|[ée]nergisante|"
    r"crocodile|requin|phoque|\bours|cuite? au four|r[ôo]ti|grill[ée]|fri(?:t|te)\b|po[êe]l[ée]|"
    r"bouilli|vapeur|brais[ée]|saut[ée]|micro-ondes|pr[ée]lev|d[èe]s \d|aliment moyen|\bpied|\bfoie\b|"
    r"fast food|milk-shake|hypocalorique|di[ée]t[ée]tique|jument|[âa]nesse|robinet|yakitori|sushi|"
    r"maki\b|ris\b|amourette|tendron de|moelle",
    re.IGNORECASE,
)

#: Items kept per CIQUAL sub-group (default :data:`DEFAULT_CAP`), shortest (most generic) first.
SUBGROUP_CAPS: dict[str, int] = {
    "0201": 60,
    "0204": 35,
    "0202": 10,
    "0203": 10,
    "0205": 4,
    "0402": 40,
    "0404": 6,
    "0403": 30,
    "0406": 30,
    "0408": 10,
    "0409": 12,
    "0410": 6,
    "0501": 8,
    "0502": 35,
    "0503": 35,
    "0504": 4,
    "0901": 5,
    "0302": 15,
    "0705": 10,
    "0709": 20,
    "0601": 6,
    "0602": 15,
    "0101": 6,
    "0102": 6,
    "0103": 12,
    "0104": 8,
    "0301": 20,
}
DEFAULT_CAP = 4


def fold(text: str) -> str:
    """Upper case without accents or ligatures, as supplier software prints labels."""
    text = str(text).replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip().upper()


def _strip_parentheses(label: str) -> str:
    for _ in range(2):
        label = re.sub(r"\([^()]*\)", "", label)
    label = re.sub(r",?\s*(?:pr[ée]emball[ée]e?s?|rayon frais)", "", label, flags=re.IGNORECASE)
    label = re.sub(r"\s+", " ", label).strip(" ,;")
    return re.sub(r"\s+,", ",", label)


def _local_build(ciqual: pd.DataFrame) -> pd.DataFrame:
    df = ciqual.copy()
    df["ssgrp_code"] = df["ssgrp_code"].astype(str).str.zfill(4)
    df["label"] = df["alim_nom_fr"].map(_strip_parentheses)
    df = df.drop_duplicates("label")
    return pd.DataFrame(
        {
            "code": "NOM-" + df["alim_code"].astype(str).str.strip().str.zfill(5),
            "label": df["label"],
            "family": df["ssgrp_code"].map(SUBGROUP_FAMILY).fillna("AUTRES"),
            "parent_code": "GRP-" + df["ssgrp_code"],
        }
    ).reset_index(drop=True)


def base_nomenclature() -> tuple[pd.DataFrame, str]:
    """The full nomenclature (code, label, family, parent_code) and the name of its source."""
    if SEED_CSV.exists():
        seed = pd.read_csv(SEED_CSV, dtype=str, keep_default_na=False)
        seed["parent_code"] = seed["parent_code"].replace("", None)
        return seed[
            ["code", "label", "family", "parent_code"]
        ], "workbench/data/nomenclature_seed.csv"
    ciqual = pd.read_csv(CIQUAL_CSV, dtype=str, keep_default_na=False)
    try:
        from workbench.matching.nomenclature import build_nomenclature
    except ImportError:
        return _local_build(ciqual), "workbench.demo.nomenclature (CIQUAL)"
    built = build_nomenclature(ciqual)
    return built[
        ["code", "label", "family", "parent_code"]
    ], "workbench.matching.nomenclature.build_nomenclature"


def canteen_selection(nomenclature: pd.DataFrame) -> pd.DataFrame:
    """The items a lycée canteen buys: several hundred rows, deterministic (no randomness)."""
    df = nomenclature.copy()
    df["_sub"] = df["parent_code"].fillna("").str.replace("GRP-", "", regex=False)
    keep = ~df["_sub"].isin(EXCLUDED_SUBGROUPS) & ~df["label"].str.contains(EXCLUDED_WORDS)
    keep &= df["label"].str.len() <= 70
    df = df[keep].copy()
    df["_len"] = df["label"].str.len()
    df["_cap"] = df["_sub"].map(SUBGROUP_CAPS).fillna(DEFAULT_CAP).astype(int)
    df = df.sort_values(["_sub", "_len", "code"])
    df = df[df.groupby("_sub").cumcount() < df["_cap"]]
    return df.sort_values("code")[["code", "label", "family", "parent_code"]].reset_index(drop=True)


def demo_nomenclature() -> tuple[pd.DataFrame, str]:
    """The demo nomenclature (canteen selection of :func:`base_nomenclature`) and its source."""
    base, source = base_nomenclature()
    return canteen_selection(base), source


# --------------------------------------------------------------------------------------------
# Supplier-style labels
# --------------------------------------------------------------------------------------------

#: Word abbreviations supplier software uses (applied on folded text, longest first).
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("POMMES DE TERRE", "PDT"),
    ("POMME DE TERRE", "PDT"),
    ("MATIERES GRASSES", "MG"),
    ("MATIERE GRASSE", "MG"),
    ("DEMI-ECREME", "1/2 ECR"),
    ("ECREME", "ECR"),
    ("BOEUF", "BF"),
    ("NATURE", "NAT"),
    ("FROMAGE", "FROM"),
    ("TRANCHEES", "TR"),
    ("TRANCHES", "TR"),
    ("TRANCHE", "TR"),
    ("CHOCOLAT", "CHOC"),
    ("VANILLE", "VAN"),
    ("SAUCE", "SCE"),
    ("LEGUMES", "LEG"),
    ("PREPARATION", "PREP"),
    ("MORCEAUX", "MCX"),
    ("AROMATISE", "AROM"),
    ("NON SALE", "S/SEL"),
    ("SANS ARETES", "S/ARETE"),
    ("SURGELE", "SURG"),
)

_FILLER = frozenset(
    [
        "CRU",
        "CRUE",
        "CRUS",
        "CRUES",
        "DE",
        "DU",
        "DES",
        "LA",
        "LE",
        "LES",
        "L",
        "D",
        "AU",
        "AUX",
        "A",
        "ET",
        "EN",
        "POUR",
        "STANDARD",
        "OU",
        "SANS",
        "AVEC",
        "TYPE",
        "MOYEN",
        "ALIMENT",
        "PRODUIT",
    ]
)


#: Species put after the cut in meat labels ("Boeuf, steak haché" → "STEAK HACHE BF").
_SPECIES = frozenset(
    [
        "BOEUF",
        "VEAU",
        "PORC",
        "AGNEAU",
        "MOUTON",
        "POULET",
        "DINDE",
        "DINDONNEAU",
        "CANARD",
        "LAPIN",
        "PINTADE",
        "POULE",
        "COQ",
    ]
)


def article_core(label: str, max_words: int = 6) -> str:
    """The product part of a supplier label from a nomenclature label.

    >>> article_core("Boeuf, steak haché 15% MG, cru")
    'STEAK HACHE 15% MG BF'
    """
    parts = [p.strip() for p in _strip_parentheses(label).split(",") if p.strip()]
    parts = [p for p in parts if not p.lower().startswith("ou ")][:3]
    parts = [re.split(r"\s+ou\s+", p)[0] for p in parts]
    if len(parts) >= 2 and fold(parts[0]) in _SPECIES:
        parts = [parts[1], parts[0], *parts[2:]]  # "Boeuf, steak haché" → "steak haché boeuf"
    text = fold(" ".join(parts))
    text = re.sub(r"[';:\"]", " ", text)
    text = text.replace("D ", "D'").replace("L ", "L'")
    for long, short in ABBREVIATIONS:
        text = re.sub(rf"\b{re.escape(long)}\b", short, text)
    words = [w for w in text.replace("'", " ").split() if w not in _FILLER]
    return " ".join(words[:max_words]) or fold(label)[:40]


def compose_label(
    core: str, *, quality: str = "", origin: str = "", state: str = "", pack: str = ""
) -> str:
    """A supplier label: product, quality and origin tokens, state, pack (blanks skipped)."""
    return " ".join(t for t in (core, quality, origin, state, pack) if t)
