"""Docs that test themselves: every setting and CLI command is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.config import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_configuration_table():
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_workbench_command_is_in_the_readme(app):
    builtin = {"run", "shell", "routes", "db"}
    documented = [
        c
        for c in _commands(app.cli)
        if c.split()[0] not in builtin and f"workbench {c}" not in README
    ]
    assert not documented, f"commands missing from README.md: {documented}"
