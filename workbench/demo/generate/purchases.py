"""Demo purchase lines, with declared labels and the deliberate mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.demo.catalogue import ALL, DUPLICATE_SPELLING, FAMILY_SPECS, ORIGINS
from workbench.demo.generate.identifiers import school_days
from workbench.demo.nomenclature import article_core, compose_label
from workbench.records.keys import purchase_line_keys

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
