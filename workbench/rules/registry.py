"""The rule registry: a stable code stored in the database → a :class:`Rule`.

Built-in rules register exactly as a new one would::

    @register
    class SiretInvalid(Rule):
        code = "SIRET_INVALID"
        ...
        def check(self, frames, params): ...

A rule's ``check`` is pure pandas: it receives the tables it declares in ``tables`` as
DataFrames (see :mod:`workbench.rules.frames` for their columns) and returns a DataFrame of
failures with the columns of :data:`FAILURE_COLUMNS` (plus, optionally, those of
:data:`OPTIONAL_FAILURE_COLUMNS`). ``params`` holds the rule's effective settings plus
``today`` (a :class:`datetime.date`, injected by the engine so that rules stay pure).

The scope of an anomaly (site, direction, supplier) is derived by the engine from the record
the failure points to; a rule only says which record and which field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

#: Columns of the DataFrame a rule returns: one row per failing (record, field).
FAILURE_COLUMNS = ("record_id", "field", "value", "message", "details")
#: Columns a rule may add: ``group_key`` (queues deciding on groups) and ``severity``
#: (a per-row override of the rule's severity, e.g. an outlier that is aberrant, not only suspect).
OPTIONAL_FAILURE_COLUMNS = ("group_key", "severity")

QUEUES: dict[str, dict[str, str]] = {
    "articles": {"title": "Articles à rattacher", "role": "canteen"},
    "matrix": {"title": "Écarts matrice fournisseur", "role": "canteen"},
    "purchases": {"title": "Autres anomalies d'achats", "role": "canteen"},
    "suppliers": {"title": "Fournisseurs", "role": "direction"},
    "contracts": {"title": "Marchés", "role": "direction"},
}

DOMAINS: dict[str, str] = {
    "suppliers": "Fournisseurs",
    "purchases": "Achats des cantines",
    "contracts": "Marchés (DECP)",
}

#: Scope of a rule's anomalies: who sees them, derived from the owner role.
SCOPES: dict[str, str] = {
    "canteen": "site",
    "direction": "direction",
    "legal": "region",
    "admin": "region",
}
SCOPE_LABELS = {"site": "Lycée", "direction": "Direction", "region": "Région"}
APPROVAL_POLICIES = {
    "immediate": "Appliquée immédiatement",
    "approval": "Validation par le service juridique",
}


@dataclass(frozen=True)
class Param:
    """A typed rule setting an admin can change."""

    name: str
    default: Any
    label: str
    kind: type = float
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, raw: Any) -> Any:
        """The value of ``raw`` as this param's type; ``ValueError`` (French) if it is not one."""
        if self.kind is bool:
            return raw in (True, "1", "true", "on", "oui", 1)
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if self.kind in (int, float):
            text = text.replace(",", ".")
        try:
            value = self.kind(float(text)) if self.kind is int else self.kind(text)
        except (TypeError, ValueError):
            raise ValueError(
                f"« {raw} » n'est pas une valeur valide pour « {self.label} »."
            ) from None
        if self.kind is int and float(text) != int(float(text)):
            raise ValueError(f"« {self.label} » doit être un nombre entier.")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"« {self.label} » doit être au moins {self.minimum:g}.")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"« {self.label} » doit être au plus {self.maximum:g}.")
        return value


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
    #: A manual rule's anomalies are raised by people (a report), not by ``check``: the engine
    #: never runs it, and its anomalies close when a correction linked to them is applied.
    is_manual: ClassVar[bool] = False
    #: Purchase rules whose verdict on a line depends on the other lines of the same lycée and
    #: day: the columns they read (a re-check loads that context; a change of other columns
    #: only leaves their verdicts as they are). Empty: the rule looks at one line.
    site_day_fields: ClassVar[frozenset[str]] = frozenset()
    #: The rule's verdict depends on the date (``params["today"]``): a whole run of the
    #: purchase rules re-evaluates every lycée on a new day (:mod:`workbench.rules.marks`).
    reads_today: ClassVar[bool] = False

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        raise NotImplementedError

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def scope(cls) -> str:
        """``site``, ``direction`` or ``region``: who sees the rule's anomalies."""
        return SCOPES.get(cls.owner_role, "region")

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(name)


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

    for module in ("suppliers", "purchases", "contracts", "reports"):
        try:
            importlib.import_module(f"workbench.rules.{module}")
        except ModuleNotFoundError as error:
            if not f"workbench.rules.{module}".startswith(str(error.name)):
                raise


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FAILURE_COLUMNS})


def failures(
    record_id: Any,
    field: Any,
    value: Any,
    message: Any,
    details: Any = None,
    **optional: Any,
) -> pd.DataFrame:
    """Build a failure frame from aligned Series (or scalars broadcast over ``record_id``)."""
    ids = pd.Series(record_id).reset_index(drop=True)
    n = len(ids)

    def column(values: Any) -> pd.Series:
        if isinstance(values, pd.Series | pd.Index | list | tuple) or hasattr(values, "__array__"):
            series = pd.Series(list(values) if isinstance(values, list | tuple) else values)
            return series.reset_index(drop=True).astype(object)
        return pd.Series([values] * n, dtype=object)

    frame = pd.DataFrame(
        {
            "record_id": ids.astype("int64"),
            "field": column(field),
            "value": column(value),
            "message": column(message),
            "details": column(details),
        }
    )
    for name, values in optional.items():
        if name not in OPTIONAL_FAILURE_COLUMNS:
            raise ValueError(f"unknown failure column {name}")
        frame[name] = column(values)
    return frame


@dataclass
class RuleView:
    """A rule with its effective settings (defaults overridden by the admin's)."""

    rule: type[Rule]
    enabled: bool
    approval_policy: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.rule.code

    def __getattr__(self, name: str) -> Any:
        # title, explanation, severity, queue, ... read through to the rule class
        if name == "rule":
            raise AttributeError(name)
        return getattr(self.rule, name)
