"""Contract modification rules: amounts of modifications, holders replaced between publications."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.rules.common import fmt_fr
from workbench.rules.contracts.base import (
    _ContractRule,
    _fmt_amount,
    child,
    modification_field,
)
from workbench.rules.registry import Param, empty_failures, failures, register


@register
class ContractModificationAmount(_ContractRule):
    code = "CONTRACT_MODIFICATION_AMOUNT"
    title = "Montant de modification nul, absurde ou en saut"
    explanation = (
        "Une modification donne le nouveau montant du marché (ou la nouvelle valeur globale "
        "d'une concession). Il est nul ou négatif (bloquant), absurde (moins de 200 €, comme "
        "1 € ou 25 € : un montant en milliers ou un écart saisi à la place du montant), "
        "au-delà de 3 milliards d'euros, ou il s'écarte de plus de 50 % du montant précédent "
        "(dans l'ordre des dates) : souvent l'augmentation publiée à la place du nouveau total. "
        "Le montant actuel du marché, utilisé par les indicateurs et l'export, est celui de la "
        "dernière modification. Corrigez le montant à partir de l'avenant, ou écartez "
        "l'anomalie s'il est exact."
    )
    severity = "warning"
    tables = ("contracts", "modifications", "subcontracting_modifications")
    params = (
        Param("absurd_below", 200.0, "Montant absurde en dessous de (€ HT)", float, minimum=0.0),
        Param("max_amount", 3_000_000_000.0, "Montant maximal (€ HT)", float, minimum=1.0),
        Param("max_change", 0.5, "Écart maximal au montant précédent (part)", float, minimum=0.01),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        mods = child(frames, "modifications")
        parts = []
        if not mods.empty:
            mods = mods.sort_values(["contract_id", "notification_date", "position"])
            amount = mods["amount"].astype("float64")
            initial = mods["contract_id"].map(
                pd.Series(contracts["amount"].astype("float64").values, index=contracts["id"])
            )
            # previous amount in date order: the last earlier modification setting one, else
            # the initial amount
            previous = (
                amount.groupby(mods["contract_id"]).transform(lambda s: s.ffill().shift(1))
            ).fillna(initial)
            with np.errstate(divide="ignore", invalid="ignore"):
                change = (amount - previous) / previous
            low = amount <= 0
            absurd = ~low & (amount < float(params["absurd_below"]))
            high = amount > float(params["max_amount"])
            jump = (
                ~low
                & ~absurd
                & ~high
                & (previous > 0)
                & (change.abs() > float(params["max_change"]))
            )
            bad = mods[low | absurd | high | jump]
            shown = fmt_fr(amount[bad.index])
            number = (bad["position"].astype("int64") + 1).astype(str)
            head = "Modification n° " + number + " : nouveau montant de " + shown + " €"
            message = (
                head
                + ", "
                + fmt_fr(change[bad.index] * 100, 0, sign=True)
                + " % par rapport au montant précédent ("
                + fmt_fr(previous[bad.index])
                + " €)."
            )
            message = message.mask(high[bad.index], head + ", au-delà de 3 milliards d'euros.")
            message = message.mask(absurd[bad.index], head + " : montant absurde.")
            message = message.mask(low[bad.index], head + " : nul ou négatif.")
            severity = pd.Series("warning", index=bad.index).mask(
                low[bad.index] | high[bad.index], "blocking"
            )
            field = modification_field(bad["position"], "montant")
            is_concession = (
                bad["contract_id"]
                .map(pd.Series(contracts["kind"].values, index=contracts["id"]))
                .eq("concession")
            )
            field = field.mask(is_concession, modification_field(bad["position"], "valeurGlobale"))
            parts.append(
                failures(
                    bad["contract_id"],
                    field,
                    _fmt_amount(amount[bad.index]),
                    message,
                    severity=severity,
                )
            )
        subs = child(frames, "subcontracting_modifications")
        bad = subs[subs["amount"].astype("float64") <= 0]
        if not bad.empty:
            parts.append(
                failures(
                    bad["contract_id"],
                    "modificationsActesSousTraitance["
                    + bad["position"].astype("int64").astype(str)
                    + "].montant",
                    _fmt_amount(bad["amount"]),
                    "Modification d'acte de sous-traitance n° "
                    + (bad["position"].astype("int64") + 1).astype(str)
                    + " : montant nul ou négatif.",
                    severity="blocking",
                )
            )
        return pd.concat(parts, ignore_index=True) if parts else empty_failures()


@register
class ContractHoldersReplaced(_ContractRule):
    code = "CONTRACT_HOLDERS_REPLACED"
    title = "Titulaires changés entre deux publications"
    explanation = (
        "Le marché a été publié plusieurs fois (autre fichier, autre date de publication, "
        "lignes « données actuelles » du CSV) et les titulaires de la dernière publication ne "
        "sont plus ceux de la précédente, sans qu'une modification ne l'annonce. Un changement "
        "de titulaire passe par une modification publiée ; sinon l'une des deux publications "
        "se trompe de titulaire. Vérifiez le titulaire sur l'acte d'engagement et corrigez-le, "
        "ou écartez l'anomalie si la dernière publication est juste."
    )
    severity = "warning"
    tables = ("contracts", "holders", "modifications")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        with_history = contracts[
            contracts["publications"].map(lambda v: isinstance(v, list) and bool(v)).astype(bool)
        ]
        if with_history.empty:
            return empty_failures()
        holders = frames["holders"]
        main = holders[holders["role"] == "holder"]
        current = main.groupby("contract_id")["identifier"].agg(
            lambda s: frozenset(str(v) for v in s if v)
        )
        announced: dict[int, set[str]] = {}
        mods = child(frames, "modifications")
        for contract_id, items in zip(mods["contract_id"], mods["holders"], strict=True):
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("identifier"):
                    announced.setdefault(int(contract_id), set()).add(str(item["identifier"]))
        rows = []
        for record_id, history in zip(
            with_history["id"], with_history["publications"], strict=True
        ):
            last = history[-1] if isinstance(history[-1], dict) else {}
            before = frozenset(str(v) for v in last.get("holders") or [] if v)
            now = current.get(record_id, frozenset())
            if not before or before == now:
                continue
            if now <= (before | announced.get(int(record_id), set())) and announced.get(
                int(record_id)
            ):
                continue
            rows.append(
                (
                    int(record_id),
                    ", ".join(sorted(now)),
                    "Titulaires « "
                    + (", ".join(sorted(now)) or "aucun")
                    + " » au lieu de « "
                    + ", ".join(sorted(before))
                    + " » dans la publication du "
                    + str(last.get("publication_date") or "?")
                    + (f" (fichier « {last['file']} »)" if last.get("file") else "")
                    + ", sans modification qui l'annonce.",
                )
            )
        if not rows:
            return empty_failures()
        frame = pd.DataFrame(rows, columns=["id", "value", "message"])
        field = frame["id"].map(pd.Series(contracts["kind"].values, index=contracts["id"]))
        field = field.map({"concession": "concessionnaires"}).fillna("titulaires")
        return failures(frame["id"], field, frame["value"], frame["message"])
