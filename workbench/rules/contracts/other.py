"""Other contract rules: offers, advance, considerations, broken characters, NC placeholders."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from workbench.rules.common import clean_text, fmt
from workbench.rules.contracts.base import (
    BROKEN_RE,
    NO_ENVIRONMENTAL,
    NO_SOCIAL,
    PLACEHOLDER_FIELDS,
    PLACEHOLDER_RE,
    TEXT_FIELDS,
    _ContractRule,
    value_errors,
)
from workbench.rules.registry import failures, register


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
    title = "Taux d'avance incohérent avec l'attribution de l'avance"
    explanation = (
        "Le marché indique un taux d'avance supérieur à 0 alors qu'aucune avance n'est "
        "attribuée, ou une avance attribuée avec un taux nul. L'indicateur SPASER « titulaires "
        "avec une avance d'au moins 30 % » en dépend. Corrigez l'un des deux champs : "
        "attribution de l'avance ou taux."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        rate = contracts["advance_rate"].astype("float64")
        no_advance = contracts["has_advance"].map(lambda v: v is False or v == 0).astype(bool)
        advance = contracts["has_advance"].map(lambda v: v is True or v == 1).astype(bool)
        without = (rate > 0) & no_advance
        zero = (rate == 0) & advance
        bad = contracts[without | zero]
        value = fmt(rate[bad.index], "g")
        message = ("Taux d'avance de " + value + " mais avance non attribuée.").where(
            without[bad.index], "Avance attribuée mais taux d'avance nul."
        )
        return failures(bad["id"], "advance_rate", value, message)


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
        "renseigne rien, et échappe aux contrôles de champs manquants. Un nombre, une date ou "
        "un identifiant de titulaire reçu ainsi (« NC », « ND », « nan », « null », {}) est "
        "laissé vide à l'import et signalé ici avec la valeur reçue et le fichier. Corrigez : "
        "saisissez la vraie valeur."
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
        received = value_errors(contracts, ("placeholder",))
        if not received.empty:
            received = received.drop_duplicates(["record_id", "field"])
            parts.append(
                failures(
                    received["record_id"],
                    received["field"],
                    received["raw"],
                    "Valeur de remplissage « "
                    + received["raw"].str.slice(0, 80)
                    + " » reçue"
                    + received["file"].map(lambda f: f" (fichier « {f} »)" if f else "")
                    + " : le champ est resté vide.",
                )
            )
        return pd.concat(parts, ignore_index=True)
