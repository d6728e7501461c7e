"""The demo dataset as DataFrames, one per table (pure: numpy/pandas, no Flask, no database).

:func:`generate_demo` returns the same frames for the same ``(seed, size, lines)``: every random
draw comes from one ``numpy.random.Generator`` seeded once, and reference lists are fixed.
Columns named like the model columns are loaded as such; a few extra columns (``key``,
``supplier_key``, ``true_code``, ``error``...) link frames together or document the truth
behind the deliberate mistakes, and are not loaded.

Closed lists and conventions (documented in ``docs/demo.md``):

- origins are ``FRANCE``, ``UE`` (European Union outside France) or ``HORS_UE`` — :data:`ORIGINS`;
- units are ``KG``, ``L``, ``U`` (piece / pot) — :data:`UNITS`;
- contract directions follow :data:`DIRECTIONS` ``cpv_divisions``; a CPV division listed by no
  direction (energy 09, transport 60, insurance 66...) leaves ``direction_code`` NULL, so only
  region-wide roles (admin, legal, viewer) see those contracts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from stdnum import luhn

from workbench.demo.catalogue import (  # noqa: F401  (re-exported)
    ALL,
    BRETON_COMMUNES,
    DIRECTIONS,
    DUPLICATE_SPELLING,
    FAMILY_SPECS,
    FOOD_SUPPLIERS,
    HEADCOUNT,
    HOLIDAYS,
    LABEL_RATES,
    LABEL_TOKENS,
    LYCEES,
    ORIGIN_RATES,
    ORIGINS,
    OTHER_COMMUNES,
    OTHER_SUPPLIERS,
    REGION_NAME,
    REGION_SIRET,
    SCHOOL_YEAR,
    SIZES,
    UNITS,
    Spec,
)
from workbench.demo.nomenclature import article_core, compose_label, demo_nomenclature
from workbench.records.keys import purchase_line_keys
from workbench.reference.models import EGALIM_LABELS

# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


def uai_code(number: int) -> str:
    """A UAI (ex-RNE) code: 7 digits and the check letter (number mod 23 in the 23-letter alphabet)."""
    return f"{number:07d}" + "ABCDEFGHJKLMNPRSTUVWXYZ"[number % 23]


def make_siren(rng: np.random.Generator) -> str:
    """A random SIREN with a valid Luhn check digit (never starting with 0)."""
    body = str(int(rng.integers(1, 10))) + "".join(str(d) for d in rng.integers(0, 10, 7))
    return body + luhn.calc_check_digit(body)


def make_siret(rng: np.random.Generator, siren: str | None = None) -> str:
    """A random valid SIRET (SIREN and 14-digit Luhn both valid) of ``siren`` if given."""
    siren = siren or make_siren(rng)
    nic = "".join(str(d) for d in rng.integers(0, 10, 4))
    return siren + nic + luhn.calc_check_digit(siren + nic)


def corrupt_siret(siret: str) -> str:
    """The same SIRET with its last digit changed, so that the Luhn checksum fails."""
    return siret[:-1] + str((int(siret[-1]) + 3) % 10)


def school_days(start: dt.date = SCHOOL_YEAR[0], end: dt.date = SCHOOL_YEAR[1]) -> pd.DatetimeIndex:
    days = pd.bdate_range(start, end)
    for first, last in HOLIDAYS:
        days = days[(days < pd.Timestamp(first)) | (days > pd.Timestamp(last))]
    return days


# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------


def eple_siret(department: str, number: int) -> str:
    """A lycée's own SIRET (EPLE: SIREN starting with 19 and the department), head office NIC."""
    body = f"19{department}{number % 10_000:04d}"
    siren = body + luhn.calc_check_digit(body)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


def generate_sites() -> pd.DataFrame:
    rows = [
        {
            "uai": uai_code(number),
            "siret": eple_siret(dep, number),
            "name": name,
            "kind": "lycee",
            "commune": commune,
            "department": dep,
            "direction_code": "DLYC",
            "commune_code": insee,
            "weight": weight,
        }
        for name, commune, dep, insee, number, weight in LYCEES
    ]
    return pd.DataFrame(rows)


