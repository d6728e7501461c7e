"""The application's URL tables: one ``<feature>/blueprint.py`` per feature, registered in order."""

from __future__ import annotations

import importlib

from flask import Blueprint

#: Features with a URL table, in registration order.
FEATURES = (
    "auth",
    "home",
    "audit",
    "imports",
    "rules",
    "review",
    "matching",
    "indicators",
    "exports",
    "service",
    "jobs",
    "reference",
    "public",
)


def blueprints() -> list[Blueprint]:
    found = []
    for feature in FEATURES:
        name = f"workbench.{feature}.blueprint"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if name == error.name or name.startswith(f"{error.name}."):
                continue
            raise
        found.append(module.bp)
    return found
