"""Quality rules: registry, pure pandas checks, and the anomaly lifecycle."""

from __future__ import annotations

from typing import Any


def init_rules(app: Any = None) -> None:
    """Connect the incremental re-check to ``records_changed`` (idempotent)."""
    from workbench.core.signals import records_changed
    from workbench.rules.operations import on_records_changed

    records_changed.connect(on_records_changed)
