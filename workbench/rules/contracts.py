"""Contract (DECP) rules: schema errors, mandatory fields, SIRETs, CPV, amounts, durations,
dates, offers, advance, considerations, broken characters, placeholders. Pure pandas.

Concessions use the signature date where marchés use the notification date.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from workbench.rules.common import blank, clean_text, compact_siret, fmt, fmt_fr, siret_statuses
from workbench.rules.registry import Param, Rule, empty_failures, failures, register
from workbench.rules.suppliers import holder_fields

#: Mandatory DECP fields we hold, per kind (column names; holders checked separately).
MANDATORY: dict[str, dict[str, str]] = {
    "marche": {
        "contract_id": "identifiant du marché",
        "buyer_id": "identifiant de l'acheteur",
        "nature": "nature",
        "object": "objet",
        "cpv_code": "code CPV",
        "procedure": "procédure",
        "place_code": "lieu d'exécution",
        "duration_months": "durée en mois",
        "notification_date": "date de notification",
        "publication_date": "date de publication des données",
        "amount": "montant",
        "price_form": "forme du prix",
        "offers_received": "nombre d'offres reçues",
        "social_considerations": "considérations sociales",
        "environmental_considerations": "considérations environnementales",
    },
    "concession": {
        "contract_id": "identifiant du contrat",
        "buyer_id": "identifiant de l'autorité concédante",
        "nature": "nature",
        "object": "objet",
        "procedure": "procédure",
        "signature_date": "date de signature",
        "start_date": "date de début d'exécution",
        "publication_date": "date de publication des données",
        "amount": "valeur globale",
    },
}
TEXT_FIELDS = (
    "contract_id",
    "buyer_name",
    "nature",
    "object",
    "procedure",
    "place_name",
    "ccag",
    "price_form",
)
PLACEHOLDER_FIELDS = (
    "contract_id",
    "buyer_id",
    "buyer_name",
    "nature",
    "object",
    "cpv_code",
    "procedure",
    "place_code",
    "place_name",
    "price_form",
    "ccag",
)
PLACEHOLDER_RE = r"(?i)^\s*(NC|N\.C\.?|N/C|N/A|NA|NON\s+COMMUNIQU[EÉ]E?|NON\s+RENSEIGN[EÉ]E?|INCONNUE?|\?+|-+|0+)\s*$"
BROKEN_RE = "\ufffd|Ã[\u0080-\u00bf]|â€|Â[\u0080-\u00bf]"
NO_SOCIAL = "Pas de considération sociale"
NO_ENVIRONMENTAL = "Pas de considération environnementale"


def reference_date(contracts: pd.DataFrame) -> pd.Series:
    """Notification date (marchés) or signature date (concessions)."""
    return contracts["notification_date"].where(
        contracts["kind"] != "concession", contracts["signature_date"]
    )


def _is_empty(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return not value
    return False


def _fmt_amount(values: pd.Series) -> pd.Series:
    return fmt(values, ".2f")


def _fmt_date(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%d/%m/%Y").fillna("")


class _ContractRule(Rule):
    domain = "contracts"
    record_kind = "contract"
    owner_role = "direction"
    queue = "contracts"
    approval_policy = "approval"
    tables = ("contracts",)


@register
class DecpSchemaError(_ContractRule):
    code = "DECP_SCHEMA_ERROR"
    title = "Non conforme au schéma DECP"
    explanation = (
        "Le marché, tel qu'il a été reçu, ne respecte pas le schéma JSON officiel des données "
        "essentielles (DECP v2) : champ obligatoire absent, valeur hors de la liste autorisée, "
        "format de date ou de nombre invalide, propriété inconnue. Des données non conformes "
        "sont rejetées à la publication. Corrigez le champ indiqué (le chemin et le message du "
        "validateur sont donnés) ; l'anomalie se ferme au prochain import conforme."
    )
    severity = "blocking"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        errors = contracts[["id", "schema_errors"]].dropna(subset=["schema_errors"])
        rows = []
        for record_id, items in zip(errors["id"], errors["schema_errors"], strict=True):
            for item in items or []:
                if isinstance(item, dict):
                    path, message = str(item.get("path") or ""), str(item.get("message") or "")
                else:
                    path, message = "", str(item)
                rows.append((int(record_id), (path or "(racine)")[:60], message))
        if not rows:
            return empty_failures()
        frame = pd.DataFrame(rows, columns=["record_id", "field", "message"])
        frame = (
            frame.groupby(["record_id", "field"], sort=False)["message"]
            .agg(" ; ".join)
            .reset_index()
        )
        return failures(
            frame["record_id"], frame["field"], None, "Schéma DECP : " + frame["message"]
        )


@register
class ContractFieldMissing(_ContractRule):
    code = "CONTRACT_FIELD_MISSING"
    title = "Champ obligatoire manquant"
    explanation = (
        "Un champ que le format DECP rend obligatoire est vide : identifiant, acheteur, nature, "
        "objet, code CPV, procédure, lieu d'exécution, durée, dates de notification et de "
        "publication, montant, forme du prix, offres reçues, considérations sociales et "
        "environnementales, titulaires (pour une concession : autorité concédante, dates de "
        "signature et de début d'exécution, valeur globale, concessionnaires). Sans lui le "
        "marché n'est pas publiable et manque aux indicateurs. Corrigez : complétez le champ "
        "à partir du dossier du marché."
    )
    severity = "blocking"
    tables = ("contracts", "holders")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        holders = frames["holders"]
        parts = []
        for kind, fields in MANDATORY.items():
            of_kind = contracts[contracts["kind"] == kind]
            for column, label in fields.items():
                values = of_kind[column]
                empty = (
                    values.map(_is_empty).astype(bool) if values.dtype == object else values.isna()
                )
                missing = of_kind[empty]
                if not missing.empty:
                    parts.append(
                        failures(
                            missing["id"], column, None, f"Champ obligatoire manquant : {label}."
                        )
                    )
        # holders: at least one, each with an identifier
        main = holders[holders["role"] == "holder"]
        without = contracts[~contracts["id"].isin(main["contract_id"])]
        if not without.empty:
            field = without["kind"].map({"concession": "concessionnaires"}).fillna("titulaires")
            parts.append(failures(without["id"], field, None, "Aucun titulaire déclaré."))
        no_id = holders[blank(holders["identifier"])]
        if not no_id.empty:
            parts.append(
                failures(
                    no_id["contract_id"],
                    holder_fields(no_id, contracts),
                    None,
                    "Titulaire ou sous-traitant sans identifiant.",
                )
            )
        return pd.concat(parts, ignore_index=True) if parts else empty_failures()


@register
class ContractSiretInvalid(_ContractRule):
    code = "CONTRACT_SIRET_INVALID"
    title = "SIRET invalide (acheteur, titulaire, sous-traitant)"
    explanation = (
        "Le SIRET de l'acheteur, d'un titulaire ou d'un sous-traitant n'est pas valide : "
        "l'acheteur doit avoir un SIRET de 14 chiffres, et tout SIRET doit avoir une clé de "
        "contrôle juste (Luhn ; règle particulière de La Poste), vérifiée avec python-stdnum. "
        "Un SIRET faux attribue le marché à une autre entité ou à personne. Corrigez : "
        "reprenez le SIRET exact sur l'acte d'engagement ou sur annuaire-entreprises.data.gouv.fr."
    )
    severity = "blocking"
    tables = ("contracts", "holders")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        holders = frames["holders"]
        buyer_status = siret_statuses(contracts["buyer_id"])
        bad_buyers = contracts[buyer_status.isin(["format", "checksum"])]
        reasons = {
            "format": "ne compte pas 14 chiffres",
            "checksum": "a une clé de contrôle fausse",
        }
        buyer_value = clean_text(bad_buyers["buyer_id"])
        parts = [
            failures(
                bad_buyers["id"],
                "buyer_id",
                buyer_value,
                "SIRET de l'acheteur « "
                + buyer_value
                + " » : "
                + buyer_status[bad_buyers.index].map(reasons)
                + ".",
            )
        ]
        id_type = clean_text(holders["id_type"]).str.upper()
        status = siret_statuses(holders["identifier"])
        bad = holders[id_type.isin(["SIRET", ""]) & (status == "checksum")]
        value = compact_siret(bad["identifier"])
        who = bad["role"].map({"holder": "du titulaire", "subcontractor": "du sous-traitant"})
        parts.append(
            failures(
                bad["contract_id"],
                holder_fields(bad, contracts),
                value,
                "SIRET " + who + " « " + value + " » : clé de contrôle fausse.",
            )
        )
        return pd.concat(parts, ignore_index=True)


@register
class CpvUnknown(_ContractRule):
    code = "CPV_UNKNOWN"
    title = "Code CPV absent de la nomenclature CPV 2008"
    explanation = (
        "Le code CPV du marché n'a pas la forme NNNNNNNN-C ou n'existe pas dans la "
        "nomenclature CPV 2008 (9 454 codes ; on compare les 8 premiers chiffres, la clé ne "
        "pouvant être recalculée). Le CPV classe le marché (travaux, fournitures, services, "
        "alimentation…) et l'attribue à une direction. Corrigez : choisissez le code le plus "
        "précis de la nomenclature CPV 2008."
    )
    severity = "blocking"
    tables = ("contracts", "cpv")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        roots = set(frames["cpv"]["root"])
        code = clean_text(contracts["cpv_code"])
        well_formed = code.str.fullmatch(r"[0-9]{8}(-[0-9])?")
        known = code.str[:8].isin(roots)
        bad = contracts[(code != "") & ~(well_formed & known)]
        value = code[bad.index]
        message = (
            "Le code CPV « " + value + " » n'existe pas dans la nomenclature CPV 2008."
        ).where(
            well_formed[bad.index], "Le code CPV « " + value + " » n'a pas la forme NNNNNNNN-C."
        )
        return failures(bad["id"], "cpv_code", value, message)


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


@register
class ContractDurationSuspicious(_ContractRule):
    code = "CONTRACT_DURATION_SUSPICIOUS"
    title = "Durée nulle, excessive ou saisie en jours"
    explanation = (
        "La durée en mois est nulle (bloquant), dépasse 180 mois pour un marché ou 360 mois "
        "pour une concession, ou vaut exactement 360, 365 ou 366 : une durée en jours saisie "
        "dans le champ des mois. La durée sert au calcul des montants annuels. Corrigez la "
        "durée (en mois) à partir du dossier du marché."
    )
    severity = "warning"
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
        zero = months <= 0
        days = months.isin([365, 366]) | (months.eq(360) & ~concession)
        too_long = months > limit
        bad = contracts[zero | days | too_long]
        value = fmt(months[bad.index], ".0f")
        message = pd.Series(
            "Durée de "
            + value
            + " mois supérieure au maximum de "
            + fmt(limit[bad.index], ".0f")
            + " mois.",
            index=bad.index,
        )
        message = message.mask(
            days[bad.index],
            "Durée de " + value + " mois : probablement une durée en jours saisie en mois.",
        )
        message = message.mask(zero[bad.index], "Durée nulle ou négative (" + value + " mois).")
        severity = pd.Series("warning", index=bad.index).mask(zero[bad.index], "blocking")
        return failures(bad["id"], "duration_months", value, message, severity=severity)


@register
class ContractDatesOrder(_ContractRule):
    code = "CONTRACT_DATES_ORDER"
    title = "Dates dans le désordre"
    explanation = (
        "Les dates se contredisent : données publiées avant la notification du marché (ou "
        "la signature de la concession), ou modification notifiée avant le marché lui-même. "
        "Une des deux dates est fausse (inversion jour/mois, mauvaise année). Corrigez la date "
        "erronée à partir du dossier du marché."
    )
    severity = "blocking"
    tables = ("contracts", "modifications")

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
        modifications = frames["modifications"]
        if not modifications.empty:
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
    title = "Date dans le futur"
    explanation = (
        "Une date de notification, de publication, de signature ou de début d'exécution est "
        "postérieure à aujourd'hui : un marché ne peut être notifié ni publié dans le futur "
        "(erreur d'année, inversion jour/mois). Corrigez la date."
    )
    severity = "blocking"

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
        return pd.concat(parts, ignore_index=True)


@register
class ContractLatePublication(_ContractRule):
    code = "CONTRACT_LATE_PUBLICATION"
    title = "Publication tardive des données"
    explanation = (
        "Les données essentielles ont été publiées plus de 2 mois (62 jours) après la "
        "notification du marché, délai fixé par l'article R.2196-1 du Code de la commande "
        "publique. Vérifiez les deux dates ; si elles sont exactes, l'anomalie documente un "
        "retard réel (écartez-la comme exception acceptée)."
    )
    severity = "warning"
    params = (Param("max_days", 62, "Délai maximal de publication (jours)", int, minimum=0),)

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        delay = (contracts["publication_date"] - reference_date(contracts)).dt.days
        bad = contracts[delay > int(params["max_days"])]
        days = delay[bad.index].astype("int64").astype(str)
        return failures(
            bad["id"],
            "publication_date",
            _fmt_date(bad["publication_date"]),
            "Données publiées "
            + days
            + " jours après la notification (maximum "
            + str(int(params["max_days"]))
            + ").",
        )


@register
class ContractOffersInvalid(_ContractRule):
    code = "CONTRACT_OFFERS_INVALID"
    title = "Nombre d'offres reçues inférieur à 1"
    explanation = (
        "Un marché notifié a reçu au moins une offre : un nombre d'offres nul ou négatif est "
        "une erreur de saisie (le format DECP impose au moins 1). L'indicateur de "
        "concurrence (offres par marché) en dépend. Corrigez le nombre d'offres reçues."
    )
    severity = "blocking"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        offers = contracts["offers_received"].astype("float64")
        bad = contracts[offers < 1]
        value = fmt(offers[bad.index], ".0f")
        return failures(
            bad["id"], "offers_received", value, "Nombre d'offres reçues : " + value + "."
        )


@register
class ContractAdvanceInconsistent(_ContractRule):
    code = "CONTRACT_ADVANCE_INCONSISTENT"
    title = "Taux d'avance sans avance attribuée"
    explanation = (
        "Le marché indique un taux d'avance supérieur à 0 alors qu'aucune avance n'est "
        "attribuée. L'indicateur SPASER « titulaires avec une avance d'au moins 30 % » en "
        "dépend. Corrigez l'un des deux champs : attribution de l'avance ou taux."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        rate = contracts["advance_rate"].astype("float64")
        no_advance = contracts["has_advance"].map(lambda v: v is False or v == 0).astype(bool)
        bad = contracts[(rate > 0) & no_advance]
        value = fmt(rate[bad.index], "g")
        return failures(
            bad["id"],
            "advance_rate",
            value,
            "Taux d'avance de " + value + " mais avance non attribuée.",
        )


@register
class ContractConsiderationsContradictory(_ContractRule):
    code = "CONTRACT_CONSIDERATIONS_CONTRADICTORY"
    title = "« Pas de considération » avec une considération"
    explanation = (
        "La liste des considérations sociales (ou environnementales) contient à la fois « Pas "
        "de considération… » et une considération (clause, critère, marché réservé). Les "
        "indicateurs SPASER de marchés à clause sociale ou environnementale ne peuvent pas "
        "trancher. Corrigez la liste : retirez « Pas de considération » ou la considération."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        parts = []
        for column, none_value in (
            ("social_considerations", NO_SOCIAL),
            ("environmental_considerations", NO_ENVIRONMENTAL),
        ):
            values = contracts[column]
            contradictory = values.map(
                lambda v, nv=none_value: isinstance(v, list) and nv in v and any(x != nv for x in v)
            ).astype(bool)
            bad = contracts[contradictory]
            value = bad[column].map(lambda v: ", ".join(map(str, v)))
            parts.append(
                failures(bad["id"], column, value, "Liste contradictoire : " + value + ".")
            )
        return pd.concat(parts, ignore_index=True)


@register
class ContractBrokenCharacters(_ContractRule):
    code = "CONTRACT_BROKEN_CHARACTERS"
    title = "Caractères illisibles dans le texte"
    explanation = (
        "Le texte contient un caractère de remplacement (�) ou des séquences typiques d'un "
        "mauvais encodage (« Ã© » pour « é », « â€™ » pour l'apostrophe) : le fichier source a "
        "été lu dans un autre encodage que le sien. Le texte publié est illisible. Corrigez le "
        "texte (ou réimportez le fichier dans le bon encodage)."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        parts = []
        for column in TEXT_FIELDS:
            text = clean_text(contracts[column])
            bad = contracts[text.str.contains(BROKEN_RE, regex=True)]
            value = text[bad.index].str.slice(0, 200)
            parts.append(
                failures(
                    bad["id"],
                    column,
                    value,
                    "Caractères illisibles dans « " + value.str.slice(0, 80) + " ».",
                )
            )
        return pd.concat(parts, ignore_index=True)


@register
class NcPlaceholder(_ContractRule):
    code = "NC_PLACEHOLDER"
    title = "Valeur de remplissage (« NC »)"
    explanation = (
        "Un champ contient une valeur de remplissage au lieu de la donnée : « NC », « N/A », "
        "« non communiqué », « ? », « - » ou des zéros. Le champ paraît rempli mais ne "
        "renseigne rien, et échappe aux contrôles de champs manquants. Corrigez : saisissez "
        "la vraie valeur."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        parts = []
        pattern = re.compile(PLACEHOLDER_RE)
        for column in PLACEHOLDER_FIELDS:
            text = contracts[column].fillna("").astype(str)
            bad = contracts[text.str.match(pattern) & (text != "")]
            value = text[bad.index].str.strip()
            parts.append(
                failures(bad["id"], column, value, "Valeur de remplissage « " + value + " ».")
            )
        return pd.concat(parts, ignore_index=True)
