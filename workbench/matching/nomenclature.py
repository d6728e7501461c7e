"""Build a canteen purchase nomenclature from the ANSES CIQUAL food list (pure, reproducible).

``build_nomenclature(ciqual_df)`` keeps the foods a lycée canteen buys, cleans their names,
maps CIQUAL sub-groups to ma-cantine purchase families and removes items that the matching
engine cannot tell apart (same normalised fingerprint, e.g. ``Boeuf, steak haché 5% MG, cru``
and ``... 10% MG, cru`` once fat percentages are removed).
"""

from __future__ import annotations

import re

import pandas as pd

from workbench.matching.engine import normalise

#: CIQUAL sub-group code (``ssgrp_code``) → ma-cantine purchase family.
SUBGROUP_FAMILY: dict[str, str] = {
    "0401": "VIANDES_VOLAILLES",
    "0402": "VIANDES_VOLAILLES",
    "0404": "VIANDES_VOLAILLES",
    "0403": "CHARCUTERIE",
    "0405": "PRODUITS_DE_LA_MER",
    "0406": "PRODUITS_DE_LA_MER",
    "0407": "PRODUITS_DE_LA_MER",
    "0408": "PRODUITS_DE_LA_MER",
    "0409": "PRODUITS_DE_LA_MER",
    "0410": "PRODUITS_LAITIERS",
    "0201": "FRUITS_ET_LEGUMES",
    "0202": "FRUITS_ET_LEGUMES",
    "0203": "FRUITS_ET_LEGUMES",
    "0204": "FRUITS_ET_LEGUMES",
    "0205": "FRUITS_ET_LEGUMES",
    "0501": "PRODUITS_LAITIERS",
    "0502": "PRODUITS_LAITIERS",
    "0503": "PRODUITS_LAITIERS",
    "0504": "PRODUITS_LAITIERS",
    "0901": "PRODUITS_LAITIERS",
    "0302": "BOULANGERIE",
    "0705": "BOULANGERIE",
    "0709": "BOULANGERIE",
    "0601": "BOISSONS",
    "0602": "BOISSONS",
}

#: Not bought by a lycée canteen: alcoholic drinks and infant foods.
EXCLUDED_GROUPS = ("0603",)
EXCLUDED_TOP_GROUPS = ("11",)

FAMILIES = (
    "VIANDES_VOLAILLES",
    "CHARCUTERIE",
    "PRODUITS_DE_LA_MER",
    "FRUITS_ET_LEGUMES",
    "PRODUITS_LAITIERS",
    "BOULANGERIE",
    "BOISSONS",
    "AUTRES",
)

_CLEAN_RES = [
    re.compile(r"\([^()]*\)"),  # parentheticals: examples, "(aliment moyen)", Latin names
    re.compile(r",?\s*pr[ée]emball[ée]e?s?", re.IGNORECASE),
    re.compile(r"\s+,"),
]


def clean_label(name: str) -> str:
    """A CIQUAL name made shorter and closer to a catalogue label."""
    text = str(name)
    for _ in range(2):  # nested parentheses
        text = _CLEAN_RES[0].sub("", text)
    text = _CLEAN_RES[1].sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;")
    text = _CLEAN_RES[2].sub(",", text)
    return text or str(name)


def build_nomenclature(ciqual: pd.DataFrame) -> pd.DataFrame:
    """Columns ``code,label,family,parent_code,ciqual_code`` — one row per distinct item.

    ``code`` is ``NOM-<alim_code>`` (5 digits), ``parent_code`` is ``GRP-<ssgrp_code>``.
    Among items sharing a normalised fingerprint, the shortest label (then the lowest CIQUAL
    code) is kept.
    """
    df = ciqual.copy()
    df["alim_code"] = df["alim_code"].astype(str).str.strip()
    df["ssgrp_code"] = df["ssgrp_code"].astype(str).str.zfill(4)
    df["grp_code"] = df["grp_code"].astype(str).str.zfill(2)
    keep = ~df["ssgrp_code"].isin(EXCLUDED_GROUPS) & ~df["grp_code"].isin(EXCLUDED_TOP_GROUPS)
    keep &= ~df["alim_nom_fr"].str.contains(r"prélevée? à|dès \d", case=False, regex=True)
    df = df[keep].copy()
    df["label"] = df["alim_nom_fr"].map(clean_label)
    df["fingerprint"] = df["label"].map(lambda s: normalise(s).fingerprint)
    df = df[df["fingerprint"] != ""]
    df["_len"] = df["label"].str.len()
    df["_num"] = pd.to_numeric(df["alim_code"], errors="coerce")
    df = df.sort_values(["fingerprint", "_len", "_num"]).drop_duplicates("fingerprint")
    df = df.sort_values("_num")
    out = pd.DataFrame(
        {
            "code": "NOM-" + df["alim_code"].str.zfill(5),
            "label": df["label"],
            "family": df["ssgrp_code"].map(SUBGROUP_FAMILY).fillna("AUTRES"),
            "parent_code": "GRP-" + df["ssgrp_code"],
            "ciqual_code": df["alim_code"],
        }
    )
    return out.reset_index(drop=True)
