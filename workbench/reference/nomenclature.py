"""Nomenclature governance: proposals from the queue, decisions, retiring and merging items.

Operations flush and journal, never commit. Retiring or merging sends ``records_changed`` so
the rules re-check the lines concerned in the same transaction: a line still pointing at a
retired code is flagged by NOMENCLATURE_CODE_INVALID (« désactivé »).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record, record_many
from workbench.core.errors import ValidationError
from workbench.core.signals import records_changed
from workbench.db import utcnow
from workbench.reference.models import (
    FAMILIES,
    MatrixEntry,
    NomenclatureItem,
    NomenclatureProposal,
)


def _proposal_snapshot(p: NomenclatureProposal) -> dict[str, Any]:
    return {
        "label": p.label,
        "family": p.family,
        "parent_code": p.parent_code,
        "comment": p.comment,
        "group": p.group_key,
        "status": p.status,
        "code": p.code,
        "reason": p.reason,
    }


def _item_snapshot(item: NomenclatureItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "label": item.label,
        "family": item.family,
        "parent_code": item.parent_code,
        "active": item.is_active,
    }


def _check_item_fields(session: Session, label: str, family: str, parent_code: str | None) -> None:
    if not (label or "").strip():
        raise ValidationError("Le libellé de l'article est obligatoire.")
    if family not in FAMILIES:
        raise ValidationError("Famille inconnue; familles possibles : " + ", ".join(FAMILIES) + ".")
    if parent_code and _item(session, parent_code) is None:
        raise ValidationError(f"Code parent inconnu : {parent_code}.")


def _item(session: Session, code: str) -> NomenclatureItem | None:
    return session.scalar(sa.select(NomenclatureItem).where(NomenclatureItem.code == code))


def active_item(session: Session, raw: str | None) -> NomenclatureItem:
    """The ACTIVE nomenclature item of ``raw`` (exact code, else case-insensitive), or a French
    :class:`ValidationError` — what every code a person types (a mapping, a correction) must be."""
    code = (raw or "").strip()
    if not code:
        raise ValidationError("Indiquez un code de la nomenclature.")
    item = _item(session, code) or session.scalar(
        sa.select(NomenclatureItem).where(sa.func.upper(NomenclatureItem.code) == code.upper())
    )
    if item is None:
        raise ValidationError(f"Le code « {code} » n'existe pas dans la nomenclature.")
    if not item.is_active:
        raise ValidationError(
            f"Le code « {item.code} » ({item.label}) est désactivé dans la nomenclature : "
            "choisissez un code actif."
        )
    return item


def propose_item(
    session: Session,
    user: Any,
    *,
    label: str,
    family: str,
    parent_code: str | None = None,
    comment: str = "",
    group_key: str | None = None,
) -> NomenclatureProposal:
    """A canteen team (or the admin) proposes a new item, e.g. for an unmapped group."""
    parent_code = (parent_code or "").strip() or None
    _check_item_fields(session, label, family, parent_code)
    proposal = NomenclatureProposal(
        label=label.strip()[:300],
        family=family,
        parent_code=parent_code,
        comment=(comment or "").strip()[:1000],
        group_key=(group_key or None) and group_key[:600],
        status="proposed",
        proposed_by_id=getattr(user, "id", None),
    )
    session.add(proposal)
    session.flush()
    record(
        session,
        "nomenclature.propose",
        target_kind="nomenclature_proposal",
        target_id=proposal.id,
        target_label=proposal.label,
        after=_proposal_snapshot(proposal),
    )
    return proposal


def _pending(proposal: NomenclatureProposal) -> None:
    if proposal.status != "proposed":
        raise ValidationError("Cette proposition a déjà été traitée.")


def approve_proposal(
    session: Session,
    proposal: NomenclatureProposal,
    user: Any,
    *,
    code: str,
    label: str | None = None,
    family: str | None = None,
    parent_code: str | None = None,
) -> NomenclatureItem:
    """Create the item (with the admin's edits) and close the proposal."""
    _pending(proposal)
    code = (code or "").strip().upper()
    if not code or len(code) > 30:
        raise ValidationError("Le code du nouvel article est obligatoire (30 caractères au plus).")
    if _item(session, code) is not None:
        raise ValidationError(f"Le code {code} existe déjà dans la nomenclature.")
    label = (label if label is not None else proposal.label).strip()
    family = family or proposal.family
    parent_code = (parent_code if parent_code is not None else proposal.parent_code) or None
    _check_item_fields(session, label, family, parent_code)
    before = _proposal_snapshot(proposal)
    item = NomenclatureItem(
        code=code, label=label[:300], family=family, parent_code=parent_code, is_active=True
    )
    session.add(item)
    proposal.status, proposal.code = "approved", code
    proposal.label, proposal.family, proposal.parent_code = label[:300], family, parent_code
    proposal.decided_by_id, proposal.decided_at = getattr(user, "id", None), utcnow()
    session.flush()
    record(
        session,
        "nomenclature.approve",
        target_kind="nomenclature_proposal",
        target_id=proposal.id,
        target_label=label,
        before=before,
        after=_proposal_snapshot(proposal),
    )
    record(
        session,
        "nomenclature.create",
        target_kind="nomenclature_item",
        target_id=item.id,
        target_label=code,
        after=_item_snapshot(item),
    )
    records_changed.send(session, record_kind="nomenclature_item", record_ids=[item.id])
    return item


def refuse_proposal(
    session: Session, proposal: NomenclatureProposal, user: Any, *, reason: str
) -> None:
    _pending(proposal)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Indiquez pourquoi la proposition est refusée.")
    before = _proposal_snapshot(proposal)
    proposal.status, proposal.reason = "refused", reason[:1000]
    proposal.decided_by_id, proposal.decided_at = getattr(user, "id", None), utcnow()
    session.flush()
    record(
        session,
        "nomenclature.refuse",
        target_kind="nomenclature_proposal",
        target_id=proposal.id,
        target_label=proposal.label,
        before=before,
        after=_proposal_snapshot(proposal),
    )


def retire_item(session: Session, item: NomenclatureItem) -> None:
    """Deactivate an item: its lines are re-checked and flagged (code « désactivé »)."""
    if not item.is_active:
        raise ValidationError(f"L'article {item.code} est déjà retiré.")
    before = _item_snapshot(item)
    item.is_active = False
    session.flush()
    record(
        session,
        "nomenclature.retire",
        target_kind="nomenclature_item",
        target_id=item.id,
        target_label=item.code,
        before=before,
        after=_item_snapshot(item),
    )
    records_changed.send(session, record_kind="nomenclature_item", record_ids=[item.id])


def merge_item(session: Session, source: NomenclatureItem, target: NomenclatureItem) -> int:
    """Merge ``source`` into ``target``: its lines, matrix entries, children and learned
    decisions now point at ``target``; ``source`` is retired. Returns the lines remapped.

    Each remapped purchase line gets its own journal entry (before/after code); the rules
    re-check those lines.
    """
    from workbench.matching.models import MatchAlias
    from workbench.records.models import PurchaseLine

    if source.id == target.id:
        raise ValidationError("Choisissez un autre article que celui à fusionner.")
    if not target.is_active:
        raise ValidationError(
            f"L'article {target.code} est retiré : fusionnez vers un article actif."
        )
    line_ids = list(
        session.scalars(
            sa.select(PurchaseLine.id).where(PurchaseLine.nomenclature_code == source.code)
        )
    )
    now = utcnow()
    if line_ids:
        session.execute(
            sa.update(PurchaseLine)
            .where(PurchaseLine.nomenclature_code == source.code)
            .values(
                nomenclature_code=target.code,
                version=PurchaseLine.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    matrix = session.execute(
        sa.update(MatrixEntry)
        .where(MatrixEntry.nomenclature_code == source.code)
        .values(nomenclature_code=target.code, version=MatrixEntry.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    children = session.execute(
        sa.update(NomenclatureItem)
        .where(NomenclatureItem.parent_code == source.code)
        .values(parent_code=target.code)
        .execution_options(synchronize_session=False)
    ).rowcount
    aliases = session.execute(
        sa.update(MatchAlias)
        .where(MatchAlias.code == source.code)
        .values(code=target.code)
        .execution_options(synchronize_session=False)
    ).rowcount
    before = _item_snapshot(source)
    source.is_active = False
    session.flush()
    record(
        session,
        "nomenclature.merge",
        target_kind="nomenclature_item",
        target_id=source.id,
        target_label=source.code,
        before=before,
        after={
            **_item_snapshot(source),
            "merged_into": target.code,
            "lines": len(line_ids),
            "matrix_entries": matrix,
            "children": children,
            "aliases": aliases,
        },
    )
    record_many(
        session,
        (
            {
                "action": "purchase_line.remap",
                "target_kind": "purchase_line",
                "target_id": line_id,
                "before": {"nomenclature_code": source.code},
                "after": {"nomenclature_code": target.code, "reason": "fusion"},
            }
            for line_id in line_ids
        ),
    )
    session.expire_all()
    if line_ids:
        records_changed.send(session, record_kind="purchase_line", record_ids=line_ids)
    records_changed.send(session, record_kind="nomenclature_item", record_ids=[source.id])
    return len(line_ids)
