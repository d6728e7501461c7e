"""Canteen purchase rules: nomenclature mapping, supplier-matrix comparisons, ma-cantine
label/family exceptions, faux amis, duplicates, amounts. Pure pandas over :mod:`.frames`.

Lines are matched to the supplier matrix by (supplier, article reference): the supplier is the
line's ``supplier_id``, else the supplier whose SIRET is the line's ``supplier_siret``. The
matrix's validity dates are not used (the matrix is the supplier's current declaration).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from workbench.reference.models import EGALIM_LABELS
from workbench.rules.common import (
    blank,
    clean_text,
    codes_of,
    compact_siret,
    fmt,
    fmt_fr,
    format_labels,
    label_set,
    per_unique,
    per_unique_rows,
    upper_text,
)
from workbench.rules.registry import Param, Rule, empty_failures, failures, register

#: ma-cantine label/family exceptions: label → families where it does not apply.
LABEL_FAMILY_EXCLUSIONS: dict[str, frozenset[str]] = {
    "LABEL_ROUGE": frozenset({"BOISSONS"}),
    "PECHE_DURABLE": frozenset(
        {
            "VIANDES_VOLAILLES",
            "CHARCUTERIE",
            "FRUITS_ET_LEGUMES",
            "PRODUITS_LAITIERS",
            "BOULANGERIE",
            "BOISSONS",
            "AUTRES",
        }
    ),
    "FERMIER": frozenset(
        {"FRUITS_ET_LEGUMES", "PRODUITS_DE_LA_MER", "BOULANGERIE", "AUTRES", "BOISSONS"}
    ),
}

#: Origin-only tokens in article labels (not quality labels: the "faux amis").
ORIGIN_TOKENS_RE = re.compile(
    r"\b(VBF|VPF|VVF|VOF|VAF|LPF|ORIGINE\s+FRANCE|ORIG\s+FRANCE|ORIGINE\s+FR|ORIG\s+FR|FRANCE|FRANCAIS|FRANCAISE|BLEU\s+BLANC\s+COEUR)\b"
)
#: Quality tokens in article labels and the EGalim label each one evidences.
QUALITY_TOKENS: dict[str, tuple[str, ...]] = {
    "BIO": (r"BIO", r"AB", r"BIOLOGIQUE", r"EUROFEUILLE"),
    "LABEL_ROUGE": (r"LR", r"LABEL\s+ROUGE"),
    "AOCAOP": (r"AOC", r"AOP"),
    "IGP": (r"IGP",),
    "STG": (r"STG",),
    "HVE": (r"HVE",),
    "PECHE_DURABLE": (r"MSC", r"ASC", r"PECHE\s+DURABLE"),
    "FERMIER": (r"FERMIER", r"FERMIERE"),
    "COMMERCE_EQUITABLE": (r"EQUITABLE", r"FAIRTRADE", r"MAX\s+HAVELAAR"),
    "RUP": (r"RUP",),
}
_QUALITY_RES = {
    label: re.compile(r"\b(" + "|".join(tokens) + r")\b")
    for label, tokens in QUALITY_TOKENS.items()
}


def group_key(lines: pd.DataFrame) -> pd.Series:
    """``ref:<siret>|<reference>`` when the line has a reference, else ``lbl:<LABEL>``."""
    reference = clean_text(lines["reference"])
    siret = compact_siret(lines["supplier_siret"])
    label = clean_text(lines["label"]).str.upper()
    return ("ref:" + siret + "|" + reference).where(reference != "", "lbl:" + label)


def _resolved_supplier(frames: dict[str, pd.DataFrame]) -> pd.Series:
    lines = frames["purchase_lines"]
    suppliers = frames["suppliers"]
    by_siret = pd.Series(suppliers["id"].values, index=compact_siret(suppliers["siret"]).values)
    by_siret = by_siret[by_siret.index != ""]
    by_siret = by_siret[~by_siret.index.duplicated()]
    via_siret = pd.to_numeric(
        compact_siret(lines["supplier_siret"]).map(by_siret), errors="coerce"
    ).astype("float64")
    own = pd.to_numeric(lines["supplier_id"], errors="coerce").astype("float64")
    return own.fillna(via_siret)


def lines_with_matrix(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Purchase lines with their supplier matrix entry (``m_*`` columns, NaN without one) and
    ``has_matrix`` (the supplier has a matrix). Memoised in ``frames`` for the run."""
    cached = frames.get("_lines_with_matrix")
    if cached is not None:
        return cached
    lines = frames["purchase_lines"]
    matrix = frames["matrix_entries"].copy()
    supplier = _resolved_supplier(frames).fillna(-1).astype("int64")
    line_ref = upper_text(lines["reference"])
    matrix_ref = upper_text(matrix["reference"])
    ref_codes, uniques = pd.factorize(pd.concat([line_ref, matrix_ref], ignore_index=True))
    width = len(uniques) + 1
    line_key = supplier.to_numpy() * width + ref_codes[: len(lines)]
    matrix_key = matrix["supplier_id"].astype("int64").to_numpy() * width + ref_codes[len(lines) :]
    matrix["_key"] = matrix_key
    matrix = matrix.drop_duplicates("_key")
    position = pd.Index(matrix["_key"].to_numpy()).get_indexer(line_key)
    found = position >= 0
    result = lines.copy()
    for source, target in (
        ("id", "m_id"),
        ("labels", "m_labels"),
        ("origin", "m_origin"),
        ("unit_price", "m_unit_price"),
        ("unit", "m_unit"),
    ):
        values = matrix[source].to_numpy()
        column = np.full(len(lines), np.nan, dtype=object if values.dtype == object else "float64")
        column[found] = values[position[found]]
        result[target] = column
    result["_ref"] = line_ref
    result["has_matrix"] = supplier.isin(set(matrix["supplier_id"].astype("int64"))).to_numpy()
    frames["_lines_with_matrix"] = result  # type: ignore[assignment]
    return result


