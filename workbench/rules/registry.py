"""The rule registry: a stable code stored in the database → a :class:`Rule`.

Built-in rules register exactly as a new one would::

    @register
    class SiretInvalid(Rule):
        code = "SIRET_INVALID"
        ...
        def check(self, frames, params): ...

A rule's ``check`` is pure pandas: it receives the tables it declares in ``tables`` as
DataFrames (see :mod:`workbench.rules.frames` for their columns) and returns a DataFrame of
failures with the columns of :data:`FAILURE_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

#: Columns of the DataFrame a rule returns: one row per failing (record, field).
FAILURE_COLUMNS = ("record_id", "field", "value", "message", "details")

QUEUES: dict[str, dict[str, str]] = {
    "articles": {"title": "Articles à rattacher", "role": "canteen"},
    "matrix": {"title": "Écarts matrice fournisseur", "role": "canteen"},
    "purchases": {"title": "Autres anomalies d'achats", "role": "canteen"},
    "suppliers": {"title": "Fournisseurs", "role": "direction"},
    "contracts": {"title": "Marchés", "role": "direction"},
}


@dataclass(frozen=True)
class Param:
    """A typed rule setting an admin can change."""

    name: str
    default: Any
    label: str
    kind: type = float

    def coerce(self, raw: Any) -> Any:
        if self.kind is bool:
            return raw in (True, "1", "true", "on", "oui", 1)
        return self.kind(raw)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and implement ``check``."""

    code: ClassVar[str]
    title: ClassVar[str]
    #: What is wrong, why it matters, how to fix it (French, shown to users).
    explanation: ClassVar[str]
    domain: ClassVar[str]  # "suppliers", "purchases", "contracts"
    record_kind: ClassVar[str]  # "supplier", "purchase_line", "contract", "matrix_entry"
    severity: ClassVar[str] = "warning"
    owner_role: ClassVar[str] = "canteen"
    queue: ClassVar[str] = "purchases"
    #: "immediate" (the owner's correction applies at once) or "approval" (legal decides).
    approval_policy: ClassVar[str] = "approval"
    #: Tables the rule reads (keys of the frames mapping).
    tables: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    enabled_by_default: ClassVar[bool] = True

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        raise NotImplementedError

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}


_REGISTRY: dict[str, type[Rule]] = {}


def register(rule_class: type[Rule]) -> type[Rule]:
    code = rule_class.code
    if code in _REGISTRY and _REGISTRY[code] is not rule_class:
        raise ValueError(f"Rule code {code} registered twice")
    _REGISTRY[code] = rule_class
    return rule_class


def all_rules() -> dict[str, type[Rule]]:
    load_builtin_rules()
    return dict(_REGISTRY)


def get_rule(code: str) -> type[Rule] | None:
    load_builtin_rules()
    return _REGISTRY.get(code)


def load_builtin_rules() -> None:
    """Import the built-in rule modules (they register themselves)."""
    import importlib

    for module in ("suppliers", "purchases", "contracts"):
        try:
            importlib.import_module(f"workbench.rules.{module}")
        except ModuleNotFoundError as error:
            if not f"workbench.rules.{module}".startswith(str(error.name)):
                raise


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FAILURE_COLUMNS})


@dataclass
class RuleView:
    """A rule with its effective settings (defaults overridden by the admin's)."""

    rule: type[Rule]
    enabled: bool
    approval_policy: str
    params: dict[str, Any] = field(default_factory=dict)
