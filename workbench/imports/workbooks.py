"""Workbooks (XLSX): checked for size, compression ratio and rows before any parsing, then
read row by row by our own loop over the sheet XML (issue #9, hostile input).

Pure computation (zipfile / openpyxl / ElementTree): no Flask, no database.
"""

from __future__ import annotations

import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.imports.limits import InputLimits, current_limits
from workbench.imports.parsing import (
    NUL_MESSAGE,
    ROW,
    XLSX_MAX_COLUMNS,
    Report,
    Table,
    UnreadableFile,
    _cell_text,
    _dedupe,
    normalise_header,
)

logger = logging.getLogger(__name__)

_MB = 1 << 20
#: A row element, with an optional namespace prefix: ``<row ...>``, ``<row/>``, ``<x:row>``.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,31}:)?row[\s/>]")
_SCAN_BLOCK = 1 << 20
_COORDINATE = re.compile(r"^\$?([A-Za-z]{1,3})\$?[0-9]+$")


def _xlsx_refusal(detail: str) -> UnreadableFile:
    return UnreadableFile(f"Le classeur XLSX {detail}")


def check_xlsx(path: str | Path, limits: InputLimits | None = None) -> None:
    """Refuse a workbook that would cost too much to parse, before parsing any of it.

    Checks, in order and without decompressing anything but the row count: the ZIP directory
    (readable, at most 100,000 entries); the declared uncompressed sizes (their sum against
    ``xlsx_max_uncompressed_mb`` — Python's zipfile never inflates an entry beyond its declared
    size, so a lying header fails its CRC instead); each entry's compression ratio; then the
    rows of every entry large enough to hold more than ``xlsx_max_rows`` rows, counted by a
    streaming scan of its ``<row`` tags that stops at the cap (the ``<dimension>`` tag is not
    trusted). Raises :class:`UnreadableFile` with a French message.
    """
    limits = limits or current_limits()
    try:
        archive = zipfile.ZipFile(str(path))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise UnreadableFile(
            "Le classeur XLSX est illisible : ce n'est pas une archive ZIP valide (fichier "
            "tronqué ou d'un autre type ?)."
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > 100_000:
            raise _xlsx_refusal(f"compte {_number(len(entries))} fichiers (100 000 au plus).")
        cap = limits.xlsx_max_uncompressed_mb * _MB
        total = sum(max(e.file_size, 0) for e in entries)
        if total > cap:
            raise _xlsx_refusal(
                f"occuperait {_number(total / _MB)} Mo une fois décompressé, plus que le "
                f"maximum autorisé de {_number(limits.xlsx_max_uncompressed_mb)} Mo (réglage "
                "IMPORT_XLSX_MAX_UNCOMPRESSED_MB). Enregistrez les données en CSV ou "
                "découpez le fichier."
            )
        for entry in entries:
            if entry.file_size > _MB and entry.file_size > limits.xlsx_max_ratio * max(
                entry.compress_size, 1
            ):
                raise _xlsx_refusal(
                    "a un taux de compression anormal "
                    f"({_number(entry.file_size // max(entry.compress_size, 1))} pour 1, "
                    f"{_number(limits.xlsx_max_ratio)} au plus, réglage IMPORT_XLSX_MAX_RATIO) : "
                    "il ressemble à une « bombe de décompression »."
                )
        # ``<row/>`` is 6 bytes: a smaller entry cannot hold more rows than the cap.
        for entry in entries:
            if entry.file_size >= 6 * limits.xlsx_max_rows:
                rows = _count_rows(archive, entry, limits.xlsx_max_rows)
                if rows > limits.xlsx_max_rows:
                    raise _xlsx_refusal(
                        f"a une feuille de plus de {_number(limits.xlsx_max_rows)} lignes "
                        "(maximum autorisé, réglage IMPORT_XLSX_MAX_ROWS). Enregistrez les "
                        "données en CSV ou découpez le fichier."
                    )


def _number(value: float) -> str:
    """``1048576`` → ``1 048 576`` (French thousands)."""
    return f"{value:,.0f}".replace(",", "\u202f")


def _row_tags(data: bytes, end: int) -> int:
    """``<row`` tags in ``data[:end]``: plain ones counted by ``bytes.count``, prefixed ones
    (``<x:row``) by a regular expression only when there may be some."""
    plain = data.count(b"<row", 0, end) - data.count(b"<rowBreaks", 0, end)
    plain -= data.count(b"<rows", 0, end)
    if data.find(b":row", 0, end) < 0:
        return plain
    return len(_ROW_TAG.findall(data, 0, end))


def _count_rows(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, cap: int) -> int:
    """``<row`` tags of one entry, streamed; stops as soon as the count passes ``cap``."""
    count = 0
    carry = b""
    try:
        with archive.open(entry) as source:
            while block := source.read(_SCAN_BLOCK):
                data = carry + block
                # keep an unfinished tag (it starts at the last "<") for the next block
                cut = data.rfind(b"<", max(len(data) - 64, 0))
                if cut < 0:
                    cut = len(data)
                count += _row_tags(data, cut)
                carry = data[cut:]
                if count > cap:
                    return count
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise UnreadableFile(
            "Le classeur XLSX est illisible : une partie de l'archive est corrompue ou chiffrée."
        ) from None
    return count + _row_tags(carry, len(carry))


def french_xlsx_error(error: BaseException) -> str:
    """A French message for a failure of openpyxl, zipfile or the XML parser."""
    logger.info("XLSX reader error: %s: %s", type(error).__name__, str(error)[:500])
    if isinstance(error, zipfile.BadZipFile | EOFError):
        return "Le classeur XLSX est illisible : l'archive est corrompue (fichier tronqué ?)."
    if isinstance(error, KeyError):
        return (
            "Le classeur XLSX est illisible : une partie attendue manque dans l'archive (ce "
            "n'est pas un classeur Excel complet)."
        )
    if type(error).__name__ in ("ParseError", "ExpatError", "DefusedXmlException"):
        return "Le classeur XLSX est illisible : son contenu XML est mal formé."
    if type(error).__name__ == "InvalidFileException":
        return "Le fichier n'est pas un classeur XLSX (format non pris en charge)."
    return "Le classeur XLSX est illisible (structure du classeur non reconnue)."


@lru_cache(maxsize=XLSX_MAX_COLUMNS)
def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


class _Unreadable:
    """A cell whose stored value contradicts its type (bad shared string, boolean, date)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _SheetReader:
    """Rows of one worksheet, read with ``iterparse`` and nothing else.

    openpyxl's own row reader fills the gaps between row numbers with empty rows, builds every
    cell of a row however far its column, and raises ``ValueError`` on a numeric cell holding
    text (a formula's cached text result): a hostile sheet turns each into minutes or a crash.
    Here each ``<row>`` element yields one row of at most ``width`` cells, a numeric cell whose
    value is not a number keeps its text (the column's conversion then reports it as a row
    error), and any other unreadable cell becomes :class:`_Unreadable`.
    """

    def __init__(self, archive: zipfile.ZipFile, path: str, strings: list, workbook: Any) -> None:
        self.archive = archive
        self.path = path
        self.strings = strings
        self.epoch = workbook.epoch
        self.date_formats = workbook._date_formats
        self.timedelta_formats = workbook._timedelta_formats

    def close(self) -> None:
        self.archive.close()

    def rows(self, width: Callable[[], int]) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {column: value}); ``width()`` is read again at each row.

        Cells are handled as the parser closes them and dropped at once, so that a row of
        millions of cells costs no more memory than one cell; cells past ``width`` are not
        even looked at.
        """
        from openpyxl.xml.functions import iterparse

        number = 0
        sheet_data = row = None
        cells: dict[int, Any] = {}
        column = limit = 0
        with self.archive.open(self.path) as source:
            for event, element in iterparse(source, events=("start", "end")):
                tag = element.tag.rpartition("}")[2]
                if event == "start":
                    if tag == "row":
                        row, cells, column, limit = element, {}, 0, width()
                    elif tag == "sheetData":
                        sheet_data = element
                    continue
                if tag == "c" and row is not None:
                    match = _COORDINATE.match(element.get("r") or "")
                    column = _column_index(match.group(1)) if match else column + 1
                    if 1 <= column <= limit:
                        value = self._value(element)
                        if value is not None:
                            cells[column] = value
                    if len(row) >= 1024:  # drop the read cells now, not at the row's end;
                        del row[:]  # cells still queued by iterparse keep their own reference
                elif tag == "row" and row is not None:
                    number = self._row_number(element.get("r"), number)
                    yield number, cells
                    element.clear()
                    row = None
                    if sheet_data is not None:
                        sheet_data.clear()  # drop the parsed rows: memory stays flat

    @staticmethod
    def _row_number(raw: str | None, previous: int) -> int:
        if raw is None:
            return previous + 1
        try:
            return int(float(raw))
        except (ValueError, OverflowError):
            return previous + 1

    def _value(self, cell: Any) -> Any:
        kind = cell.get("t", "n")
        raw = None
        for child in cell:
            name = child.tag.rpartition("}")[2]
            if name == "v":
                raw = child.text
            elif name == "is" and kind == "inlineStr":
                raw = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t"))
        if raw is None:
            return None
        try:
            if kind == "n":
                return self._number(raw, cell.get("s"))
            if kind == "s":
                index = int(raw)
                if index < 0:
                    raise IndexError(index)
                value = self.strings[index]
                return str(value)
            if kind == "b":
                return bool(int(raw))
            if kind == "d":
                from openpyxl.utils.datetime import from_ISO8601

                return from_ISO8601(raw)
            return raw  # str, inlineStr, e (#DIV/0! ...)
        except (ValueError, TypeError, IndexError, OverflowError, KeyError):
            return _Unreadable(raw)

    def _number(self, raw: str, style: str | None) -> Any:
        try:
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw  # e.g. a formula's cached text in a number cell: the column decides
        try:
            style_id = int(style) if style else 0
        except ValueError:
            style_id = 0
        if style_id and style_id in self.date_formats:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(value, self.epoch, timedelta=style_id in self.timedelta_formats)
            except (ValueError, OverflowError, TypeError):
                return raw
        return value


def open_first_sheet(path: str | Path) -> _SheetReader:
    """The first worksheet of a workbook, ready to be read row by row.

    openpyxl reads the workbook's parts (manifest, shared strings, workbook, styles) but not its
    sheets: ``load_workbook`` would scan every sheet for its dimensions, the whole sheet when the
    ``<dimension>`` tag is missing. Any failure becomes a French :class:`UnreadableFile`.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    try:
        excel = ExcelReader(str(path), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises whatever its parts raise on a broken file
        raise UnreadableFile(french_xlsx_error(error)) from None
    try:
        with warnings.catch_warnings():  # "no default style", "extension not supported"...
            warnings.simplefilter("ignore")
            excel.read_manifest()
            excel.read_strings()
            excel.read_workbook()
            apply_stylesheet(excel.archive, excel.wb)
            for _sheet, rel in excel.parser.find_sheets():
                if rel.target in excel.valid_files and "chartsheet" not in (rel.Type or ""):
                    return _SheetReader(excel.archive, rel.target, excel.shared_strings, excel.wb)
    except Exception as error:
        excel.archive.close()
        raise UnreadableFile(french_xlsx_error(error)) from None
    excel.archive.close()
    raise UnreadableFile("Le classeur ne contient aucune feuille de calcul.")


def read_xlsx(
    path: str | Path, report: Report, chunk_rows: int, limits: InputLimits | None = None
) -> Table:
    """The first sheet of a workbook as a :class:`Table`, after :func:`check_xlsx`."""
    limits = limits or current_limits()
    check_xlsx(path, limits)  # sizes, ratio and rows, before any parsing
    reader = open_first_sheet(path)  # closed once the rows are read, or on any failure

    state = {"width": XLSX_MAX_COLUMNS}
    rows = reader.rows(lambda: state["width"])

    def advance() -> tuple[int, dict[int, Any]] | None:
        try:
            return next(rows)
        except StopIteration:
            return None
        except UnreadableFile:
            raise
        except Exception as error:
            reader.close()
            raise UnreadableFile(french_xlsx_error(error)) from None

    first = advance()
    if first is None:
        reader.close()
        raise UnreadableFile("La première feuille du classeur est vide.")
    header_cells = first[1]
    width = max(header_cells, default=0)
    while width and _cell_text(_plain(header_cells.get(width))).strip() == "":
        width -= 1
    state["width"] = width
    original = [_cell_text(_plain(header_cells.get(i))).strip() for i in range(1, width + 1)]
    names = _dedupe([normalise_header(h) for h in original])

    def chunks() -> Iterator[pd.DataFrame]:
        buffer: list[list[str]] = []
        numbers: list[int] = []
        try:
            while (item := advance()) is not None:
                number, values = item
                if not values:
                    continue
                cells = [""] * width
                for column, value in values.items():
                    if isinstance(value, _Unreadable):
                        report.error(
                            number,
                            original[column - 1] or names[column - 1],
                            value.text,
                            "Cellule illisible : sa valeur ne correspond pas à son type "
                            "(texte partagé, booléen ou date invalide).",
                        )
                        continue
                    text = _cell_text(value).strip()
                    if "\x00" in text:
                        report.error(number, original[column - 1], text, NUL_MESSAGE)
                        text = text.replace("\x00", "")
                    cells[column - 1] = text
                if not any(cells):
                    continue
                buffer.append(cells)
                numbers.append(number)
                if len(buffer) >= chunk_rows:
                    yield _frame(buffer, numbers)
                    buffer, numbers = [], []
            if buffer:
                yield _frame(buffer, numbers)
        finally:
            reader.close()

    def _frame(buffer: list[list[str]], numbers: list[int]) -> pd.DataFrame:
        frame = pd.DataFrame(buffer, columns=names, dtype="string[pyarrow]")
        frame[ROW] = np.asarray(numbers, dtype=np.int64)
        return frame

    return Table(names, original, chunks(), "xlsx")


def _plain(value: Any) -> Any:
    return value.text if isinstance(value, _Unreadable) else value
