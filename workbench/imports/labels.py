"""French names of import formats as stored on a batch (``canonique-csv``, ``decp_v2``…)."""

from __future__ import annotations

FORMAT_PARTS: dict[str, str] = {
    "canonique": "export du logiciel de gestion",
    "macantine": "format national ma-cantine",
    "decp_v2": "DECP v2 (JSON)",
    "decp_1.5": "DECP 1.5 (JSON)",
    "decp_csv": "DECP à plat (CSV)",
    "demo": "jeu de démonstration",
    "csv": "CSV",
    "xlsx": "XLSX",
    "json": "JSON",
    "txt": "texte (CSV)",
}


def format_label(code: str | None) -> str:
    """``canonique-csv`` → « export du logiciel de gestion, CSV »; never the raw code."""
    if not code:
        return "inconnu"
    if code in FORMAT_PARTS:
        return FORMAT_PARTS[code]
    parts = [FORMAT_PARTS.get(part, part.replace("_", " ")) for part in code.split("-") if part]
    return ", ".join(parts) or "inconnu"
