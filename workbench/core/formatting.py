"""French formatting for templates, through Babel (CLDR ``fr_FR``): dates ``jj/mm/aaaa``, times
in Europe/Paris, amounts ``1 234,56 €``, percentages, ages and plurals.

The filter names (``date_fr``, ``number_fr``, ``amount_fr``, ``percent_fr``, ``value_fr``) are
the templates' vocabulary; their implementation is Babel's.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_timedelta as babel_timedelta
from babel.numbers import format_decimal
from flask import Flask

LOCALE = "fr_FR"
PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u202f"


def to_paris(value: dt.datetime) -> dt.datetime:
    """A timestamp in Europe/Paris (naive timestamps are UTC, as the database stores them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(PARIS)


def format_date(value: dt.date | dt.datetime | None) -> str:
    """``jj/mm/aaaa`` for a date; ``jj/mm/aaaa hh:mm`` in Europe/Paris for a timestamp."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return babel_datetime(to_paris(value), "dd/MM/yyyy HH:mm", tzinfo=PARIS, locale=LOCALE)
    return babel_date(value, "dd/MM/yyyy", locale=LOCALE)


def format_day(value: dt.date | dt.datetime | None) -> str:
    """The day only (``jj/mm/aaaa``), in Europe/Paris for a timestamp."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_paris(value).date()
    return babel_date(value, "dd/MM/yyyy", locale=LOCALE)


def format_number(value: float | int | None, decimals: int = 0) -> str:
    if value is None:
        return ""
    rounded = round(float(value), decimals)
    if rounded == 0:
        rounded = 0.0  # never « -0 » or « -0,0 »
    return _format_decimal(rounded, decimals)


@functools.lru_cache(maxsize=65_536)
def _format_decimal(rounded: float, decimals: int) -> str:
    """Babel's formatting of a rounded number, memoised (pages format hundreds of them)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(rounded, format=pattern, locale=LOCALE)


def format_amount(value: float | None) -> str:
    if value is None:
        return ""
    return format_number(value, 2) + "\u00a0€"


def format_percent(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "–"
    return format_number(100 * value, decimals) + "\u00a0%"


def format_points(value: float | None, decimals: int = 1) -> str:
    """A signed difference in percentage points (``+1,2 pt``); a rounded zero has no sign."""
    if value is None:
        return ""
    rounded = round(float(value), decimals)
    if rounded == 0:
        return format_number(0, decimals) + "\u00a0pt"
    sign = "+" if rounded > 0 else "−"
    return sign + format_number(abs(rounded), decimals) + "\u00a0pt"


def format_age(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """How long ago, in French words (« 3 jours »)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return babel_timedelta(now - value, threshold=1.0, locale=LOCALE)


def plural(count: int | None, singular: str, plural_form: str | None = None) -> str:
    """``2 ouvertes``: the count and the noun or adjective agreeing with it (French: 0 and 1 are
    singular)."""
    count = count or 0
    word = singular if abs(count) < 2 else (plural_form or _pluralise(singular))
    return f"{format_number(count)} {word}"


def _pluralise(word: str) -> str:
    return " ".join(w if w.endswith(("s", "x", "z")) else w + "s" for w in word.split(" "))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


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
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return format_date(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return " · ".join(f"{k} : {format_value(v)}" for k, v in value.items()) or "—"
    return str(value)


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["date_fr"] = format_date
    app.jinja_env.filters["day_fr"] = format_day
    app.jinja_env.filters["number_fr"] = format_number
    app.jinja_env.filters["amount_fr"] = format_amount
    app.jinja_env.filters["percent_fr"] = format_percent
    app.jinja_env.filters["points_fr"] = format_points
    app.jinja_env.filters["age_fr"] = format_age
    app.jinja_env.filters["value_fr"] = format_value
    app.jinja_env.globals["plural_fr"] = plural
