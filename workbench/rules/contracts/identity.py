"""Contract identity and schema rules: schema errors, mandatory fields, SIRET, CPV."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.rules.common import SIRET_PROBLEMS, blank, clean_text, compact_siret, siret_statuses
from workbench.rules.contracts.base import MANDATORY, _ContractRule, _is_empty
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
