"""What a column and a format are, and the code lists (families, labels) cells are read against."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stdnum.fr import siret as stdnum_siret

from workbench.imports.parsing import normalise_header, normalise_token
from workbench.reference.models import FAMILIES, LABELS


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    #: text, upper, date, decimal, bool, flag, family, labels, choice, siret
    type: str = "text"
    required: bool = False
    not_null: bool = False
    max_len: int | None = None
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    #: Largest accepted value of a decimal column (``FLOAT`` columns: quantities...).
    maximum: float | None = None
    #: ``(precision, scale)`` of the ``NUMERIC`` column a decimal goes to (Money: 14, 2).
    numeric: tuple[int, int] | None = None
    doc: str = ""

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(normalise_header(n) for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class Format:
    key: str
    title: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...] = ()
    doc: str = ""
    example: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# -- code lists ---------------------------------------------------------------------------------
FAMILY_ALIASES: dict[str, str] = {normalise_token(code): code for code in FAMILIES}
FAMILY_ALIASES.update({normalise_token(label): code for code, label in FAMILIES.items()})
FAMILY_ALIASES.update(
    {
        "VIANDES": "VIANDES_VOLAILLES",
        "VOLAILLES": "VIANDES_VOLAILLES",
        "VIANDE": "VIANDES_VOLAILLES",
        "POISSONS": "PRODUITS_DE_LA_MER",
        "PRODUITS_DE_LA_MER_ET_AQUACULTURE": "PRODUITS_DE_LA_MER",
        "FRUITS_LEGUMES": "FRUITS_ET_LEGUMES",
        "BOF": "PRODUITS_LAITIERS",
        "PRODUITS_LAITIERS_BEURRE_ET_OEUFS": "PRODUITS_LAITIERS",
        "PATISSERIE": "BOULANGERIE",
        "BOULANGERIE_PATISSERIE": "BOULANGERIE",
        "AUTRE": "AUTRES",
        "EPICERIE": "AUTRES",
    }
)

LABEL_ALIASES: dict[str, str] = {normalise_token(code): code for code in LABELS}
LABEL_ALIASES.update({normalise_token(label): code for code, label in LABELS.items()})
LABEL_ALIASES.update(
    {
        "AB": "BIO",
        "AGRICULTURE_BIOLOGIQUE": "BIO",
        "BIOLOGIQUE": "BIO",
        "LR": "LABEL_ROUGE",
        "AOC": "AOCAOP",
        "AOP": "AOCAOP",
        "AOC_AOP": "AOCAOP",
        "AOC/AOP": "AOCAOP",
        "MSC": "PECHE_DURABLE",
        "ECOLABEL_PECHE_DURABLE": "PECHE_DURABLE",
        "EQUITABLE": "COMMERCE_EQUITABLE",
        "ORIGINE_FRANCE": "FRANCE",
        "CIRCUIT_COURT": "CIRCUIT_COURT",
    }
)
_LABEL_SPLIT = re.compile(r"[,;|+]")


def normalise_labels(value: Any) -> tuple[str, list[str]]:
    """``"Bio, AB , LR"`` → (``"BIO,LABEL_ROUGE"``, unknown tokens)."""
    codes: set[str] = set()
    unknown: list[str] = []
    for token in _LABEL_SPLIT.split(str(value or "")):
        if not token.strip():
            continue
        key = normalise_token(token)
        code = LABEL_ALIASES.get(key) or LABEL_ALIASES.get(key.replace("/", "_"))
        if code is None:
            unknown.append(token.strip())
        else:
            codes.add(code)
    return ",".join(sorted(codes)), unknown


def compact_siret(value: Any) -> str | None:
    text = stdnum_siret.compact(str(value or "")) if value not in (None, "") else ""
    return text or None
