"""Loading the frames behind the indicators, within the user's scope."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import User
from workbench.records.access import scope_clause
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import NomenclatureItem, Site, Supplier
from workbench.review.models import Correction
from workbench.rules.models import Anomaly

LINE_FIELDS = ("labels", "origin", "family", "nomenclature_code", "amount_ht")


def _frame(session: Session, stmt: sa.Select) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def purchase_frames(session: Session, user: User) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current lines, lines as imported), with the family taken from the nomenclature when mapped."""
    stmt = sa.select(
        PurchaseLine.id,
        PurchaseLine.site_id,
        Site.name.label("site"),
        PurchaseLine.labels,
        PurchaseLine.origin,
        PurchaseLine.family,
        PurchaseLine.nomenclature_code,
        PurchaseLine.amount_ht,
    ).join(Site, Site.id == PurchaseLine.site_id)
    stmt = stmt.where(scope_clause("purchase_line", user, figures=True))
    current = _frame(session, stmt)
    corrections = _frame(
        session,
        sa.select(
            Correction.id,
            Correction.record_id,
            Correction.field,
            Correction.old_value,
            Correction.status,
        ).where(Correction.record_kind == "purchase_line", Correction.kind != "dismissal"),
    )
    from workbench.indicators.engine import source_values

    before = source_values(current, corrections, LINE_FIELDS)
    families = dict(
        session.execute(sa.select(NomenclatureItem.code, NomenclatureItem.family)).all()
    )
    for frame in (current, before):
        mapped = frame["nomenclature_code"].map(families)
        frame["family"] = mapped.fillna(frame["family"]).fillna("AUTRES")
    return current, before


def contract_frames(
    session: Session, user: User
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    stmt = sa.select(
        Contract.id,
        Contract.buyer_id,
        Contract.amount,
        Contract.notification_date,
        Contract.social_considerations,
        Contract.environmental_considerations,
        Contract.has_advance,
        Contract.advance_rate,
        Contract.direction_code,
    )
    stmt = stmt.where(scope_clause("contract", user, figures=True))
    contracts = _frame(session, stmt)
    holders = _frame(
        session,
        sa.select(
            ContractHolder.contract_id,
            ContractHolder.position,
            ContractHolder.role,
            ContractHolder.identifier,
        ).where(
            ContractHolder.contract_id.in_(
                sa.select(Contract.id).where(scope_clause("contract", user, figures=True))
            )
        ),
    )
    suppliers = _frame(
        session,
        sa.select(Supplier.siret, Supplier.company_category, Supplier.commune_code).where(
            scope_clause("supplier", user, figures=True)
        ),
    )
    return contracts, holders, suppliers


def quality_frames(session: Session) -> tuple[pd.DataFrame, dict[str, int]]:
    anomalies = _frame(
        session,
        sa.select(
            Anomaly.rule_code,
            Anomaly.record_kind,
            Anomaly.status,
            Anomaly.site_id,
            Anomaly.direction_code,
            Anomaly.supplier_id,
            Anomaly.first_seen_at,
            Anomaly.closed_at,
        ),
    )
    counts = {
        "purchase_line": session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) or 0,
        "contract": session.scalar(sa.select(sa.func.count()).select_from(Contract)) or 0,
        "supplier": session.scalar(sa.select(sa.func.count()).select_from(Supplier)) or 0,
    }
    return anomalies, counts


def site_line_counts(session: Session) -> pd.DataFrame:
    return _frame(
        session,
        sa.select(
            Site.id.label("site_id"), Site.name, sa.func.count(PurchaseLine.id).label("records")
        )
        .join(PurchaseLine, PurchaseLine.site_id == Site.id, isouter=True)
        .group_by(Site.id, Site.name),
    )
