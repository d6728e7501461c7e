"""Contract amount rules: range, typed-looking pattern, outlier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.rules.common import clean_text, fmt_fr
from workbench.rules.contracts.base import _ContractRule, _fmt_amount
from workbench.rules.registry import Param, empty_failures, failures, register


@register
class ContractAmountOutOfRange(_ContractRule):
    code = "CONTRACT_AMOUNT_OUT_OF_RANGE"
    title = "Montant hors des bornes"
    explanation = (
        "Le montant HT (ou la valeur globale d'une concession) est inférieur à 1 € ou "
        "supérieur à 3 milliards d'euros : ces valeurs sont rejetées par les contrôles "
        "nationaux des DECP (erreur d'unité, de séparateur décimal, zéros en trop). "
        "Corrigez le montant à partir de l'acte d'engagement."
    )
    severity = "blocking"
    params = (
        Param("min_amount", 1.0, "Montant minimal (€ HT)", float, minimum=0.0),
        Param("max_amount", 3_000_000_000.0, "Montant maximal (€ HT)", float, minimum=1.0),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        amount = contracts["amount"].astype("float64")
        low = amount < float(params["min_amount"])
        high = amount > float(params["max_amount"])
        bad = contracts[low | high]
        value = _fmt_amount(amount[bad.index])
        message = (
            "Montant de "
            + fmt_fr(amount[bad.index])
            + " € inférieur au minimum de "
            + f"{params['min_amount']:g} €."
        ).where(
            low[bad.index],
            "Montant de "
            + fmt_fr(amount[bad.index])
            + " € supérieur au maximum de "
            + f"{params['max_amount']:g} €.",
        )
        return failures(bad["id"], "amount", value, message)


def _pattern(amount: float) -> str:
    """Why an amount looks typed rather than real ('' when it does not)."""
    if amount is None or np.isnan(amount) or amount < 1:
        return ""
    digits = str(int(amount))
    if len(digits) >= 5 and len(set(digits)) == 1:
        return f"chiffres répétés ({digits})"
    if len(digits) >= 6 and ("1234567890".startswith(digits) or "9876543210".startswith(digits)):
        return f"suite de chiffres ({digits})"
    return ""


@register
class ContractAmountSuspicious(_ContractRule):
    code = "CONTRACT_AMOUNT_SUSPICIOUS"
    title = "Montant suspect"
    explanation = (
        "Le montant HT est très faible (moins de 200 € pour un marché dont les données "
        "essentielles ne sont dues qu'à partir de 40 000 € HT) ou a la forme d'une valeur "
        "saisie pour remplir le champ : chiffres tous identiques (99999, 1111111) ou suite "
        "123456… Corrigez le montant, ou écartez l'anomalie s'il est exact."
    )
    severity = "warning"
    params = (
        Param(
            "suspicious_below", 200.0, "Montant suspect en dessous de (€ HT)", float, minimum=0.0
        ),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        amount = contracts["amount"].astype("float64")
        low = (amount >= 1) & (amount < float(params["suspicious_below"]))
        pattern = amount.map(_pattern)
        bad = contracts[low | (pattern != "")]
        value = _fmt_amount(amount[bad.index])
        message = (
            "Montant de " + fmt_fr(amount[bad.index]) + " € : " + pattern[bad.index] + "."
        ).where(
            pattern[bad.index] != "",
            "Montant de "
            + fmt_fr(amount[bad.index])
            + " € anormalement faible pour un marché publié.",
        )
        return failures(bad["id"], "amount", value, message)


@register
class ContractAmountOutlier(_ContractRule):
    code = "CONTRACT_AMOUNT_OUTLIER"
    title = "Montant atypique parmi les marchés comparables"
    explanation = (
        "Le montant s'écarte fortement de celui des marchés de la même division CPV (deux "
        "premiers chiffres) et de même type (marché ou concession) : écart robuste (médiane et "
        "écart absolu médian du logarithme du montant) de plus de 4 (suspect, avertissement) "
        "ou de plus de 6 (aberrant, bloquant). C'est typiquement un montant saisi en "
        "centimes, en milliers ou avec des zéros en trop. Les groupes de moins de 20 marchés "
        "ne sont pas évalués. Corrigez le montant, ou écartez l'anomalie s'il est exact."
    )
    severity = "warning"
    params = (
        Param(
            "suspect_deviations",
            4.0,
            "Écarts robustes au-delà desquels le montant est suspect",
            float,
            minimum=1.0,
        ),
        Param(
            "aberrant_deviations",
            6.0,
            "Écarts robustes au-delà desquels le montant est aberrant",
            float,
            minimum=1.0,
        ),
        Param("min_group_size", 20, "Taille minimale d'un groupe comparable", int, minimum=3),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        amount = contracts["amount"].astype("float64")
        division = clean_text(contracts["cpv_code"]).str[:2]
        usable = (amount >= 1) & division.str.fullmatch(r"\d\d")
        data = pd.DataFrame(
            {
                "id": contracts["id"],
                "log": np.log10(amount.where(usable)),
                "group": contracts["kind"] + ":" + division,
            }
        )[usable]
        if data.empty:
            return empty_failures()
        grouped = data.groupby("group")["log"]
        size = grouped.transform("size")
        median = grouped.transform("median")
        mad = (data["log"] - median).abs().groupby(data["group"]).transform("median")
        with np.errstate(divide="ignore", invalid="ignore"):
            deviations = (data["log"] - median).abs() / (1.4826 * mad)
        valid = (size >= int(params["min_group_size"])) & (mad > 0)
        suspect = valid & (deviations > float(params["suspect_deviations"]))
        bad = data[suspect]
        dev = deviations[bad.index]
        typical = fmt_fr(10 ** median[bad.index], 0)
        severity = pd.Series("warning", index=bad.index).where(
            dev <= float(params["aberrant_deviations"]), "blocking"
        )
        value = _fmt_amount(amount[bad.index])
        return failures(
            bad["id"],
            "amount",
            value,
            "Montant de "
            + fmt_fr(amount[bad.index])
            + " € à "
            + fmt_fr(dev, 1)
            + " écarts robustes du montant typique ("
            + typical
            + " €) des marchés de la division CPV "
            + bad["group"].str[-2:]
            + ".",
            details=[
                {"deviations": round(float(d), 2), "group": g}
                for d, g in zip(dev, bad["group"], strict=True)
            ],
            severity=severity,
        )