def _category(rng: np.random.Generator, kind: str) -> tuple[str | None, str | None]:
    if kind == "farm":
        return "PME", str(rng.choice(["01", "02", "NN"]))
    if kind == "wholesale":
        category = str(rng.choice(["ETI", "GE"], p=[0.4, 0.6]))
    else:
        category = str(rng.choice(["PME", "ETI", "GE"], p=[0.8, 0.15, 0.05]))
    return category, str(rng.choice(HEADCOUNT[category]))


def generate_suppliers(rng: np.random.Generator) -> pd.DataFrame:
    """~50 suppliers: 30 food suppliers (with matrices), 20 others, one twice under two spellings.

    Defects by design: 3 SIRETs failing Luhn, 2 missing, 4 without company category, some
    outside Brittany. ``key`` is a stable integer id inside the frames.
    """
    rows = []
    for name, families, kind, weight in FOOD_SUPPLIERS:
        category, headcount = _category(rng, kind)
        rows.append(
            {
                "name": name,
                "families": families,
                "kind": kind,
                "weight": weight,
                "company_category": category,
                "headcount_bracket": headcount,
                "is_ess": kind == "bio" or name.startswith("SCA "),
                "direction_code": "DLYC",
                "cpv_division": "15",
            }
        )
    for name, direction, division, ess in OTHER_SUPPLIERS:
        category, headcount = _category(rng, "trade")
        if name.startswith(("ENERGIES", "LOGICIELS")):
            category, headcount = "GE", "52"
        rows.append(
            {
                "name": name,
                "families": (),
                "kind": "other",
                "weight": 0.0,
                "company_category": category,
                "headcount_bracket": headcount,
                "is_ess": ess,
                "direction_code": direction,
                "cpv_division": division,
            }
        )
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame["siret"] = [make_siret(rng) for _ in range(n)]
    out_of_region = set(rng.choice(np.arange(n), 6, replace=False).tolist()) | {n - 3, n - 4}
    frame["commune_code"] = [
        str(rng.choice(OTHER_COMMUNES)) if i in out_of_region else str(rng.choice(BRETON_COMMUNES))
        for i in range(n)
    ]
    # deliberate defects, on fixed positions so every seed has them
    for i in (8, 21, 38):
        frame.loc[i, "siret"] = corrupt_siret(frame.loc[i, "siret"])
    for i in (12, 44):
        frame.loc[i, "siret"] = None
    for i in (6, 19, 33, 47):
        frame.loc[i, ["company_category", "headcount_bracket"]] = [None, None]
    twin = frame.iloc[0].to_dict()
    twin.update(
        name=DUPLICATE_SPELLING, siret=make_siret(rng, frame.loc[0, "siret"][:9]), weight=0.0
    )
    frame = pd.concat([frame, pd.DataFrame([twin])], ignore_index=True)
    frame["siret_valid"] = frame["siret"].map(_siret_is_valid)
    frame.insert(0, "key", np.arange(len(frame)))
    return frame


def _siret_is_valid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        return False
    return luhn.is_valid(value) and luhn.is_valid(value[:9])


# --------------------------------------------------------------------------------------------
# Supplier matrices
# --------------------------------------------------------------------------------------------


def _origin_token(rng: np.random.Generator, origin: str, core: str, family: str) -> str:
    if origin == "FRANCE":
        if family == "VIANDES_VOLAILLES" and (" BF" in f" {core}" or "VEAU" in core):
            return "VBF" if rng.random() < 0.8 else "ORIGINE FRANCE"
        if family == "CHARCUTERIE" or "PORC" in core:
            return "VPF" if rng.random() < 0.6 else ""
        return str(rng.choice(["ORIGINE FRANCE", "FR", "", ""]))
    if origin == "UE":
        return "UE" if rng.random() < 0.4 else ""
    return ""


