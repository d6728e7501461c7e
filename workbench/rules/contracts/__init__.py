"""Contract (DECP) rules: schema errors, mandatory fields, SIRETs, CPV, amounts, durations,
dates, offers, advance, considerations, broken characters, placeholders. Pure pandas.

Concessions use the signature date where marchés use the notification date.
"""

from __future__ import annotations

# Sub-modules imported in registration order (the registry keeps the order rules register in).
# isort: off
from workbench.rules.contracts.base import (
    BROKEN_RE,
    MANDATORY,
    NO_ENVIRONMENTAL,
    NO_SOCIAL,
    PLACEHOLDER_FIELDS,
    PLACEHOLDER_RE,
    TEXT_FIELDS,
    reference_date,
)
from workbench.rules.contracts.identity import (
    ContractFieldMissing,
    ContractHolderIsBuyer,
    ContractSiretInvalid,
    ContractValueUnreadable,
    CpvUnknown,
    DecpSchemaError,
)
from workbench.rules.contracts.amounts import (
    ContractAmountOutOfRange,
    ContractAmountOutlier,
    ContractAmountSuspicious,
)
from workbench.rules.contracts.dates import (
    ContractDateFuture,
    ContractDatesOrder,
    ContractDurationSuspicious,
    ContractLatePublication,
)
from workbench.rules.contracts.other import (
    ContractAdvanceInconsistent,
    ContractBrokenCharacters,
    ContractConsiderationsContradictory,
    ContractOffersInvalid,
    NcPlaceholder,
)
from workbench.rules.contracts.modifications import (
    ContractHoldersReplaced,
    ContractModificationAmount,
)
# isort: on

__all__ = [
    "BROKEN_RE",
    "ContractAdvanceInconsistent",
    "ContractAmountOutOfRange",
    "ContractAmountOutlier",
    "ContractAmountSuspicious",
    "ContractBrokenCharacters",
    "ContractConsiderationsContradictory",
    "ContractDateFuture",
    "ContractDatesOrder",
    "ContractDurationSuspicious",
    "ContractFieldMissing",
    "ContractHolderIsBuyer",
    "ContractHoldersReplaced",
    "ContractModificationAmount",
    "ContractValueUnreadable",
    "ContractLatePublication",
    "ContractOffersInvalid",
    "ContractSiretInvalid",
    "CpvUnknown",
    "DecpSchemaError",
    "MANDATORY",
    "NO_ENVIRONMENTAL",
    "NO_SOCIAL",
    "NcPlaceholder",
    "PLACEHOLDER_FIELDS",
    "PLACEHOLDER_RE",
    "TEXT_FIELDS",
    "reference_date",
]