class _PurchaseRule(Rule):
    domain = "purchases"
    record_kind = "purchase_line"
    owner_role = "canteen"
    queue = "purchases"
    approval_policy = "approval"
    tables = ("purchase_lines",)


class _MatrixRule(_PurchaseRule):
    queue = "matrix"
    tables = ("purchase_lines", "suppliers", "matrix_entries")


@register
class ArticleUnmapped(_PurchaseRule):
    code = "ARTICLE_UNMAPPED"
    title = "Article non rattaché à la nomenclature"
    explanation = (
        "La ligne d'achat n'a pas de code de la nomenclature commune. Sans code, l'achat "
        "n'a pas de famille fiable et ne peut être compté correctement dans les indicateurs "
        "EGalim (part bio, part durable et de qualité, viandes et poissons). Corrigez : "
        "rattachez l'article à la nomenclature depuis la file « Articles à rattacher » ; une "
        "décision vaut pour toutes les lignes du même article (même référence fournisseur, "
        "ou même libellé)."
    )
    queue = "articles"
    approval_policy = "immediate"
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        bad = lines[blank(lines["nomenclature_code"])]
        return failures(
            bad["id"],
            "nomenclature_code",
            None,
            "Article « " + clean_text(bad["label"]) + " » sans code nomenclature.",
            group_key=group_key(bad),
        )


@register
class NomenclatureCodeInvalid(_PurchaseRule):
    code = "NOMENCLATURE_CODE_INVALID"
    title = "Code nomenclature inconnu ou inactif"
    explanation = (
        "Le code nomenclature de la ligne n'existe pas dans la nomenclature commune, ou "
        "désigne un article désactivé. La famille de l'achat est alors incertaine et "
        "l'article n'est plus suivi. Corrigez : rattachez de nouveau l'article à un code "
        "actif de la nomenclature."
    )
    queue = "articles"
    approval_policy = "immediate"
    severity = "warning"
    tables = ("purchase_lines", "nomenclature")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        nomenclature = frames["nomenclature"]
        active = nomenclature.set_index("code")["is_active"].astype(bool)
        code = clean_text(lines["nomenclature_code"])
        active = active[~active.index.duplicated()]
        state = code.map(active)  # NaN unknown, False inactive
        mapped = code != ""
        bad_mask = mapped & (state.isna() | (state == False))  # noqa: E712
        bad = lines[bad_mask]
        value = code[bad.index]
        message = ("Le code « " + value + " » n'existe pas dans la nomenclature.").where(
            state[bad.index].isna(), "Le code « " + value + " » est désactivé dans la nomenclature."
        )
        return failures(bad["id"], "nomenclature_code", value, message, group_key=group_key(bad))