def _unit_and_pack(rng: np.random.Generator, family: str, core: str) -> tuple[str, str, float]:
    spec = FAMILY_SPECS[family]
    unit, low, high = spec.unit, *spec.price
    packs = spec.packs
    if family == "PRODUITS_LAITIERS" and any(
        w in core for w in ("YAOURT", "DESSERT", "FROM BLANC", "PETIT", "CREME")
    ):
        unit, low, high, packs = "U", 0.14, 0.55, ("125G X48", "X48", "100G X24", "X96")
    elif family == "PRODUITS_LAITIERS" and core.startswith("LAIT"):
        unit, low, high, packs = "L", 0.75, 1.6, ("6X1L", "1L", "BRIQUE 1L")
    elif family == "BOULANGERIE" and rng.random() < 0.5:
        unit, low, high, packs = "U", 0.18, 0.95, ("X60", "X30", "X100", "PCE 50G")
    price = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return unit, str(rng.choice(packs)), round(price, 2)


#: CIQUAL sub-groups with a state of their own (others: the family's states).
_SUBGROUP_STATES = {
    "GRP-0204": ("", "", "FRAIS"),
    "GRP-0203": ("",),
    "GRP-0205": ("",),
    "GRP-0202": ("", "FRAIS", "SURG"),
    "GRP-0103": ("", "SURG"),
    "GRP-0104": ("SURG",),
    "GRP-0801": ("SURG",),
    "GRP-0802": ("SURG",),
    "GRP-0803": ("SURG",),
}


def _state(rng: np.random.Generator, family: str, parent_code: str | None) -> str:
    states = _SUBGROUP_STATES.get(parent_code or "")
    if states is None:
        states = FAMILY_SPECS[family].states if family != "AUTRES" else ("",)
    return str(rng.choice(states))


def _pick_labels(rng: np.random.Generator, families: pd.Series, kind: str) -> list[list[str]]:
    """Labels of a supplier's articles: per family, each label on ``rate × count`` articles
    (stratified, so the EGalim shares vary little from one seed to another)."""
    labels: list[list[str]] = [[] for _ in range(len(families))]
    for family, positions in (
        families.reset_index(drop=True).groupby(families.to_numpy()).groups.items()
    ):
        for label, rate in LABEL_RATES[str(family)].items():
            if label == "BIO" and kind == "bio":
                rate = 0.6
            exact = rate * len(positions)
            count = int(exact) + int(rng.random() < exact - int(exact))
            for position in rng.choice(np.asarray(positions), count, replace=False):
                labels[int(position)].append(label)
    return labels


