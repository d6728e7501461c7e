"""Charts drawn on the server as SVG (no script, no inline style: the CSP allows neither).

Each function returns safe markup; every chart has its numbers beside it as a table and a CSV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)
GREEN, BLUE, RED, GREY, TEXT = "#067647", "#6f8fc4", "#b42318", "#e4e8ee", "#344054"


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f} %".replace(".", ",")


def _point(cx: float, cy: float, r: float, share: float) -> tuple[float, float]:
    angle = math.pi * (1 - max(0.0, min(1.0, share)))
    return cx + r * math.cos(angle), cy - r * math.sin(angle)


def _arc(cx: float, cy: float, r: float, share: float) -> str:
    x0, y0 = _point(cx, cy, r, 0)
    x1, y1 = _point(cx, cy, r, share)
    return f"M{x0:.1f},{y0:.1f} A{r},{r} 0 0 1 {x1:.1f},{y1:.1f}"


def gauge(
    share: float | None, target: float | None, label: str, before: float | None = None
) -> Markup:
    """A half-circle gauge of ``share`` against ``target`` (red tick), with the value printed."""
    cx, cy, r = 90, 90, 70
    parts = [
        f'<svg class="gauge" width="180" height="120" viewBox="0 0 180 120" role="img" '
        f'aria-label="{escape(label)} : {percent(share)}'
        + (f", objectif {percent(target)}" if target is not None else "")
        + '">',
        f'<path d="{_arc(cx, cy, r, 1)}" fill="none" stroke="{GREY}" stroke-width="16"></path>',
    ]
    if before is not None:
        parts.append(
            f'<path d="{_arc(cx, cy, r - 12, before)}" fill="none" stroke="{BLUE}" '
            f'stroke-width="5"><title>avant corrections : {percent(before)}</title></path>'
        )
    if share:
        parts.append(
            f'<path d="{_arc(cx, cy, r, share)}" fill="none" stroke="{GREEN}" '
            'stroke-width="16"></path>'
        )
    if target is not None:
        x0, y0 = _point(cx, cy, r - 12, target)
        x1, y1 = _point(cx, cy, r + 12, target)
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{RED}" '
            f'stroke-width="3"><title>objectif {percent(target)}</title></line>'
        )
    parts.append(
        f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" font-size="20" font-weight="bold" '
        f'fill="{TEXT}">{percent(share)}</text>'
    )
    if target is not None:
        parts.append(
            f'<text x="{cx}" y="{cy + 16}" text-anchor="middle" font-size="11" fill="{TEXT}">'
            f"objectif {percent(target)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(
    rows: Sequence[dict[str, Any]],
    series: Sequence[tuple[str, str, str]],
    targets: Sequence[float] = (),
    label: str = "Tendance mensuelle",
) -> Markup:
    """A monthly line chart over the twelve months: ``series`` is (key in rows, legend, colour).

    Shares from 0 to 1; a month without data is a gap. The legend is drawn in the chart.
    """
    by_month = {int(r["month"]): r for r in rows}
    rows = [by_month.get(m, {"month": m}) for m in range(1, 13)]
    width, height, left, top, bottom = 640, 240, 40, 30, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    n = max(len(rows), 1)
    peak = max(
        [0.0] + [float(r.get(key) or 0) for r in rows for key, _, _ in series] + list(targets)
    )
    top_value = min(1.0, math.ceil(max(peak, 0.1) * 10) / 10)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(v, top_value)) / top_value)

    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    for step in range(0, 6):
        value = top_value * step / 5
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{GREY}"></line><text x="{left - 4}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end" font-size="10" fill="{TEXT}">{round(value * 100)} %</text>'
        )
    for target in targets:
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            f'stroke="{RED}" stroke-dasharray="4 3"><title>objectif {percent(target)}</title></line>'
        )
    for n_series, (_key, legend, colour) in enumerate(series):
        lx = left + n_series * 190
        parts.append(
            f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"></rect>'
            f'<text x="{lx + 16}" y="16" font-size="11" fill="{TEXT}">{escape(legend)}</text>'
        )
    for key, legend, colour in series:
        points = [(x(i), y(float(r[key]))) for i, r in enumerate(rows) if r.get(key) is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(legend)}</title></polyline>"
            )
        for i, r in enumerate(rows):
            if r.get(key) is not None:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(float(r[key])):.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(legend)} {MONTHS[int(r['month']) - 1]} : "
                    f"{percent(r[key])}</title></circle>"
                )
    for i, r in enumerate(rows):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle" font-size="10" '
            f'fill="{TEXT}">{MONTHS[int(r["month"]) - 1]}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def before_after(
    rows: Sequence[dict[str, Any]],
    name_key: str,
    share_key: str,
    target: float | None = None,
    names: dict[Any, str] | None = None,
    label: str = "Avant et après corrections",
) -> Markup:
    """Horizontal paired bars per row: before (blue, thin) and after (green) corrections."""
    bar_w, left, row_h = 260, 190, 26
    height = row_h * max(len(rows), 1) + 20
    width = left + bar_w + 70
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    for i, r in enumerate(rows):
        top = 5 + i * row_h
        name = (names or {}).get(r[name_key], r[name_key])
        after = r.get(share_key) or 0
        before = r.get(f"{share_key}_before")
        parts.append(
            f'<text x="{left - 6}" y="{top + 14}" text-anchor="end" font-size="11" '
            f'fill="{TEXT}">{escape(str(name))[:32]}</text>'
            f'<rect x="{left}" y="{top + 2}" width="{bar_w}" height="16" fill="{GREY}"></rect>'
        )
        if before is not None:
            parts.append(
                f'<rect x="{left}" y="{top + 2}" width="{max(0, min(1, before)) * bar_w:.1f}" '
                f'height="6" fill="{BLUE}"><title>avant : {percent(before)}</title></rect>'
            )
        parts.append(
            f'<rect x="{left}" y="{top + 9}" width="{max(0, min(1, after)) * bar_w:.1f}" '
            f'height="9" fill="{GREEN}"><title>après : {percent(r.get(share_key))}</title></rect>'
            f'<text x="{left + bar_w + 6}" y="{top + 15}" font-size="11" fill="{TEXT}">'
            f"{percent(r.get(share_key))}</text>"
        )
    if target is not None:
        tx = left + target * bar_w
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="0" y2="{height - 15}" stroke="{RED}" '
            f'stroke-width="2"><title>objectif {percent(target)}</title></line>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
