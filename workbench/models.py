"""Every model, imported once so that the metadata (and Alembic) knows all tables."""

from workbench.audit.models import AuditEntry
from workbench.auth.models import Role, User, user_sites
from workbench.imports.models import ImportBatch
from workbench.indicators.summary import EgalimSummary
from workbench.matching.models import MatchAlias, MatchRejection
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import Direction, MatrixEntry, NomenclatureItem, Site, Supplier
from workbench.review.models import Correction
from workbench.rules.models import Anomaly, RuleSetting

__all__ = [
    "Anomaly",
    "AuditEntry",
    "Contract",
    "ContractHolder",
    "ContractModification",
    "Correction",
    "Direction",
    "EgalimSummary",
    "ImportBatch",
    "MatchAlias",
    "MatchRejection",
    "MatrixEntry",
    "NomenclatureItem",
    "PurchaseLine",
    "Role",
    "RuleSetting",
    "Site",
    "Supplier",
    "User",
    "user_sites",
]
