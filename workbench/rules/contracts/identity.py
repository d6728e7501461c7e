"""Contract identity and schema rules: schema errors, mandatory fields, SIRET, CPV."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.rules.common import SIRET_PROBLEMS, blank, clean_text, compact_siret, siret_statuses
from workbench.rules.contracts.base import (
    DECP_COLUMNS,
    MANDATORY,
    PRE_V2_FORMATS,
    V2_ONLY,
    _ContractRule,
    _is_empty,
    child,
    modification_field,
    modification_holders,
    value_errors,
)
from workbench.rules.registry import empty_failures, failures, register
from workbench.rules.suppliers import holder_fields


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
        "signature et de début d'exécution, valeur globale, concessionnaires). Les champs "
        "apparus avec le format v2 (offres reçues, considérations sociales et "
        "environnementales) ne sont pas exigés d'un marché publié au format 1.5 ou dans le CSV "
        "à plat ; un champ laissé vide parce que sa valeur était illisible relève de "
        "CONTRACT_VALUE_UNREADABLE. Sans lui le marché n'est pas publiable et manque aux "
        "indicateurs. Corrigez : complétez le champ à partir du dossier du marché."
    )
    severity = "blocking"
    tables = ("contracts", "holders")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        holders = frames["holders"]
        parts = []
        pre_v2 = contracts.get(
            "source_format", pd.Series(None, index=contracts.index, dtype=object)
        ).isin(PRE_V2_FORMATS)
        errors = value_errors(contracts)
        unreadable = set(
            zip(errors["record_id"], errors["field"].map(DECP_COLUMNS).fillna(""), strict=True)
        )
        for kind, fields in MANDATORY.items():
            of_kind = contracts[contracts["kind"] == kind]
            for column, label in fields.items():
                values = of_kind[column]
                empty = (
                    values.map(_is_empty).astype(bool) if values.dtype == object else values.isna()
                )
                if column in V2_ONLY:
                    empty &= ~pre_v2[of_kind.index]
                if unreadable:
                    empty &= ~of_kind["id"].map(lambda i, c=column: (i, c) in unreadable)
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
            fields = holder_fields(no_id, contracts)
            received = set(zip(errors["record_id"], errors["field"], strict=True))
            kept = [
                (int(c), f) not in received
                for c, f in zip(no_id["contract_id"], fields, strict=True)
            ]
            no_id, fields = no_id[kept], fields[kept]
        if not no_id.empty:
            parts.append(
                failures(
                    no_id["contract_id"],
                    fields,
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
        "Le SIRET de l'acheteur, d'un titulaire, d'un sous-traitant ou d'un titulaire désigné "
        "par une modification n'est pas valide : l'acheteur et les titulaires des "
        "modifications doivent avoir un SIRET de 14 chiffres, et tout SIRET doit avoir une clé "
        "de contrôle juste (Luhn ; règle particulière de La Poste), vérifiée avec python-stdnum. "
        "Un SIRET faux attribue le marché à une autre entité ou à personne. Corrigez : "
        "reprenez le SIRET exact sur l'acte d'engagement ou sur annuaire-entreprises.data.gouv.fr."
    )
    severity = "blocking"
    tables = ("contracts", "holders", "modifications")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        holders = frames["holders"]
        buyer_status = siret_statuses(contracts["buyer_id"])
        bad_buyers = contracts[buyer_status.isin(["format", "checksum"])]
        reasons = SIRET_PROBLEMS
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
        # holders named by modifications: not seen by the holder rules, so format errors too
        named = modification_holders(child(frames, "modifications"))
        if not named.empty:
            mod_type = clean_text(named["id_type"]).str.upper()
            mod_status = siret_statuses(named["identifier"])
            bad = named[mod_type.isin(["SIRET", ""]) & mod_status.isin(["format", "checksum"])]
            value = compact_siret(bad["identifier"])
            parts.append(
                failures(
                    bad["contract_id"],
                    modification_field(bad["position"], "titulaires[")
                    + bad["holder"].astype("int64").astype(str)
                    + "].id",
                    value,
                    "SIRET du titulaire de la modification n° "
                    + (bad["position"].astype("int64") + 1).astype(str)
                    + " « "
                    + value
                    + " » : "
                    + mod_status[bad.index].map(SIRET_PROBLEMS)
                    + ".",
                )
            )
        return pd.concat(parts, ignore_index=True)


@register
class ContractHolderIsBuyer(_ContractRule):
    code = "CONTRACT_HOLDER_IS_BUYER"
    title = "Titulaire identique à l'acheteur"
    explanation = (
        "Le SIRET d'un titulaire (ou d'un titulaire désigné par une modification) est celui de "
        "l'acheteur : un acheteur ne passe pas de marché avec lui-même. C'est presque toujours "
        "le SIRET de l'acheteur recopié dans le champ du titulaire. Corrigez le titulaire à "
        "partir de l'acte d'engagement."
    )
    severity = "warning"
    tables = ("contracts", "holders", "modifications")

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        contracts = frames["contracts"]
        buyers = pd.Series(
            compact_siret(contracts["buyer_id"]).to_numpy(), index=contracts["id"].to_numpy()
        )
        holders = frames["holders"]
        holders = holders[holders["role"] == "holder"]
        identifier = compact_siret(holders["identifier"])
        same = (identifier != "") & (identifier == holders["contract_id"].map(buyers))
        bad = holders[same]
        parts = [
            failures(
                bad["contract_id"],
                holder_fields(bad, contracts),
                identifier[bad.index],
                "Le titulaire « " + identifier[bad.index] + " » est l'acheteur lui-même.",
            )
        ]
        named = modification_holders(child(frames, "modifications"))
        if not named.empty:
            identifier = compact_siret(named["identifier"])
            same = (identifier != "") & (identifier == named["contract_id"].map(buyers))
            bad = named[same]
            parts.append(
                failures(
                    bad["contract_id"],
                    modification_field(bad["position"], "titulaires[")
                    + bad["holder"].astype("int64").astype(str)
                    + "].id",
                    identifier[bad.index],
                    "Le titulaire « "
                    + identifier[bad.index]
                    + " » de la modification n° "
                    + (bad["position"].astype("int64") + 1).astype(str)
                    + " est l'acheteur lui-même.",
                )
            )
        return pd.concat(parts, ignore_index=True)


@register
class ContractValueUnreadable(_ContractRule):
    code = "CONTRACT_VALUE_UNREADABLE"
    title = "Valeur illisible laissée vide à l'import"
    explanation = (
        "Une valeur du fichier n'a pas pu être enregistrée : nombre, date ou oui/non "
        "illisible, nombre hors des bornes enregistrables (par exemple un montant de 10^17 €), "
        "texte trop long, ou titulaire mal formé (une liste imbriquée, un objet "
        "« titulaire » réduit au nom d'un champ). Le marché est importé, le champ est laissé "
        "vide et la valeur reçue est gardée dans l'enregistrement source ; l'anomalie donne le "
        "champ, la valeur et le fichier. Corrigez le champ à partir du dossier du marché ou "
        "faites corriger le fichier à sa source."
    )
    severity = "warning"

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        errors = value_errors(frames["contracts"], ("unreadable", "range", "holder"))
        if errors.empty:
            return empty_failures()
        errors = (
            errors.groupby(["record_id", "field"], sort=False)
            .agg({"raw": "first", "message": " ; ".join, "file": "first"})
            .reset_index()
        )
        return failures(
            errors["record_id"],
            errors["field"].str.slice(0, 60),
            errors["raw"],
            errors["message"]
            + " Valeur reçue « "
            + errors["raw"].str.slice(0, 80)
            + " »"
            + errors["file"].map(lambda f: f" (fichier « {f} »)" if f else "")
            + " : le champ est resté vide.",
        )


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
