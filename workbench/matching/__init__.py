"""Matching supplier article labels to the purchase nomenclature (pure engine + CLI)."""

from workbench.matching.engine import (
    Matcher,
    NormalisedLabel,
    Signals,
    cluster_labels,
    extract_signals,
    normalise,
)

__all__ = [
    "Matcher",
    "NormalisedLabel",
    "Signals",
    "cluster_labels",
    "extract_signals",
    "normalise",
]
