"""A few days of work on top of the demo data, through the real operations.

So that every page has something to show on first start: applied mappings (the indicators move
between "before" and "after"), proposals waiting for the legal department, decisions made with
four eyes, a dismissal, and their journal entries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import Actor, acting_as
from workbench.auth.models import User
from workbench.core.errors import WorkbenchError
from workbench.matching.operations import map_group
from workbench.records.models import Contract, PurchaseLine
from workbench.reference.models import MatrixEntry, Supplier
from workbench.review import operations
from workbench.rules.models import Anomaly

logger = logging.getLogger(__name__)


@dataclass
class Activity:
    mapped: int = 0
    groups: int = 0
    proposed: int = 0
    approved: int = 0
    rejected: int = 0
    dismissed: int = 0


def _user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email))


def _open(session: Session, rule_code: str, limit: int, **where: object) -> list[Anomaly]:
    stmt = sa.select(Anomaly).where(Anomaly.rule_code == rule_code, Anomaly.status == "open")
    for column, value in where.items():
        stmt = stmt.where(getattr(Anomaly, column) == value)
    return list(session.scalars(stmt.order_by(Anomaly.id).limit(limit)))


def _try(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return action(*args, **kwargs)
    except WorkbenchError as error:  # a demo step that no longer applies is skipped
        logger.info("demo activity step skipped: %s", error.message)
        return None


def simulate_activity(session: Session) -> Activity:
    """Map articles the supplier matrix knows, propose corrections, decide some of them."""
    done = Activity()
    canteen = _user(session, "cantine.chateaubriand@region.example")
    direction = _user(session, "direction.lycees@region.example")
    legal = _user(session, "juridique@region.example")
    if not (canteen and direction and legal):
        return done
    site_id = canteen.sites[0].id

    with acting_as(Actor.of(canteen)):
        # Whole article groups, as a canteen team maps them from « Articles à rattacher »:
        # the supplier matrix knows the code; one decision maps every line of the group.
        groups = session.execute(
            sa.select(Anomaly.group_key, MatrixEntry.nomenclature_code)
            .join(PurchaseLine, PurchaseLine.id == Anomaly.record_id)
            .join(
                MatrixEntry,
                (MatrixEntry.supplier_id == PurchaseLine.supplier_id)
                & (MatrixEntry.reference == PurchaseLine.reference),
            )
            .where(
                Anomaly.rule_code == "ARTICLE_UNMAPPED",
                Anomaly.status == "open",
                Anomaly.site_id == site_id,
                MatrixEntry.nomenclature_code.is_not(None),
                Anomaly.group_key.like("ref:%"),
            )
            .group_by(Anomaly.group_key, MatrixEntry.nomenclature_code)
            .order_by(sa.func.count().desc(), Anomaly.group_key)
            .limit(25)
        ).all()
        for group_key, code in groups:
            result = _try(
                map_group,
                session,
                canteen,
                group_key,
                code,
                site_ids=[site_id],
                reason="Code de la matrice fournisseur",
            )
            if result is not None:
                done.mapped += result.count
                done.groups += 1
        proposals = []
        for anomaly in _open(session, "MATRIX_LABEL_MISMATCH", 8, site_id=site_id):
            line = session.get(PurchaseLine, anomaly.record_id)
            entry = operations_matrix(session, line)
            if entry is None:
                continue
            proposal = _try(
                operations.propose_correction,
                session,
                canteen,
                "purchase_line",
                line.id,
                "labels",
                entry.labels,
                "Labels alignés sur la matrice du fournisseur",
                anomaly_id=anomaly.id,
            )
            if proposal is not None:
                proposals.append(proposal)
        done.proposed += len(proposals)

    with acting_as(Actor.of(direction)):
        for anomaly in _open(
            session, "COMPANY_CATEGORY_MISSING", 3, direction_code=direction.direction_code
        ):
            supplier = session.get(Supplier, anomaly.record_id)
            if supplier and _try(
                operations.propose_correction,
                session,
                direction,
                "supplier",
                supplier.id,
                "company_category",
                "PME",
                "Catégorie lue dans Sirene",
                anomaly_id=anomaly.id,
            ):
                done.proposed += 1
        for anomaly in _open(
            session, "CONTRACT_DURATION_SUSPICIOUS", 3, direction_code=direction.direction_code
        ):
            contract = session.get(Contract, anomaly.record_id)
            if (
                contract
                and contract.duration_months in (360, 365, 366)
                and _try(
                    operations.propose_correction,
                    session,
                    direction,
                    "contract",
                    contract.id,
                    "duration_months",
                    "12",
                    "Durée saisie en jours : 12 mois selon l'acte d'engagement",
                    anomaly_id=anomaly.id,
                )
            ):
                done.proposed += 1

    with acting_as(Actor.of(legal)):
        for index, proposal in enumerate(proposals[:4]):
            approve = index != 3
            _try(
                operations.decide,
                session,
                legal,
                proposal,
                approve,
                "Conforme à la matrice"
                if approve
                else "Facture à vérifier : la ligne mentionne BIO",
            )
            done.approved += approve
            done.rejected += not approve
    session.flush()
    return done


def operations_matrix(session: Session, line: PurchaseLine) -> MatrixEntry | None:
    if line.supplier_id is None or not line.reference:
        return None
    return session.scalar(
        sa.select(MatrixEntry).where(
            MatrixEntry.supplier_id == line.supplier_id, MatrixEntry.reference == line.reference
        )
    )
