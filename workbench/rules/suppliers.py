"""Supplier rules: SIRET present and valid, identifier types, unknown suppliers, categories,
the same supplier under two spellings. Pure pandas over the frames of :mod:`.frames`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.rules.common import (
    SIRET_PROBLEMS,
    blank,
    clean_text,
    compact_siret,
    normalise_name,
    per_unique,
    siren_of,
    siret_statuses,
)
from workbench.rules.registry import Rule, empty_failures, failures, register

ID_TYPES = ("SIRET", "TVA", "TAHITI", "RIDET", "FRWF", "IREP", "HORS-UE")
_VAT_PATTERN = r"^[A-Z]{2}[0-9A-Z+*.]{2,13}$"


def holder_fields(holders: pd.DataFrame, contracts: pd.DataFrame) -> pd.Series:
    """DECP-style field name of each holder row: ``titulaires[0].id``, ``sousTraitants[1].id``…"""
    kind = holders["contract_id"].map(contracts.set_index("id")["kind"]).fillna("marche")
    holder_list = kind.map({"concession": "concessionnaires"}).fillna("titulaires")
    lists = holder_list.where(holders["role"] == "holder", "sousTraitants")
    return lists + "[" + holders["position"].astype("int64").astype(str) + "].id"


class _SupplierRule(Rule):
    domain = "suppliers"
    record_kind = "supplier"
    owner_role = "direction"
    queue = "suppliers"
    approval_policy = "approval"
    tables = ("suppliers",)


@register
class SiretMissing(_SupplierRule):
    code = "SIRET_MISSING"
    title = "SIRET du fournisseur manquant"
    explanation = (
        "Le fournisseur n'a pas de numéro SIRET. Sans SIRET, on ne peut ni le rattacher au "
        "répertoire Sirene (catégorie PME/ETI/GE, ESS, commune), ni le reconnaître dans les "
        "marchés : les indicateurs SPASER (part des PME, des entreprises de la région) le "
        "perdent. Corrigez : saisissez le SIRET de l'établissement (14 chiffres, sur la "
        "facture ou sur annuaire-entreprises.data.gouv.fr)."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        suppliers = frames["suppliers"]
        bad = suppliers[blank(suppliers["siret"])]
        return failures(
            bad["id"],
            "siret",
            None,
            "Le fournisseur « " + clean_text(bad["name"]) + " » n'a pas de SIRET.",
        )


@register
class SiretInvalid(_SupplierRule):
    code = "SIRET_INVALID"
    title = "SIRET du fournisseur invalide"
    explanation = (
        "Le SIRET saisi n'est pas un SIRET valide : il doit compter 14 chiffres et sa clé de "
        "contrôle (formule de Luhn sur le SIREN et sur les 14 chiffres ; règle particulière "
        "pour les établissements de La Poste) doit être juste. Un SIRET faux rattache le "
        "fournisseur à une autre entreprise ou à aucune. Corrigez : vérifiez le numéro sur la "
        "facture ou sur annuaire-entreprises.data.gouv.fr (une faute de frappe sur un chiffre "
        "suffit à invalider la clé)."
    )
    severity = "blocking"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        suppliers = frames["suppliers"]
        status = siret_statuses(suppliers["siret"])
        bad = suppliers[status.isin(["format", "checksum"])]
        reason = status[bad.index].map(SIRET_PROBLEMS)
        value = clean_text(bad["siret"])
        return failures(bad["id"], "siret", value, "Le SIRET « " + value + " » " + reason + ".")


@register
class CompanyCategoryMissing(_SupplierRule):
    code = "COMPANY_CATEGORY_MISSING"
    title = "Catégorie d'entreprise manquante"
    explanation = (
        "La catégorie d'entreprise (PME, ETI ou GE, au sens de l'Insee) du fournisseur n'est "
        "pas renseignée. L'indicateur SPASER « part des marchés attribués à des PME » ne peut "
        "pas le compter. Corrigez : reprenez la catégorie du répertoire Sirene "
        "(categorieEntreprise de l'unité légale) ; les micro-entreprises sont des PME."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        suppliers = frames["suppliers"]
        bad = suppliers[blank(suppliers["company_category"])]
        return failures(
            bad["id"],
            "company_category",
            None,
            "Catégorie d'entreprise (PME/ETI/GE) non renseignée.",
        )


@register
class SupplierDuplicate(_SupplierRule):
    code = "SUPPLIER_DUPLICATE"
    title = "Même fournisseur sous deux graphies"
    explanation = (
        "Deux fiches fournisseurs semblent désigner la même entreprise : soit même SIREN "
        "mais des raisons sociales différentes, soit la même raison sociale (une fois "
        "retirés accents, ponctuation et formes juridiques SAS, SARL…) avec des SIREN "
        "différents ou absents. Les doublons dispersent les achats d'une entreprise et "
        "faussent les parts par fournisseur. Corrigez : harmonisez le nom, ou complétez / "
        "corrigez le SIRET de la fiche erronée ; écartez l'anomalie s'il s'agit bien de deux "
        "entreprises distinctes."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        suppliers = frames["suppliers"].copy()
        if suppliers.empty:
            return empty_failures()
        suppliers["name_key"] = per_unique(suppliers["name"], normalise_name)
        suppliers["siren"] = siren_of(suppliers["siret"])
        parts = []
        # 1. same SIREN, names that differ once normalised
        with_siren = suppliers[suppliers["siren"].notna()]
        names_per_siren = with_siren.groupby("siren")["name_key"].transform("nunique")
        same_siren = with_siren[names_per_siren > 1]
        if not same_siren.empty:
            others = same_siren.groupby("siren")["name"].agg(lambda s: sorted(set(s)))
            part = same_siren.assign(
                group_key="siren:" + same_siren["siren"],
                message="Même SIREN "
                + same_siren["siren"]
                + " que d'autres fiches au nom différent : "
                + same_siren["siren"].map(lambda s: " / ".join(others[s]))
                + ".",
            )
            parts.append(part)
        # 2. same normalised name, different (or missing) SIREN
        named = suppliers[suppliers["name_key"] != ""]
        siren_or_id = named["siren"].fillna("#" + named["id"].astype(str))
        sirens_per_name = siren_or_id.groupby(named["name_key"]).transform("nunique")
        same_name = named[sirens_per_name > 1]
        if not same_name.empty:
            part = same_name.assign(
                group_key="name:" + same_name["name_key"],
                message="Une autre fiche porte le même nom (« "
                + same_name["name_key"]
                + " ») avec un autre SIREN ou sans SIRET.",
            )
            parts.append(part)
        if not parts:
            return empty_failures()
        found = pd.concat(parts).drop_duplicates("id", keep="first")
        return failures(
            found["id"],
            "name",
            clean_text(found["name"]),
            found["message"],
            group_key=found["group_key"],
        )


@register
class SupplierUnknown(Rule):
    code = "SUPPLIER_UNKNOWN"
    title = "Fournisseur inconnu de la table des fournisseurs"
    explanation = (
        "La ligne d'achat désigne un fournisseur (par son SIRET) qui n'existe pas dans la "
        "table des fournisseurs, ou ne désigne aucun fournisseur. La ligne ne peut alors être "
        "comparée à aucune matrice fournisseur, et le fournisseur manque aux indicateurs. "
        "Corrigez : vérifiez le SIRET sur la facture ; s'il est juste, demandez à "
        "l'administrateur d'importer ce fournisseur."
    )
    domain = "suppliers"
    record_kind = "purchase_line"
    owner_role = "canteen"
    queue = "purchases"
    severity = "warning"
    approval_policy = "approval"
    tables = ("purchase_lines", "suppliers")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        lines = frames["purchase_lines"]
        known = set(compact_siret(frames["suppliers"]["siret"])) - {""}
        siret = compact_siret(lines["supplier_siret"])
        no_supplier = (siret == "") & lines["supplier_id"].isna()
        unknown = (siret != "") & ~siret.isin(known)
        bad = lines[no_supplier | unknown]
        value = siret[bad.index]
        message = (
            "Le SIRET fournisseur « " + value + " » n'est pas dans la table des fournisseurs."
        ).where(
            value != "", "La ligne ne désigne aucun fournisseur (ni SIRET ni fiche fournisseur)."
        )
        return failures(bad["id"], "supplier_siret", value.where(value != "", None), message)


@register
class HolderUnknown(Rule):
    code = "HOLDER_UNKNOWN"
    title = "Titulaire inconnu de la table des fournisseurs"
    explanation = (
        "Un titulaire du marché est identifié par un SIRET absent de la table des "
        "fournisseurs : sa catégorie (PME…), son caractère ESS et sa commune sont inconnus, "
        "et il manque aux indicateurs SPASER. Information : demandez à l'administrateur "
        "d'importer ce fournisseur (extrait Sirene), ou corrigez le SIRET s'il est faux."
    )
    domain = "suppliers"
    record_kind = "contract"
    owner_role = "direction"
    queue = "contracts"
    severity = "info"
    approval_policy = "approval"
    tables = ("holders", "contracts", "suppliers")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        holders = frames["holders"]
        known = set(compact_siret(frames["suppliers"]["siret"])) - {""}
        identifier = compact_siret(holders["identifier"])
        id_type = clean_text(holders["id_type"]).str.upper()
        candidate = (
            (holders["role"] == "holder")
            & id_type.isin(["SIRET", ""])
            & identifier.str.fullmatch(r"\d{14}")
        )
        bad = holders[candidate & ~identifier.isin(known)]
        fields = holder_fields(bad, frames["contracts"])
        value = identifier[bad.index]
        return failures(
            bad["contract_id"],
            fields,
            value,
            "Le titulaire " + value + " n'est pas dans la table des fournisseurs.",
        )


@register
class IdTypeMismatch(Rule):
    code = "ID_TYPE_MISMATCH"
    title = "Type d'identifiant incohérent avec la valeur"
    explanation = (
        "Le type d'identifiant d'un titulaire ou d'un sous-traitant ne correspond pas à la "
        "valeur : type SIRET mais pas 14 chiffres, type TVA mais pas un numéro de TVA "
        "intracommunautaire (2 lettres de pays puis 2 à 13 caractères), type absent ou hors "
        "de la liste DECP (SIRET, TVA, TAHITI, RIDET, FRWF, IREP, HORS-UE), ou un SIRET "
        "valide déclaré sous un autre type. Le titulaire ne peut alors être identifié. "
        "Corrigez : saisissez le SIRET de l'établissement titulaire (à privilégier) ou le "
        "bon type d'identifiant."
    )
    domain = "suppliers"
    record_kind = "contract"
    owner_role = "direction"
    queue = "contracts"
    severity = "warning"
    approval_policy = "approval"
    tables = ("holders", "contracts")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        holders = frames["holders"]
        identifier = clean_text(holders["identifier"])
        digits = compact_siret(holders["identifier"])
        id_type = clean_text(holders["id_type"]).str.upper()
        present = identifier != ""
        is_14 = digits.str.fullmatch(r"\d{14}")
        status = siret_statuses(holders["identifier"])
        reasons = pd.Series("", index=holders.index, dtype=object)
        reasons = reasons.mask(present & (id_type == ""), "type d'identifiant absent")
        reasons = reasons.mask(
            present & (id_type != "") & ~id_type.isin(ID_TYPES),
            "type « " + id_type + " » inconnu du format DECP",
        )
        reasons = reasons.mask(
            present & (id_type == "SIRET") & ~is_14,
            "type SIRET mais la valeur ne compte pas 14 chiffres",
        )
        vat_like = (
            identifier.str.upper().str.replace(" ", "", regex=False).str.fullmatch(_VAT_PATTERN)
        )
        reasons = reasons.mask(
            present & (id_type == "TVA") & ~vat_like,
            "type TVA mais la valeur n'est pas un numéro de TVA",
        )
        reasons = reasons.mask(
            present & id_type.isin([t for t in ID_TYPES if t != "SIRET"]) & (status == "valid"),
            "la valeur est un SIRET valide déclaré sous le type « " + id_type + " »",
        )
        bad = holders[reasons != ""]
        fields = holder_fields(bad, frames["contracts"])
        value = (id_type[bad.index] + " " + identifier[bad.index]).str.strip()
        return failures(
            bad["contract_id"],
            fields,
            value,
            "Identifiant « " + identifier[bad.index] + " » : " + reasons[bad.index] + ".",
        )
