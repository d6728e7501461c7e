"""The journal as a person reads it: French action labels, what was changed, old → new.

Read side only (the journal itself is never changed). :func:`describe` turns one
:class:`AuditEntry` into a :class:`ShownEntry`: an action label from :data:`ACTION_LABELS` (an
unknown code becomes readable words, never shown raw), the target's kind and name, and the
changes as (French field label, old value, new value) formatted like the record page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from workbench.audit.models import AuditEntry
from workbench.core.formatting import format_amount, format_value

#: Every action code written by the operations, in French.
ACTION_LABELS: dict[str, str] = {
    "auth.login": "Connexion",
    "auth.login_failed": "Échec de connexion",
    "auth.logout": "Déconnexion",
    "auth.locked": "Compte verrouillé",
    "user.create": "Compte créé",
    "user.update": "Compte modifié",
    "correction.proposed": "Correction proposée",
    "correction.applied": "Correction appliquée",
    "correction.approved": "Correction validée",
    "correction.rejected": "Correction refusée",
    "correction.conflict": "Correction en conflit",
    "correction.reverted": "Correction annulée",
    "dismissal.proposed": "Mise à l'écart proposée",
    "dismissal.approved": "Mise à l'écart validée",
    "dismissal.rejected": "Mise à l'écart refusée",
    "anomaly.open": "Anomalie rouverte",
    "anomaly.claimed": "Anomalie prise en charge",
    "anomaly.proposed": "Correction proposée pour l'anomalie",
    "anomaly.resolved": "Anomalie résolue",
    "anomaly.dismissed": "Anomalie écartée",
    "anomaly.reopened": "Anomalie réapparue",
    "anomaly.closed_auto": "Anomalie close (donnée conforme)",
    "matrix.reported": "Matrice fournisseur signalée",
    "match.group_mapped": "Articles rattachés à la nomenclature",
    "match.group_proposed": "Rattachement proposé",
    "match.group_undone": "Rattachement annulé",
    "match.alias_learned": "Rattachement mémorisé",
    "match.alias_forgotten": "Rattachement oublié",
    "match.rejected": "Suggestion refusée",
    "rule.settings_changed": "Réglages de règle modifiés",
    "rules.run": "Règles exécutées",
    "import.applied": "Fichier importé",
    "import.rejected": "Import refusé",
    "import.dry_run": "Simulation d'import",
    "export.downloaded": "Export téléchargé",
    "digest.sent": "Récapitulatif envoyé par courriel",
    "demo.loaded": "Jeu de démonstration chargé",
    "auth.login_throttled": "Connexion refusée (trop de tentatives)",
    "account_request.create": "Demande sur un compte",
    "account_request.approve": "Demande sur un compte validée",
    "account_request.reject": "Demande sur un compte refusée",
    "api.call": "Appel de l'API",
    "api.refused": "Appel de l'API refusé",
    "api_token.create": "Jeton d'API créé",
    "api_token.revoke": "Jeton d'API révoqué",
    "contract.history_added": "Publication antérieure gardée en historique",
    "direction.create": "Direction créée",
    "direction.update": "Direction modifiée",
    "site.create": "Lycée créé",
    "site.update": "Lycée modifié",
    "job.cancel": "Travail en arrière-plan annulé",
    "nomenclature.propose": "Article de nomenclature proposé",
    "nomenclature.approve": "Article de nomenclature validé",
    "nomenclature.refuse": "Article de nomenclature refusé",
    "nomenclature.create": "Article de nomenclature créé",
    "nomenclature.retire": "Article de nomenclature retiré",
    "nomenclature.merge": "Articles de nomenclature fusionnés",
    "purchase_line.remap": "Ligne d'achat rattachée à un autre code",
    "audit.checkpoint": "Point de contrôle du journal",
    "audit.verified": "Journal vérifié",
}

#: Families of actions (the prefix before the dot), for the journal filter.
ACTION_FAMILIES: dict[str, str] = {
    "correction": "Corrections",
    "dismissal": "Mises à l'écart",
    "anomaly": "Anomalies",
    "match": "Rattachements d'articles",
    "matrix": "Matrices fournisseurs",
    "import": "Imports",
    "export": "Exports",
    "rule": "Réglages des règles",
    "rules": "Exécutions des règles",
    "user": "Comptes",
    "auth": "Connexions",
    "account_request": "Demandes sur les comptes",
    "api": "API des systèmes sources",
    "api_token": "Jetons d'API",
    "contract": "Marchés",
    "direction": "Directions",
    "site": "Lycées",
    "job": "Travaux en arrière-plan",
    "nomenclature": "Nomenclature",
    "purchase_line": "Lignes d'achat",
}

TARGET_KIND_LABELS: dict[str, str] = {
    "anomaly": "Anomalie",
    "match_group": "Groupe d'articles",
    "match_alias": "Rattachement mémorisé",
    "match_rejection": "Suggestion refusée",
    "user": "Compte",
    "rule": "Règle",
    "rules": "Règles",
    "import_batch": "Import",
    "export": "Export",
    "demo": "Démonstration",
}

#: Keys of before/after payloads that are not fields of the record.
KEY_LABELS: dict[str, str] = {
    "status": "État",
    "reason": "Raison",
    "comment": "Commentaire",
    "code": "Code nomenclature",
    "lines": "Lignes",
    "rows": "Lignes",
    "kind": "Type",
    "key": "Clé",
    "email": "Adresse électronique",
    "name": "Nom",
    "role": "Rôle",
    "sites": "Lycées",
    "direction": "Direction",
    "active": "Compte actif",
    "password_changed": "Mot de passe changé",
    "file_name": "Fichier",
    "file_format": "Format",
    "sha256": "Empreinte SHA-256",
    "inserted": "Ajouts",
    "updated": "Mises à jour",
    "unchanged": "Inchangées",
    "rejected": "Rejetées",
    "conflicts": "Conflits",
    "partial": "Import partiel",
    "enabled": "Règle active",
    "approval_policy": "Politique de validation",
    "params": "Paramètres",
    "all_sites": "Tous les lycées",
    "current_value": "Valeur actuelle",
    "line_value": "Valeur de la ligne",
    "failing": "En anomalie",
    "opened": "Ouvertes",
    "reopened": "Réapparues",
    "closed": "Closes",
    "group": "Groupe",
}

#: Technical keys never shown (ids, and what the target column already says).
HIDDEN_KEYS = frozenset(
    {
        "correction_id",
        "record_kind",
        "record_id",
        "line_ids",
        "site_ids",
        "anomaly_id",
        "line_id",
        "alias_id",
        "purchase_line_id",
        "reported_by",
        "field",
        "old_value",
        "new_value",
        "rule_code",
    }
)


def _value_labels() -> dict[str, dict[str, str]]:
    from workbench.auth.models import ROLE_LABELS
    from workbench.imports.operations.common import KIND_LABELS as IMPORT_KIND_LABELS
    from workbench.review.models import CORRECTION_KIND_LABELS, CORRECTION_STATUS_LABELS
    from workbench.rules.models import DISMISS_REASONS, STATUS_LABELS
    from workbench.rules.registry import APPROVAL_POLICIES

    return {
        "status": {**CORRECTION_STATUS_LABELS, **STATUS_LABELS},
        "anomaly_status": dict(STATUS_LABELS),
        "kind": {**IMPORT_KIND_LABELS, **CORRECTION_KIND_LABELS, **ALIAS_KIND_LABELS},
        "role": {str(k): v for k, v in ROLE_LABELS.items()},
        "reason": {
            **DISMISS_REASONS,
            "fixed": "Donnée corrigée",
            "rule_disabled": "Règle désactivée",
        },
        "approval_policy": dict(APPROVAL_POLICIES),
    }


#: Kinds of learned aliases (``match_aliases.kind``).
ALIAS_KIND_LABELS = {"label": "Libellé", "reference": "Référence fournisseur"}


def _alias_name(target_label: str) -> str:
    """``reference:<siret>|<ref>`` → « Référence REF (SIRET …) », ``label:<key>`` → « Libellé « key » »."""
    kind, sep, key = target_label.partition(":")
    if not sep or kind not in ALIAS_KIND_LABELS:
        return target_label
    if kind == "reference" and "|" in key:
        siret, reference = key.split("|", 1)
        return f"Référence {reference}" + (f" (SIRET {siret})" if siret else "")
    return f"Libellé « {key} »"


def action_label(code: str | None) -> str:
    """The French label of an action; readable words for a code nobody labelled yet."""
    if not code:
        return "—"
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    from workbench.review.labels import readable

    family, _, rest = code.partition(".")
    family_label = ACTION_FAMILIES.get(family, readable(family))
    return f"{family_label} : {readable(rest).lower()}" if rest else family_label


def _role_label(role: str | None) -> str:
    from workbench.auth.models import ROLE_LABELS

    if not role or role == "system":
        return "Système"
    return {str(k): v for k, v in ROLE_LABELS.items()}.get(role, role)


def target_kind_label(kind: str | None) -> str:
    from workbench.records.access import RECORD_KIND_LABELS
    from workbench.review.labels import readable

    if not kind:
        return ""
    return RECORD_KIND_LABELS.get(kind) or TARGET_KIND_LABELS.get(kind) or readable(kind)


@dataclass
class Change:
    label: str
    old: str | None
    new: str


@dataclass
class ShownEntry:
    """One journal entry ready for a template: nothing in it is a raw code."""

    entry: AuditEntry
    action: str
    target_kind: str
    target_name: str
    target_url_kind: str | None
    actor_role: str = ""
    changes: list[Change] = field(default_factory=list)
    note: str | None = None


def _shown(key: str, value: Any, labels: dict[str, dict[str, str]]) -> str:
    if key in ("amount", "amount_ht", "unit_price") and isinstance(value, int | float):
        return format_amount(value)
    if key == "rule_code" and value:
        from workbench.review.labels import rule_title

        return rule_title(value)
    if key == "file_format" and isinstance(value, str):
        from workbench.imports.labels import format_label

        return format_label(value)
    if isinstance(value, str) and key in labels:
        return labels[key].get(value, value)
    if isinstance(value, dict):
        parts = [
            f"{KEY_LABELS.get(k, k)} : {_shown(k, v, labels)}"
            for k, v in value.items()
            if k not in HIDDEN_KEYS
        ]
        return " · ".join(parts) or "—"
    return format_value(value)


def _key_label(key: str, record_kind: str | None) -> str:
    from workbench.review.labels import field_label, readable

    if key in KEY_LABELS:
        return KEY_LABELS[key]
    label = field_label(record_kind, key)
    return label if label != readable(key) else readable(key)


def _dict_changes(
    before: dict | None, after: dict | None, record_kind: str | None, labels: dict
) -> list[Change]:
    before, after = before or {}, after or {}
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key in HIDDEN_KEYS:
            continue
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            Change(
                _key_label(key, record_kind),
                _shown(key, old, labels) if key in before else None,
                _shown(key, new, labels) if key in after else "—",
            )
        )
    return changes


def _field_value(record_kind: str | None, name: str, value: Any, labels: dict) -> str:
    from workbench.review.labels import shown_value

    if record_kind is None:
        return _shown(name, value, labels)
    return shown_value(record_kind, name, value)


def describe(entry: AuditEntry, rule_titles: dict[str, str] | None = None) -> ShownEntry:
    """One entry in French (see the module doc)."""
    from workbench.records.access import RECORD_MODELS
    from workbench.review.labels import field_label, rule_title

    labels = _value_labels()
    kind = entry.target_kind
    name = entry.target_label or ""
    if kind == "anomaly" and entry.target_label:
        name = rule_title(entry.target_label)
    elif kind == "match_alias" and entry.target_label:
        name = _alias_name(entry.target_label)
    elif kind == "match_rejection" and entry.target_label:
        name = f"Libellé « {entry.target_label} »"
    elif not name and entry.target_id:
        name = f"n° {entry.target_id}"
    shown = ShownEntry(
        entry=entry,
        action=action_label(entry.action),
        target_kind=target_kind_label(kind),
        target_name=name,
        target_url_kind=kind if kind in RECORD_MODELS and entry.target_id else None,
        actor_role=_role_label(entry.actor_role),
    )
    before = entry.before if isinstance(entry.before, dict) else None
    after = entry.after if isinstance(entry.after, dict) else None
    if after and "field" in after and ("new_value" in after or "old_value" in after):
        # a correction: one field, old → new
        record_kind = after.get("record_kind") or kind
        label = field_label(record_kind, after.get("field"))
        if after.get("kind") == "dismissal":
            reason = (after.get("new_value") or {}).get("reason")
            shown.changes.append(
                Change(
                    "Mise à l'écart",
                    None,
                    labels["reason"].get(reason, format_value(reason)),
                )
            )
        else:
            shown.changes.append(
                Change(
                    label,
                    _field_value(record_kind, after["field"], after.get("old_value"), labels),
                    _field_value(record_kind, after["field"], after.get("new_value"), labels),
                )
            )
        notes = []
        if after.get("rule_code"):
            notes.append(f"Règle : {rule_title(after['rule_code'])}")
        if after.get("reason"):
            notes.append(f"Raison : {after['reason']}")
        if after.get("comment"):
            notes.append(f"Commentaire : {after['comment']}")
        if "current_value" in after:
            notes.append(f"Valeur actuelle : {format_value(after['current_value'])}")
        shown.note = " · ".join(notes) or None
        return shown
    if entry.action.startswith("anomaly.") and after:
        status_labels = labels["anomaly_status"]
        old = (before or {}).get("status")
        shown.changes.append(
            Change(
                "État",
                status_labels.get(old, format_value(old)) if old else None,
                status_labels.get(after.get("status"), format_value(after.get("status"))),
            )
        )
        if after.get("field"):
            shown.note = "Champ : " + field_label(after.get("record_kind"), after["field"])
        if after.get("reason") in labels["reason"]:
            reason = "Motif : " + labels["reason"][after["reason"]]
            shown.note = f"{shown.note} · {reason}" if shown.note else reason
        return shown
    if entry.action == "rules.run" and after:
        for code, counts in sorted(after.items()):
            if isinstance(counts, dict):
                shown.changes.append(Change(rule_title(code), None, _shown(code, counts, labels)))
        return shown
    if entry.action == "correction.approved" and after:
        shown.note = f"Commentaire : {after['comment']}" if after.get("comment") else None
        return shown
    if before is not None or after is not None:
        if isinstance(entry.before, dict | type(None)) and isinstance(
            entry.after, dict | type(None)
        ):
            shown.changes = _dict_changes(before, after, kind, labels)
        else:
            shown.changes.append(
                Change("Valeur", format_value(entry.before), format_value(entry.after))
            )
    return shown


def describe_all(entries: list[AuditEntry], session: Session | None = None) -> list[ShownEntry]:
    """Every entry in French; with a session, records journaled without a name get theirs."""
    shown = [describe(entry) for entry in entries]
    if session is None:
        return shown
    from workbench.records.access import RECORD_MODELS
    from workbench.rules.queries import _record_keys

    wanted: dict[str, set[int]] = {}
    for s in shown:
        e = s.entry
        if not e.target_label and e.target_kind in RECORD_MODELS and str(e.target_id).isdigit():
            wanted.setdefault(e.target_kind, set()).add(int(e.target_id))
    names = {kind: _record_keys(session, kind, sorted(ids)) for kind, ids in wanted.items()}
    for s in shown:
        e = s.entry
        found = (
            names.get(e.target_kind or "", {}).get(int(e.target_id))
            if e.target_id and str(e.target_id).isdigit()
            else None
        )
        if found is not None:
            s.target_name = found[1] or found[0] or s.target_name
    return shown
