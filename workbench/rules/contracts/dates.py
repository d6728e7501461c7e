"""Contract date and duration rules: duration, dates order, future dates, late publication."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from workbench.rules.common import fmt
from workbench.rules.contracts.base import (
    _ContractRule,
    _fmt_date,
    child,
    modification_field,
    reference_date,
)
from workbench.rules.registry import Param, failures, register


@register
class ContractDurationSuspicious(_ContractRule):
    code = "CONTRACT_DURATION_SUSPICIOUS"
    title = "Durée nulle, excessive ou saisie en jours"
    explanation = (
        "La durée en mois est nulle (bloquant), dépasse 180 mois pour un marché ou 360 mois "
        "pour une concession, ou vaut exactement 360, 365 ou 366 : une durée en jours saisie "
        "dans le champ des mois. La nouvelle durée donnée par une modification (la durée "
        "actuelle du marché) est contrôlée de même. La durée sert au calcul des montants "
        "annuels. Corrigez la durée (en mois) à partir du dossier du marché."
    )
    severity = "warning"
    tables = ("contracts", "modifications")
    params = (
        Param("max_months", 180, "Durée maximale d'un marché (mois)", int, minimum=1),
        Param(
            "max_months_concession", 360, "Durée maximale d'une concession (mois)", int, minimum=1
        ),
    )

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        months = contracts["duration_months"].astype("float64")
        concession = contracts["kind"] == "concession"
        limit = pd.Series(float(params["max_months"]), index=contracts.index).where(
            ~concession, float(params["max_months_concession"])
        )
        parts = [
            _duration_failures(contracts["id"], "duration_months", "", months, concession, limit)
        ]
        mods = child(frames, "modifications")
        if not mods.empty:
            kinds = pd.Series(contracts["kind"].values, index=contracts["id"].values)
            mod_concession = mods["contract_id"].map(kinds).eq("concession")
            mod_limit = pd.Series(float(params["max_months"]), index=mods.index).where(
                ~mod_concession, float(params["max_months_concession"])
            )
            parts.append(
                _duration_failures(
                    mods["contract_id"],
                    modification_field(mods["position"], "dureeMois"),
                    "Modification n° "
                    + (mods["position"].astype("int64") + 1).astype(str)
                    + " : nouvelle durée. ",
                    mods["duration_months"].astype("float64"),
                    mod_concession,
                    mod_limit,
                )
            )
        return pd.concat(parts, ignore_index=True)


def _duration_failures(
    record_id: pd.Series,
    field: Any,
    prefix: Any,
    months: pd.Series,
    concession: pd.Series,
    limit: pd.Series,
) -> pd.DataFrame:
    zero = months <= 0
    days = months.isin([365, 366]) | (months.eq(360) & ~concession)
    too_long = months > limit
    bad = zero | days | too_long
    value = fmt(months[bad], ".0f")
    if isinstance(field, pd.Series):
        field = field[bad]
    if isinstance(prefix, pd.Series):
        prefix = prefix[bad]
    message = pd.Series(
        "Durée de " + value + " mois supérieure au maximum de " + fmt(limit[bad], ".0f") + " mois.",
        index=value.index,
    )
    message = message.mask(
        days[bad], "Durée de " + value + " mois : probablement une durée en jours saisie en mois."
    )
    message = message.mask(zero[bad], "Durée nulle ou négative (" + value + " mois).")
    severity = pd.Series("warning", index=value.index).mask(zero[bad], "blocking")
    return failures(record_id[bad], field, value, prefix + message, severity=severity)


@register
class ContractDatesOrder(_ContractRule):
    code = "CONTRACT_DATES_ORDER"
    title = "Dates dans le désordre"
    explanation = (
        "Les dates se contredisent : données publiées avant la notification du marché (ou "
        "la signature de la concession) ; exécution d'une concession commencée avant sa "
        "signature ; modification notifiée avant le marché lui-même, publiée avant sa "
        "notification, ou notifiée avant la modification qui la précède ; acte de "
        "sous-traitance notifié avant le marché. Une des deux dates est fausse (inversion "
        "jour/mois, mauvaise année). Corrigez la date erronée à partir du dossier du marché."
    )
    severity = "blocking"
    tables = ("contracts", "modifications", "holders")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        start = reference_date(contracts)
        publication = contracts["publication_date"]
        early = contracts[publication < start]
        parts = [
            failures(
                early["id"],
                "publication_date",
                _fmt_date(publication[early.index]),
                "Données publiées le "
                + _fmt_date(publication[early.index])
                + ", avant la notification du "
                + _fmt_date(start[early.index])
                + ".",
            )
        ]
        concession = contracts["kind"] == "concession"
        started = contracts[concession & (contracts["start_date"] < contracts["signature_date"])]
        parts.append(
            failures(
                started["id"],
                "start_date",
                _fmt_date(started["start_date"]),
                "Exécution commencée le "
                + _fmt_date(started["start_date"])
                + ", avant la signature de la concession ("
                + _fmt_date(started["signature_date"])
                + ").",
            )
        )
        by_id = pd.Series(pd.to_datetime(start).values, index=contracts["id"].values)
        holders = child(frames, "holders")
        acts = holders[holders["role"] == "subcontractor"]
        if not acts.empty and "notification_date" in acts:
            act_start = acts["contract_id"].map(by_id)
            early_acts = acts[acts["notification_date"] < act_start]
            parts.append(
                failures(
                    early_acts["contract_id"],
                    "actesSousTraitance["
                    + early_acts["position"].astype("int64").astype(str)
                    + "].dateNotification",
                    _fmt_date(early_acts["notification_date"]),
                    "Acte de sous-traitance notifié le "
                    + _fmt_date(early_acts["notification_date"])
                    + ", avant le marché ("
                    + _fmt_date(act_start[early_acts.index])
                    + ").",
                )
            )
        modifications = child(frames, "modifications")
        if not modifications.empty:
            mods = modifications.sort_values(["contract_id", "position"])
            unpublished = mods[mods["publication_date"] < mods["notification_date"]]
            parts.append(
                failures(
                    unpublished["contract_id"],
                    modification_field(
                        unpublished["position"], "datePublicationDonneesModification"
                    ),
                    _fmt_date(unpublished["publication_date"]),
                    "Modification n° "
                    + (unpublished["position"].astype("int64") + 1).astype(str)
                    + " publiée le "
                    + _fmt_date(unpublished["publication_date"])
                    + ", avant sa notification ("
                    + _fmt_date(unpublished["notification_date"])
                    + ").",
                )
            )
            previous = (
                mods.groupby("contract_id")["notification_date"]
                .cummax()
                .groupby(mods["contract_id"])
                .shift(1)
            )
            disordered = mods[mods["notification_date"] < previous]
            parts.append(
                failures(
                    disordered["contract_id"],
                    modification_field(disordered["position"], "dateNotificationModification"),
                    _fmt_date(disordered["notification_date"]),
                    "Modification n° "
                    + (disordered["position"].astype("int64") + 1).astype(str)
                    + " notifiée le "
                    + _fmt_date(disordered["notification_date"])
                    + ", avant une modification qui la précède ("
                    + _fmt_date(previous[disordered.index])
                    + ").",
                )
            )
            mods = modifications.assign(
                start=modifications["contract_id"].map(
                    pd.Series(start.values, index=contracts["id"].values)
                )
            )
            mods["start"] = pd.to_datetime(mods["start"])
            before = mods[mods["notification_date"] < mods["start"]]
            if not before.empty:
                parts.append(
                    failures(
                        before["contract_id"],
                        "modifications["
                        + before["position"].astype("int64").astype(str)
                        + "].dateNotificationModification",
                        _fmt_date(before["notification_date"]),
                        "Modification n° "
                        + before["position"].astype("int64").astype(str)
                        + " notifiée le "
                        + _fmt_date(before["notification_date"])
                        + ", avant le marché ("
                        + _fmt_date(before["start"])
                        + ").",
                    )
                )
        return pd.concat(parts, ignore_index=True)


@register
class ContractDateFuture(_ContractRule):
    code = "CONTRACT_DATE_FUTURE"
    reads_today = True
    title = "Date dans le futur"
    explanation = (
        "Une date de notification, de publication, de signature ou de début d'exécution est "
        "postérieure à aujourd'hui, pour le marché, l'une de ses modifications, un acte de "
        "sous-traitance ou sa modification : un marché ne peut être notifié ni publié dans le "
        "futur (erreur d'année, inversion jour/mois). Corrigez la date."
    )
    severity = "blocking"
    tables = ("contracts", "modifications", "holders", "subcontracting_modifications")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        today = pd.Timestamp(params.get("today") or dt.date.today())
        labels = {
            "notification_date": "notification",
            "publication_date": "publication",
            "signature_date": "signature",
            "start_date": "début d'exécution",
        }
        parts = []
        for column, label in labels.items():
            bad = contracts[contracts[column] > today]
            value = _fmt_date(bad[column])
            parts.append(
                failures(
                    bad["id"], column, value, f"Date de {label} dans le futur : " + value + "."
                )
            )
        children = (
            (
                child(frames, "modifications"),
                "modifications",
                {
                    "notification_date": ("dateNotificationModification", "notification"),
                    "publication_date": ("datePublicationDonneesModification", "publication"),
                },
                "de la modification n° ",
            ),
            (
                child(frames, "subcontracting_modifications"),
                "modificationsActesSousTraitance",
                {
                    "notification_date": (
                        "dateNotificationModificationSousTraitance",
                        "notification",
                    ),
                    "publication_date": ("datePublicationDonnees", "publication"),
                },
                "de la modification d'acte de sous-traitance n° ",
            ),
        )
        for frame, list_name, columns, whose in children:
            for column, (name, label) in columns.items():
                bad = frame[frame[column] > today]
                value = _fmt_date(bad[column])
                number = (bad["position"].astype("int64") + 1).astype(str)
                parts.append(
                    failures(
                        bad["contract_id"],
                        list_name + "[" + bad["position"].astype("int64").astype(str) + "]." + name,
                        value,
                        f"Date de {label} " + whose + number + " dans le futur : " + value + ".",
                    )
                )
        holders = child(frames, "holders")
        acts = holders[
            (holders["role"] == "subcontractor") & (holders["notification_date"] > today)
        ]
        value = _fmt_date(acts["notification_date"])
        parts.append(
            failures(
                acts["contract_id"],
                "actesSousTraitance["
                + acts["position"].astype("int64").astype(str)
                + "].dateNotification",
                value,
                "Date de notification de l'acte de sous-traitance dans le futur : " + value + ".",
            )
        )
        return pd.concat(parts, ignore_index=True)


def first_publication(contracts: pd.DataFrame) -> pd.Series:
    """The earliest publication date of each contract (its history included)."""
    earliest = contracts["publication_date"].copy()
    if "publications" not in contracts:
        return earliest
    for idx, history in contracts["publications"].items():
        if isinstance(history, list) and history:
            dates = pd.to_datetime(
                [h.get("publication_date") for h in history if isinstance(h, dict)],
                errors="coerce",
            ).dropna()
            if len(dates) and (pd.isna(earliest[idx]) or dates.min() < earliest[idx]):
                earliest[idx] = dates.min()
    return earliest


@register
class ContractLatePublication(_ContractRule):
    code = "CONTRACT_LATE_PUBLICATION"
    title = "Publication tardive des données"
    explanation = (
        "Les données essentielles ont été publiées plus de 2 mois (62 jours) après la "
        "notification du marché, délai fixé par l'article R.2196-1 du Code de la commande "
        "publique. Pour un marché publié plusieurs fois, c'est la première publication qui "
        "compte. Vérifiez les deux dates ; si elles sont exactes, l'anomalie documente un "
        "retard réel (écartez-la comme exception acceptée)."
    )
    severity = "warning"
    params = (Param("max_days", 62, "Délai maximal de publication (jours)", int, minimum=0),)

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        first = first_publication(contracts)
        delay = (first - reference_date(contracts)).dt.days
        bad = contracts[delay > int(params["max_days"])]
        days = delay[bad.index].astype("int64").astype(str)
        return failures(
            bad["id"],
            "publication_date",
            _fmt_date(first[bad.index]),
            "Données publiées "
            + days
            + " jours après la notification (maximum "
            + str(int(params["max_days"]))
            + ").",
        )