def generate_matrix(
    rng: np.random.Generator, suppliers: pd.DataFrame, nomenclature: pd.DataFrame
) -> pd.DataFrame:
    """20–80 articles per food supplier; ``true_code`` is the right nomenclature code of each."""
    rows = []
    food = suppliers[suppliers["kind"] != "other"]
    food = food[food["name"] != DUPLICATE_SPELLING]
    for supplier in food.itertuples():
        candidates = nomenclature[nomenclature["family"].isin(supplier.families)]
        count = min(int(rng.integers(20, 81)), len(candidates))
        chosen = candidates.iloc[np.sort(rng.choice(len(candidates), count, replace=False))]
        prefix = "".join(w[0] for w in supplier.name.split()[:3] if w[0].isalpha())
        style = int(rng.integers(0, 3))
        numbers = rng.choice(np.arange(1000, 99999), count, replace=False)
        picked = _pick_labels(rng, chosen["family"], supplier.kind)
        for item, number, labels in zip(chosen.itertuples(), numbers, picked, strict=True):
            family = item.family
            core = article_core(item.label)
            if supplier.kind == "farm" and family != "FRUITS_ET_LEGUMES" and rng.random() < 0.5:
                labels.append("FERMIER")
            origin = str(rng.choice(ORIGINS, p=ORIGIN_RATES[family]))
            if supplier.kind == "farm":
                origin = "FRANCE"
            unit, pack, price = _unit_and_pack(rng, family, core)
            if "BIO" in labels:
                price = round(price * 1.3, 2)
            if "LABEL_ROUGE" in labels:
                price = round(price * 1.25, 2)
            quality = " ".join(
                str(rng.choice(LABEL_TOKENS[lab])) for lab in labels if lab in LABEL_TOKENS
            )
            label = compose_label(
                core,
                quality=quality,
                origin=_origin_token(rng, origin, core, family),
                state=_state(rng, family, item.parent_code),
                pack=pack,
            )
            reference = (f"{prefix}{number:05d}", f"{number:06d}", f"{prefix}-{number:05d}")[style]
            expired = rng.random() < 0.06
            rows.append(
                {
                    "supplier_key": supplier.key,
                    "reference": reference,
                    "label": label,
                    "nomenclature_code": item.code if rng.random() < 0.95 else None,
                    "true_code": item.code,
                    "family": family,
                    "labels": ",".join(dict.fromkeys(labels)),
                    "origin": origin,
                    "unit_price": price,
                    "unit": unit,
                    "valid_from": dt.date(2025, 1, 1) if expired else dt.date(2025, 8, 25),
                    "valid_to": dt.date(2025, 12, 31) if expired else dt.date(2026, 8, 31),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Purchase lines
# --------------------------------------------------------------------------------------------

_EXPANSIONS = (
    ("BF", "BOEUF"),
    ("PDT", "POMME DE TERRE"),
    ("NAT", "NATURE"),
    ("FROM", "FROMAGE"),
    ("LEG", "LEGUMES"),
    ("SURG", "SURGELE"),
    ("TR", "TRANCHE"),
    ("MG", "M.G."),
)


def label_variant(label: str, how: int) -> str:
    """Another way the same article is typed: ``how`` picks the alteration (0–4).

    0 drops the pack, 1 expands an abbreviation, 2 is an OCR slip (O→0 inside a word),
    3 adds a hyphen and a double space, 4 is lower case.
    """
    words = label.split()
    if how == 0 and len(words) > 2:
        return " ".join(words[:-1])
    if how == 1:
        for short, long in _EXPANSIONS:
            if short in words:
                return " ".join(long if w == short else w for w in words)
        how = 2
    if how == 2:
        for i, w in enumerate(words):
            if "O" in w[1:] and w.isalpha():
                words[i] = w[0] + w[1:].replace("O", "0", 1)
                return " ".join(words)
        how = 3
    if how == 3 and len(words) > 1:
        return words[0] + "-" + words[1] + "  " + " ".join(words[2:])
    return label.lower()


def _declared_labels(
    rng: np.random.Generator, matrix_labels: pd.Series, family: pd.Series, label: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Declared labels: mostly the matrix's; a share contradicting it. Returns (labels, kind of lie)."""
    n = len(matrix_labels)
    declared = matrix_labels.copy()
    lie = pd.Series([""] * n, index=matrix_labels.index)
    draw = rng.random(n)
    no_bio = ~matrix_labels.str.contains("BIO")
    add_bio = (draw < 0.03) & no_bio
    declared[add_bio] = (declared[add_bio] + ",BIO").str.strip(",")
    lie[add_bio] = "BIO_NOT_IN_MATRIX"
    meat = family.isin(["VIANDES_VOLAILLES", "CHARCUTERIE"]) & (draw >= 0.03) & (draw < 0.045)
    declared[meat] = (declared[meat] + ",PECHE_DURABLE").str.strip(",")
    lie[meat] = "PECHE_DURABLE_ON_MEAT"
    veg = (family == "FRUITS_ET_LEGUMES") & (draw >= 0.045) & (draw < 0.06)
    declared[veg] = (declared[veg] + ",FERMIER").str.strip(",")
    lie[veg] = "FERMIER_ON_VEGETABLES"
    faux_ami = label.str.contains(r"\bVBF\b|\bVPF\b|ORIGINE FRANCE") & ~matrix_labels.str.contains(
        "LABEL_ROUGE"
    )
    faux = faux_ami & (draw >= 0.06) & (draw < 0.10)
    declared[faux] = (declared[faux] + ",LABEL_ROUGE").str.strip(",")
    lie[faux] = "ORIGIN_AS_LABEL"
    dropped = (draw >= 0.10) & (draw < 0.12) & (matrix_labels != "")
    declared[dropped] = ""
    lie[dropped] = "LABELS_OMITTED"
    return declared, lie


def generate_purchases(
    rng: np.random.Generator,
    sites: pd.DataFrame,
    suppliers: pd.DataFrame,
    matrix: pd.DataFrame,
    nomenclature: pd.DataFrame,
    lines: int,
) -> pd.DataFrame:
    """``lines`` canteen purchase lines (plus ~0.5 % exact duplicates) over the school year."""
    supplier_weight = suppliers.set_index("key")["weight"]
    article_weight = (
        rng.lognormal(0.0, 0.6, len(matrix))
        * matrix["supplier_key"].map(supplier_weight).to_numpy()
    )
    article_weight /= (
        matrix.groupby("supplier_key")["supplier_key"].transform("size").to_numpy() / 50
    )
    # canteen teams leave some articles unmapped: all lines of those articles lack a code
    unmapped_article = rng.random(len(matrix)) < 0.10
    food_keys = matrix["supplier_key"].unique()
    site_share = sites["weight"].to_numpy() / sites["weight"].sum()
    per_site = rng.multinomial(lines, site_share)
    days = school_days()
    parts = []
    for site, count in zip(sites.itertuples(), per_site, strict=True):
        wholesale = suppliers.loc[suppliers["kind"].isin(["wholesale", "bio"]), "key"].to_numpy()
        others = np.setdiff1d(food_keys, wholesale)
        used = np.union1d(wholesale, rng.choice(others, int(rng.integers(12, 20)), replace=False))
        weight = np.where(matrix["supplier_key"].isin(used), article_weight, 0.0)
        idx = rng.choice(len(matrix), count, p=weight / weight.sum())
        parts.append(
            pd.DataFrame({"uai": site.uai, "row": idx, "line_date": rng.choice(days, count)})
        )
    lines_df = pd.concat(parts, ignore_index=True)
    m = matrix.iloc[lines_df["row"].to_numpy()].reset_index(drop=True)
    n = len(lines_df)
    frame = pd.DataFrame(
        {
            "uai": lines_df["uai"],
            "line_date": pd.to_datetime(lines_df["line_date"]).dt.date,
            "supplier_key": m["supplier_key"].to_numpy(),
            "reference": m["reference"],
            "label": m["label"],
            "unit": m["unit"],
            "family": m["family"],
            "origin": m["origin"],
            "nomenclature_code": m["true_code"].where(
                ~unmapped_article[lines_df["row"]] & m["nomenclature_code"].notna(), None
            ),
            "true_code": m["true_code"],
            "matrix_labels": m["labels"],
            "matrix_price": m["unit_price"],
        }
    )
    # a few lines off the matrix: same supplier, an article it never declared
    off = rng.random(n) < 0.05
    families = suppliers.set_index("key")["families"]
    by_family = {f: np.flatnonzero(nomenclature["family"].to_numpy() == f) for f in ALL}
    off_rows = [
        int(rng.choice(np.concatenate([by_family[f] for f in families[k]])))
        for k in frame.loc[off, "supplier_key"]
    ]
    off_items = nomenclature.iloc[off_rows]
    frame.loc[off, "reference"] = [
        f"HM{int(x):05d}" for x in rng.integers(1000, 99999, int(off.sum()))
    ]
    frame.loc[off, "label"] = [
        compose_label(article_core(lab), pack=str(rng.choice(FAMILY_SPECS[fam].packs)))
        for lab, fam in zip(off_items["label"], off_items["family"], strict=True)
    ]
    frame.loc[off, "family"] = off_items["family"].to_numpy()
    frame.loc[off, "true_code"] = off_items["code"].to_numpy()
    frame.loc[off, "nomenclature_code"] = np.where(
        rng.random(int(off.sum())) < 0.3, off_items["code"], None
    )
    frame.loc[off, "matrix_labels"] = ""
    frame.loc[off, "unit"] = [FAMILY_SPECS[f].unit for f in off_items["family"]]
    frame.loc[off, "matrix_price"] = [
        round(float(rng.uniform(*FAMILY_SPECS[f].price)), 2) for f in off_items["family"]
    ]
    frame["in_matrix"] = ~off
    # a few codes typed by hand that the nomenclature does not know
    typo = rng.random(n) < 0.002
    frame.loc[typo, "nomenclature_code"] = [
        f"NOM-9{int(x):04d}" for x in rng.integers(0, 9999, int(typo.sum()))
    ]
    # stray unmapped lines (a new canteen employee, a rushed week)
    frame.loc[rng.random(n) < 0.03, "nomenclature_code"] = None
    frame["nomenclature_code"] = (
        frame["nomenclature_code"].astype(object).where(frame["nomenclature_code"].notna(), None)
    )

    # label variants
    variant = rng.random(n) < 0.08
    hows = rng.integers(0, 5, n)
    frame.loc[variant, "label"] = [
        label_variant(lab, int(h))
        for lab, h in zip(frame.loc[variant, "label"], hows[variant], strict=True)
    ]

    # quantities and amounts
    unit = frame["unit"].to_numpy()
    qty = np.where(
        unit == "U", rng.integers(1, 11, n) * 48, np.round(rng.lognormal(np.log(12), 0.7, n), 1)
    )
    qty = np.where(unit == "L", rng.integers(1, 11, n) * 6, qty)
    qty = np.maximum(qty, 0.5)
    price = frame["matrix_price"].to_numpy() * rng.normal(1.0, 0.03, n)
    far = rng.random(n)
    price = np.where(far < 0.01, price * rng.uniform(2.5, 4.0, n), price)
    price = np.where((far >= 0.01) & (far < 0.02), price * rng.uniform(0.2, 0.4, n), price)
    amount = np.round(qty * price, 2)
    absurd = rng.random(n)
    amount = np.where(absurd < 0.001, 0.0, amount)
    amount = np.where((absurd >= 0.001) & (absurd < 0.002), -amount, amount)
    amount = np.where(
        (absurd >= 0.002) & (absurd < 0.0025), amount * 100, amount
    )  # lost decimal comma
    frame["quantity"] = qty
    frame["amount_ht"] = amount
    frame["price_anomaly"] = np.select(
        [absurd < 0.0025, far < 0.02], ["ABSURD", "FAR_FROM_MATRIX"], default=""
    )

    frame["labels"], frame["label_lie"] = _declared_labels(
        rng, frame["matrix_labels"], frame["family"], frame["label"]
    )
    other_origin = rng.random(n)
    frame.loc[other_origin < 0.04, "origin"] = [
        str(rng.choice([o for o in ORIGINS if o != cur]))
        for cur in frame.loc[other_origin < 0.04, "origin"]
    ]
    frame.loc[(other_origin >= 0.04) & (other_origin < 0.07), "origin"] = None

    # suppliers as typed on the lines: the duplicate spelling, a few missing SIRETs
    s = suppliers.set_index("key")
    twin_key = int(suppliers.loc[suppliers["name"] == DUPLICATE_SPELLING, "key"].iloc[0])
    twin = (frame["supplier_key"] == 0) & (rng.random(n) < 0.3)
    frame.loc[twin, "supplier_key"] = twin_key
    frame["supplier_siret"] = frame["supplier_key"].map(s["siret"])
    frame["supplier_name"] = frame["supplier_key"].map(s["name"])
    frame.loc[rng.random(n) < 0.01, "supplier_siret"] = None
    farm = frame["supplier_key"].map(s["kind"]) == "farm"
    frame["is_short_circuit"] = np.where(farm, True, np.where(rng.random(n) < 0.5, False, None))
    frame["is_local"] = np.where(farm, True, None)

    # exact duplicates (the same invoice typed twice)
    dup = frame.iloc[np.sort(rng.choice(n, max(1, n // 200), replace=False))]
    frame = pd.concat([frame, dup], ignore_index=True).sort_values(
        ["line_date", "uai"], kind="stable"
    )
    frame = frame.reset_index(drop=True)
    frame["line_key"] = purchase_line_keys(frame)
    frame.insert(0, "source_row", np.arange(2, len(frame) + 2))
    return frame.drop(columns=["matrix_price"])


# --------------------------------------------------------------------------------------------
# Accounts and the whole dataset
# --------------------------------------------------------------------------------------------


def generate_accounts(sites: pd.DataFrame) -> pd.DataFrame:
    """One account per role (two legal ones for four-eyes decisions)."""
    uai = dict(zip(sites["name"], sites["uai"], strict=True))
    rows = [
        ("admin@region.example", "admin", "Administratrice des données", [], None),
        ("juridique@region.example", "legal", "Service juridique", [], None),
        ("juridique2@region.example", "legal", "Service juridique (2e valideur)", [], None),
        ("direction.lycees@region.example", "direction", "Direction des lycées", [], "DLYC"),
        ("direction.immo@region.example", "direction", "Direction de l'immobilier", [], "DIMM"),
        (
            "cantine.chateaubriand@region.example",
            "canteen",
            "Cantine du lycée Chateaubriand",
            [uai["Lycée Chateaubriand"]],
            None,
        ),
        (
            "cantine.brizeux@region.example",
            "canteen",
            "Cantine du lycée Brizeux",
            [uai["Lycée Brizeux"]],
            None,
        ),
        (
            "cantine.morbihan@region.example",
            "canteen",
            "Cuisine centrale Vannes–Lorient",
            [uai["Lycée Alain-René Lesage"], uai["Lycée Dupuy de Lôme"]],
            None,
        ),
        ("observatoire@region.example", "viewer", "Observatoire de l'achat public", [], None),
    ]
    return pd.DataFrame(rows, columns=["email", "role", "name", "sites", "direction"])


def generate_demo(
    seed: int = 2025, size: str = "small", lines: int | None = None
) -> dict[str, pd.DataFrame]:
    """Every demo table as a DataFrame, deterministic in ``(seed, size, lines)``.

    Keys: directions, sites, accounts, nomenclature, suppliers, matrix, purchases, contracts,
    holders, modifications. ``lines`` overrides the purchase line count of ``size``.
    """
    from workbench.demo.decp import generate_contracts

    if size not in SIZES:
        raise ValueError(f"taille inconnue : {size} (attendu : {', '.join(SIZES)})")
    rng = np.random.default_rng(seed)
    nomenclature, source = demo_nomenclature()
    nomenclature.attrs["source"] = source
    sites = generate_sites()
    suppliers = generate_suppliers(rng)
    matrix = generate_matrix(rng, suppliers, nomenclature)
    # three items withdrawn from the nomenclature while articles still point to them
    used = np.sort(matrix["nomenclature_code"].dropna().unique())
    nomenclature["is_active"] = ~nomenclature["code"].isin(rng.choice(used, 3, replace=False))
    purchases = generate_purchases(
        rng, sites, suppliers, matrix, nomenclature, lines or SIZES[size]
    )
    contracts, holders, modifications = generate_contracts(rng, suppliers, sites)
    return {
        "directions": DIRECTIONS.copy(),
        "sites": sites,
        "accounts": generate_accounts(sites),
        "nomenclature": nomenclature,
        "suppliers": suppliers,
        "matrix": matrix,
        "purchases": purchases,
        "contracts": contracts,
        "holders": holders,
        "modifications": modifications,
    }


def egalim_shares(purchases: pd.DataFrame) -> dict[str, float]:
    """Share of the positive amount declared EGalim (any label) and organic (BIO).

    Lines flagged ``ABSURD`` by the generator (amount × 100) are left out when the column exists.
    """
    positive = purchases[purchases["amount_ht"] > 0]
    if "price_anomaly" in positive.columns:
        positive = positive[positive["price_anomaly"] != "ABSURD"]
    total = positive["amount_ht"].sum()
    labels = positive["labels"].fillna("").str.split(",")
    egalim = labels.map(lambda ls: bool(EGALIM_LABELS.intersection(ls)))
    bio = labels.map(lambda ls: "BIO" in ls)
    return {
        "egalim": float(positive.loc[egalim, "amount_ht"].sum() / total),
        "bio": float(positive.loc[bio, "amount_ht"].sum() / total),
    }
