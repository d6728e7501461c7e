"""Every model, imported once so that the metadata (and Alembic) knows all tables."""

from workbench.api.models import ApiBatch, ApiToken
from workbench.audit.models import AuditEntry
from workbench.auth.models import Role, User, user_sites
from workbench.imports.models import ImportBatch
from workbench.indicators.summary import EgalimSummary
from workbench.jobs.models import Job
from workbench.matching.models import MatchAlias, MatchRejection
from workbench.records.models import Contract, ContractHolder, ContractModification, PurchaseLine
from workbench.reference.models import (
    Direction,
    MatrixEntry,
    NomenclatureItem,
    NomenclatureProposal,
    Site,
    Supplier,
)
from workbench.review.models import Correction, ProposalMark
from workbench.rules.models import Anomaly, RuleRun, RuleSetting

__all__ = [
    "Anomaly",
    "ApiBatch",
    "ApiToken",
    "AuditEntry",
    "Contract",
    "ContractHolder",
    "ContractModification",
    "Correction",
    "Direction",
    "EgalimSummary",
    "ImportBatch",
    "Job",
    "MatchAlias",
    "MatchRejection",
    "MatrixEntry",
    "NomenclatureItem",
    "NomenclatureProposal",
    "ProposalMark",
    "PurchaseLine",
    "Role",
    "RuleRun",
    "RuleSetting",
    "Site",
    "Supplier",
    "User",
    "user_sites",
]
