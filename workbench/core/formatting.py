"""French formatting for templates: dates ``jj/mm/aaaa``, amounts ``1 234,56 €``."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask

NBSP = "\u202f"


def format_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%d/%m/%Y %H:%M") + " UTC"
    return value.strftime("%d/%m/%Y")


def format_number(value: float | int | None, decimals: int = 0) -> str:
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def format_amount(value: float | None) -> str:
    if value is None:
        return ""
    return format_number(value, 2) + "\u00a0€"


def format_percent(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "–"
    return format_number(100 * value, decimals) + "\u00a0%"


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_value(value: object) -> str:
    """Any field value as a French reader expects it: Oui/Non, 1 234,5, jj/mm/aaaa, — for empty."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, float):
        return format_number(value, 0 if value.is_integer() else 2)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, str) and _ISO_DATE.match(value):
        return format_date(dt.date.fromisoformat(value))
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value) or "—"
    return str(value)


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["date_fr"] = format_date
    app.jinja_env.filters["number_fr"] = format_number
    app.jinja_env.filters["amount_fr"] = format_amount
    app.jinja_env.filters["percent_fr"] = format_percent
    app.jinja_env.filters["value_fr"] = format_value