@register
class MatrixLabelMismatch(_MatrixRule):
    code = "MATRIX_LABEL_MISMATCH"
    title = "Label déclaré non confirmé par la matrice fournisseur"
    explanation = (
        "La ligne déclare un label EGalim (bio, label rouge, AOP…) que la matrice du "
        "fournisseur n'indique pas pour cet article (même référence). Un label déclaré à tort "
        "gonfle les parts bio et durables publiées. Corrigez : acceptez la valeur de la "
        "matrice, ou gardez le label de la ligne en expliquant pourquoi (facture à l'appui), "
        "ou signalez que la matrice est fausse."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = lines_with_matrix(frames)
        candidates = lines[lines["m_id"].notna() & ~blank(lines["labels"])]
        if candidates.empty:
            return empty_failures()

        def unsupported(declared: Any, matrix: Any) -> str:
            return format_labels((label_set(declared) & EGALIM_LABELS) - label_set(matrix))

        missing = per_unique_rows(unsupported, candidates["labels"], candidates["m_labels"])
        bad = candidates[missing != ""]
        missing = missing[bad.index]
        matrix_labels = clean_text(bad["m_labels"]).replace("", "aucun label")
        return failures(
            bad["id"],
            "labels",
            clean_text(bad["labels"]),
            "Label(s) déclaré(s) "
            + missing
            + " absent(s) de la matrice fournisseur ("
            + matrix_labels
            + ").",
            details=[
                {"matrix_entry_id": int(m), "matrix_labels": ml}
                for m, ml in zip(bad["m_id"], bad["m_labels"].fillna(""), strict=True)
            ],
        )


@register
class MatrixOriginMismatch(_MatrixRule):
    code = "MATRIX_ORIGIN_MISMATCH"
    title = "Origine déclarée différente de la matrice fournisseur"
    explanation = (
        "L'origine déclarée sur la ligne (France, UE…) diffère de celle que la matrice du "
        "fournisseur indique pour cet article. L'indicateur d'origine France en dépend. "
        "Corrigez : acceptez l'origine de la matrice, ou gardez celle de la ligne avec une "
        "raison, ou signalez que la matrice est fausse."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = lines_with_matrix(frames)
        origin = upper_text(lines["origin"])
        matrix_origin = upper_text(lines["m_origin"])
        bad = lines[
            lines["m_id"].notna()
            & (origin != "")
            & (matrix_origin != "")
            & (origin != matrix_origin)
        ]
        return failures(
            bad["id"],
            "origin",
            origin[bad.index],
            "Origine déclarée « "
            + origin[bad.index]
            + " », la matrice indique « "
            + matrix_origin[bad.index]
            + " ».",
            details=[{"matrix_entry_id": int(m)} for m in bad["m_id"]],
        )


@register
class MatrixArticleAbsent(_MatrixRule):
    code = "MATRIX_ARTICLE_ABSENT"
    title = "Article absent de la matrice du fournisseur"
    explanation = (
        "Le fournisseur a transmis une matrice produits, mais la référence article de la ligne "
        "n'y figure pas : les labels et l'origine déclarés ne peuvent être vérifiés. "
        "Corrigez : vérifiez la référence article sur la facture ; si elle est juste, "
        "demandez au fournisseur (via la direction) de compléter sa matrice."
    )
    severity = "info"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = lines_with_matrix(frames)
        bad = lines[lines["has_matrix"] & lines["m_id"].isna() & (lines["_ref"] != "")]
        reference = clean_text(bad["reference"])
        return failures(
            bad["id"],
            "reference",
            reference,
            "La référence « " + reference + " » n'est pas dans la matrice du fournisseur.",
        )


@register
class MatrixPriceGap(_MatrixRule):
    code = "MATRIX_PRICE_GAP"
    title = "Prix unitaire éloigné du prix de la matrice"
    explanation = (
        "Le prix unitaire de la ligne (montant HT ÷ quantité) s'écarte du prix unitaire de la "
        "matrice fournisseur de plus que la tolérance (50 % par défaut). C'est souvent une "
        "quantité saisie dans une autre unité (colis au lieu de kg), un montant faux ou un "
        "article différent de celui de la matrice. Corrigez le montant ou la quantité, ou "
        "gardez la ligne avec une raison. Les lignes dont l'unité diffère de celle de la "
        "matrice ne sont pas comparées."
    )
    severity = "warning"
    params = (Param("tolerance", 0.5, "Écart relatif toléré (0,5 = ±50 %)", float, minimum=0.0),)

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = lines_with_matrix(frames)
        quantity = lines["quantity"].astype("float64")
        amount = lines["amount_ht"].astype("float64")
        matrix_price = lines["m_unit_price"].astype("float64")
        unit = upper_text(lines["unit"])
        matrix_unit = upper_text(lines["m_unit"])
        comparable = (
            (quantity > 0)
            & (amount > 0)
            & (matrix_price > 0)
            & ((unit == "") | (matrix_unit == "") | (unit == matrix_unit))
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            price = amount / quantity
            gap = price / matrix_price - 1.0
        bad_mask = comparable & (gap.abs() > float(params["tolerance"]))
        bad = lines[bad_mask]
        price = price[bad.index].round(2)
        return failures(
            bad["id"],
            "amount_ht",
            fmt(price, ".2f"),
            "Prix unitaire "
            + fmt_fr(price)
            + " € contre "
            + fmt_fr(matrix_price[bad.index])
            + " € dans la matrice ("
            + fmt_fr(gap[bad.index] * 100, 0, sign=True)
            + " %).",
            details=[
                {"matrix_entry_id": int(m), "unit_price": float(p), "matrix_unit_price": float(mp)}
                for m, p, mp in zip(bad["m_id"], price, matrix_price[bad.index], strict=True)
            ],
        )


@register
class LabelFamilyMismatch(_PurchaseRule):
    code = "LABEL_FAMILY_MISMATCH"
    title = "Label non applicable à la famille de produits"
    explanation = (
        "Selon les règles de ma-cantine, certains labels ne s'appliquent pas à certaines "
        "familles : le label rouge jamais aux boissons, la pêche durable seulement aux "
        "produits de la mer, la mention fermier ni aux fruits et légumes, ni aux produits de la "
        "mer, ni à la boulangerie, ni aux boissons, ni aux autres produits. La famille est "
        "celle de l'article de nomenclature s'il est rattaché, sinon celle de la ligne. "
        "Corrigez le label déclaré, ou le rattachement de l'article s'il est faux."
    )
    severity = "warning"
    tables = ("purchase_lines", "nomenclature")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        families = frames["nomenclature"].set_index("code")["family"]
        families = families[~families.index.duplicated()]
        family = (
            clean_text(lines["nomenclature_code"]).map(families).fillna(clean_text(lines["family"]))
        )
        candidates = lines[~blank(lines["labels"]) & (family != "")]
        if candidates.empty:
            return empty_failures()

        def excluded(declared: Any, fam: Any) -> str:
            return format_labels(
                {lab for lab in label_set(declared) if fam in LABEL_FAMILY_EXCLUSIONS.get(lab, ())}
            )

        wrong = per_unique_rows(excluded, candidates["labels"], family[candidates.index])
        bad = candidates[wrong != ""]
        return failures(
            bad["id"],
            "labels",
            clean_text(bad["labels"]),
            "Label(s) "
            + wrong[bad.index]
            + " non applicable(s) à la famille "
            + family[bad.index]
            + ".",
            details=[{"family": f} for f in family[bad.index]],
        )


def _text_evidence(label: Any) -> tuple[bool, frozenset[str]]:
    """(has an origin-only token, quality labels evidenced by tokens) of an article label."""
    text = str(label or "").upper()
    has_origin = bool(ORIGIN_TOKENS_RE.search(text))
    evidenced = frozenset(lab for lab, regex in _QUALITY_RES.items() if regex.search(text))
    return has_origin, evidenced


@register
class FauxAmiOrigin(_MatrixRule):
    code = "FAUX_AMI_ORIGIN"
    title = "Mention d'origine prise pour un label (« faux ami »)"
    explanation = (
        "Le libellé de l'article porte une mention d'origine (VBF, VPF, VVF, « origine "
        "France »…) et la ligne déclare un label de qualité EGalim que rien n'atteste : ni un "
        "mot du libellé (BIO/AB, LR/LABEL ROUGE, AOP/AOC, IGP, STG, HVE, MSC/ASC, FERMIER, "
        "équitable), ni la matrice du fournisseur. « Viande bovine française » est une "
        "origine, pas un label : la compter comme label rouge ou bio fausse les indicateurs "
        "EGalim. Corrigez : retirez le label déclaré (l'origine France se déclare dans le "
        "champ origine), ou gardez-le en citant le justificatif."
    )
    queue = "purchases"
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = lines_with_matrix(frames)
        candidates = lines[~blank(lines["labels"])]
        if candidates.empty:
            return empty_failures()
        has_origin = per_unique(candidates["label"], lambda v: _text_evidence(v)[0])
        candidates = candidates[has_origin]
        if candidates.empty:
            return empty_failures()
        text_labels = per_unique(
            candidates["label"], lambda v: ",".join(sorted(_text_evidence(v)[1]))
        )

        def unsupported(declared: Any, evidenced: Any, matrix: Any) -> str:
            claimed = label_set(declared) & EGALIM_LABELS
            return format_labels(claimed - label_set(evidenced) - label_set(matrix))

        wrong = per_unique_rows(
            unsupported, candidates["labels"], text_labels, candidates["m_labels"]
        )
        bad = candidates[wrong != ""]
        return failures(
            bad["id"],
            "labels",
            clean_text(bad["labels"]),
            "Le libellé « "
            + clean_text(bad["label"])
            + " » ne porte qu'une mention d'origine ; label(s) "
            + wrong[bad.index]
            + " non attesté(s).",
        )


@register
class PurchaseDuplicate(_PurchaseRule):
    code = "PURCHASE_DUPLICATE"
    site_day_fields = frozenset(
        {"site_id", "line_date", "supplier_siret", "supplier_id", "reference", "label"}
        | {"amount_ht", "quantity"}
    )
    title = "Ligne d'achat en double"
    explanation = (
        "Une autre ligne a le même lycée, la même date, le même fournisseur, la même référence "
        "(ou le même libellé sans référence), le même montant et la même quantité : c'est "
        "souvent un fichier importé deux fois ou une facture saisie deux fois, et l'achat "
        "compte double dans les indicateurs. La première ligne (la plus ancienne) est "
        "conservée ; les suivantes sont signalées. Corrigez : faites supprimer le doublon "
        "par l'administrateur, ou écartez l'anomalie s'il s'agit bien de deux achats."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        if not lines["id"].is_monotonic_increasing:  # "first" = the oldest line (lowest id)
            lines = lines.sort_values("id")
        reference = upper_text(lines["reference"])
        label = upper_text(lines["label"])
        identity_codes = codes_of(reference, label.where(reference == "", ""))
        supplier = compact_siret(lines["supplier_siret"])
        key = pd.Series(
            codes_of(
                lines["site_id"],
                lines["line_date"],
                supplier,
                lines["supplier_id"].where(supplier == ""),
                pd.Series(identity_codes, index=lines.index),
                lines["amount_ht"].round(2),
                lines["quantity"],
            ),
            index=lines.index,
        )
        duplicated = key.duplicated(keep="first")
        if not duplicated.any():
            return empty_failures()
        involved = key[key.duplicated(keep=False)]
        first_id = lines.loc[involved.index, "id"].groupby(involved).transform("first")
        bad = lines[duplicated]
        first = first_id[bad.index].astype("int64")
        return failures(
            bad["id"],
            "",
            None,
            "Doublon de la ligne n° " + first.astype(str) + ".",
            details=[{"duplicate_of": int(f)} for f in first],
        )


@register
class PurchaseAmountInvalid(_PurchaseRule):
    code = "PURCHASE_AMOUNT_INVALID"
    title = "Montant nul, négatif ou aberrant"
    explanation = (
        "Le montant HT de la ligne est absent, nul ou négatif (bloquant : la ligne ne peut "
        "être comptée), ou dépasse le plafond vraisemblable d'une ligne d'achat de cantine "
        "(50 000 € HT par défaut, réglable). Un avoir doit être saisi comme tel, pas comme une "
        "ligne négative. Corrigez le montant (séparateur décimal, unité, zéros en trop)."
    )
    severity = "blocking"
    params = (
        Param(
            "max_amount",
            50_000.0,
            "Montant maximal vraisemblable d'une ligne (€ HT)",
            float,
            minimum=1.0,
        ),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        amount = lines["amount_ht"].astype("float64")
        not_positive = amount.isna() | (amount <= 0)
        too_big = amount > float(params["max_amount"])
        bad = lines[not_positive | too_big]
        value = fmt(amount[bad.index], ".2f")
        message = (
            "Montant HT absent, nul ou négatif (" + value.where(value != "", "vide") + ")."
        ).where(
            not_positive[bad.index],
            "Montant HT de "
            + fmt_fr(amount[bad.index])
            + " € supérieur au plafond de "
            + f"{float(params['max_amount']):,.0f}".replace(",", "\u202f")
            + " €.",
        )
        severity = pd.Series("blocking", index=bad.index).where(not_positive[bad.index], "warning")
        return failures(
            bad["id"], "amount_ht", value.where(value != "", None), message, severity=severity
        )
