"""Workbooks written by hand (sheet XML straight into a ZIP): big, broken or hostile ones are
cheap to produce this way, far cheaper than through openpyxl."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def cell(value: object, column: int, row: int) -> str:
    """One cell: numbers as numbers, text inline; ``("f", cached)`` is a formula cell whose
    cached value is ``cached`` in a cell typed as a number."""
    ref = f"{column_letter(column)}{row}"
    if isinstance(value, tuple):
        _, cached = value
        return f'<c r="{ref}"><f>A1*2</f><v>{escape(str(cached))}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: Iterable[Iterable[object]]) -> str:
    parts = [SHEET_HEAD, "<sheetData>"]
    for number, values in enumerate(rows, start=1):
        cells = "".join(cell(v, c, number) for c, v in enumerate(values, start=1) if v != "")
        parts.append(f'<row r="{number}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def write_xlsx(path: Path, sheet: str | bytes, extra: dict[str, bytes] | None = None) -> Path:
    """A workbook whose first sheet's XML is ``sheet`` (plus ``extra`` parts)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def write_rows_xlsx(path: Path, rows: Iterable[Iterable[object]]) -> Path:
    return write_xlsx(path, sheet_xml(rows))


def write_many_rows_xlsx(path: Path, header: str, row: str, count: int) -> Path:
    """``count`` copies of the row XML ``row`` (no ``r`` attributes) after the header row XML,
    streamed into the ZIP entry: 2,000,000 rows take a few seconds and a few MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write((SHEET_HEAD + "<sheetData>" + header).encode())
            block = (row * 10_000).encode()
            full, rest = divmod(count, 10_000)
            for _ in range(full):
                out.write(block)
            out.write((row * rest).encode())
            out.write(b"</sheetData></worksheet>")
    return path


def write_numbered_rows_xlsx(path: Path, count: int) -> Path:
    """``count`` rows of distinct-looking numbers, as an export would write them: the ZIP
    compresses them about 6 to 1 (a block of 10,000 rows is repeated, beyond deflate's window)."""
    import random

    rng = random.Random(9)
    block = "".join(
        f'<row><c t="inlineStr"><is><t>L{rng.randrange(10**6)}</t></is></c>'
        f"<c><v>{rng.randrange(10**9)}</v></c></row>"
        for _ in range(10_000)
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write((SHEET_HEAD + "<sheetData>").encode())
            out.write(b'<row><c t="inlineStr"><is><t>libelle</t></is></c>')
            out.write(b'<c t="inlineStr"><is><t>quantite</t></is></c></row>')
            for _ in range(count // 10_000):
                out.write(block)
            out.write(b"</sheetData></worksheet>")
    return path


def write_bomb_xlsx(path: Path, megabytes: int) -> Path:
    """One cell of ``megabytes`` MB of ``A``: a ZIP of about ``megabytes`` KB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write((SHEET_HEAD + '<sheetData><row><c t="inlineStr"><is><t>').encode())
            block = b"A" * (1 << 20)
            for _ in range(megabytes):
                out.write(block)
            out.write(b"</t></is></c></row></sheetData></worksheet>")
    return path
