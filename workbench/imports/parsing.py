"""Reading import files into DataFrames of text, and vectorised value conversions.

Pure computation (pandas / pyarrow / openpyxl): no Flask, no database. Every problem found is
added to a :class:`Report` with the row number the user sees in a spreadsheet (header = row 1,
first data row = 2), the column, the value and a French message.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the caps on hostile input live in limits.py (workbooks.py reads XLSX); imported from here too
from workbench.imports.limits import InputLimits as InputLimits
from workbench.imports.limits import current_limits as current_limits
from workbench.imports.limits import input_limits as input_limits

logger = logging.getLogger(__name__)

#: Name of the column carrying the spreadsheet row number of each record.
ROW = "__row__"
#: At most this many problems are kept in a report (the counts stay exact).
MAX_PROBLEMS = 10_000
_READ_BLOCK = 1 << 20
#: Bytes parsed at a time by the CSV reader. pyarrow keeps several blocks in flight, so this
#: bounds the reader's memory (~40 MB for 1 MB blocks, ~140 MB for 8 MB ones) at no speed cost.
CSV_BLOCK = 1 << 20
#: Columns read at most from a sheet (Excel's own limit, XFD).
XLSX_MAX_COLUMNS = 16_384
#: Shown for a NUL character in a cell or a file (PostgreSQL cannot store it).
NUL_MESSAGE = "Caractère nul (octet 0x00) interdit : la cellule est illisible."


def clean_text(value: Any) -> str:
    """Text safe to store anywhere (a report, a file name): NUL characters shown as ``\\0``."""
    return str(value).replace("\x00", "\\0")


# -- the report ---------------------------------------------------------------------------------
@dataclass
class Report:
    """All the problems of one file, found in one pass."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)
    error_count: int = 0
    warning_count: int = 0
    #: Records skipped while reading (wrong number of columns); they count as rows of the file.
    skipped_rows: int = 0
    #: The whole file is unusable (unreadable, required columns missing...).
    fatal: bool = False

    def _add(self, level: str, row: int | None, column: str | None, value: Any, message: str):
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                {
                    "row": None if row is None else int(row),
                    "column": None if column is None else clean_text(column),
                    "value": None if value is None else clean_text(str(value)[:200]),
                    "message": clean_text(message),
                    "level": level,
                }
            )

    def error(self, row: int | None, column: str | None, value: Any, message: str) -> None:
        self.error_count += 1
        if row is not None:
            self.error_rows.add(int(row))
        self._add("error", row, column, value, message)

    def warning(self, row: int | None, column: str | None, value: Any, message: str) -> None:
        self.warning_count += 1
        self._add("warning", row, column, value, message)

    def file_error(self, message: str) -> None:
        self.fatal = True
        self.error(None, None, None, message)

    def errors_where(
        self,
        frame: pd.DataFrame,
        mask: pd.Series,
        column: str,
        message: str | Callable[[Any], str],
        values: pd.Series | None = None,
    ) -> None:
        """One error per row where ``mask`` holds. ``message`` may use ``{value}``."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        rows = frame.loc[mask, ROW].to_numpy()
        vals = (values if values is not None else pd.Series([None] * len(frame), frame.index))[
            mask
        ].to_numpy()
        for row, value in zip(rows, vals, strict=True):
            shown = (
                "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
            )
            text = message(shown) if callable(message) else message.format(value=shown)
            self.error(int(row), column, shown, text)

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    def sorted_problems(self) -> list[dict[str, Any]]:
        return sorted(
            self.problems,
            key=lambda p: (p["row"] is not None, p["row"] or 0, p["level"] != "error"),
        )


# -- bytes, hashes, encodings -------------------------------------------------------------------
def sha256_and_encoding(path: str | Path) -> tuple[str, int, str]:
    """SHA-256, size and text encoding in one pass.

    ``utf-16`` / ``utf-32`` when the file starts with their byte order mark (little or big
    endian), else ``utf-8-sig`` (UTF-8 mark), ``utf-8`` (valid UTF-8) or ``cp1252``.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    size = 0
    first = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_BLOCK):
            if not first:
                first = chunk[:4]
            size += len(chunk)
            digest.update(chunk)
            if is_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if first.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif first.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8" if is_utf8 else "cp1252"
    return digest.hexdigest(), size, encoding


# -- headers ----------------------------------------------------------------------------------
def normalise_header(name: Any) -> str:
    """``" Catégories EGalim "`` → ``"categories_egalim"`` (case, accents, spaces, ``_``/``-``)."""
    text = unicodedata.normalize("NFKD", str(name or "").replace("\ufeff", ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).strip().lower()
    return re.sub(r"[\s_\-.]+", "_", text).strip("_")


def normalise_token(value: Any) -> str:
    """Codes typed by people: ``"Label rouge "`` → ``"LABEL_ROUGE"``."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).strip().upper()
    return re.sub(r"[\s\-'’]+", "_", text).strip("_")


# -- reading files ------------------------------------------------------------------------------
@dataclass
class Table:
    """A file being read: its normalised headers and an iterator of text chunks."""

    headers: list[str]
    original_headers: list[str]
    chunks: Iterator[pd.DataFrame]
    file_format: str


class UnreadableFile(Exception):
    """The whole file cannot be read as a table; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sniff_delimiter(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        name = name or "colonne"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        result.append(name)
    return result


def read_table(
    path: str | Path,
    encoding: str,
    report: Report,
    chunk_rows: int = 200_000,
    file_name: str | None = None,
    limits: InputLimits | None = None,
) -> Table:
    """Open a CSV or XLSX file; the chunks are DataFrames of stripped text plus :data:`ROW`.

    Every failure of the underlying readers (pyarrow, openpyxl, zipfile, codecs) becomes an
    :class:`UnreadableFile` with a French message; a workbook is checked against ``limits``
    (default: :func:`current_limits`) before any of its XML is parsed.
    """
    limits = limits or current_limits()
    name = (file_name or str(path)).lower()
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if name.endswith((".xlsx", ".xlsm")) or magic == b"PK\x03\x04":
        from workbench.imports.workbooks import read_xlsx  # it needs this module's Table

        return read_xlsx(path, report, chunk_rows, limits)
    return _read_csv(path, encoding, report, chunk_rows)


def _encoding_message(error: UnicodeError) -> str:
    where = f" (octet n° {error.start + 1})" if isinstance(error, UnicodeDecodeError) else ""
    return (
        "Le fichier n'est pas un texte lisible dans un encodage reconnu (UTF-8, UTF-16 avec "
        f"marque d'ordre des octets, Windows-1252){where} : enregistrez-le en CSV UTF-8."
    )


_ARROW_COLUMNS = re.compile(r"Expected (\d+) columns, got (\d+)")


def french_csv_error(error: BaseException) -> str:
    """A French message for a CSV reading failure of pyarrow or Python (never their English)."""
    if isinstance(error, UnicodeError):
        return _encoding_message(error)
    text = str(error)
    logger.info("CSV reader error: %s", text[:500])
    if "straddl" in text or "block" in text.lower():
        return (
            "Le fichier CSV est illisible : une valeur est trop longue (plus de "
            f"{CSV_BLOCK // (1 << 20)} Mo dans une cellule) ou un guillemet n'est jamais refermé."
        )
    if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
        return _encoding_message(UnicodeError())
    columns = _ARROW_COLUMNS.search(text)
    if columns:
        return (
            f"Le fichier CSV est mal formé : une ligne compte {columns.group(2)} colonne(s) au "
            f"lieu de {columns.group(1)}."
        )
    return (
        "Le fichier CSV est illisible : sa structure (séparateurs, guillemets, fins de ligne) "
        "n'a pas pu être lue."
    )


def _read_csv(path: str | Path, encoding: str, report: Report, chunk_rows: int) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with open(path, encoding=encoding, errors="replace", newline="") as handle:
            sample = handle.read(64 * 1024)
    except (UnicodeError, LookupError) as error:
        raise UnreadableFile(_encoding_message(UnicodeError(str(error)))) from None
    if "\x00" in sample:
        raise UnreadableFile(
            "Le fichier n'est pas un fichier CSV ou XLSX lisible (contenu binaire : il contient "
            "des caractères nuls)."
        )
    first_line = sample.splitlines()[0] if sample.strip() else ""
    if not first_line.strip():
        raise UnreadableFile("Le fichier est vide ou sa première ligne (les en-têtes) est vide.")
    delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter))
    except csv.Error:
        raise UnreadableFile(
            "La première ligne du fichier (les en-têtes) est illisible : vérifiez les guillemets."
        ) from None
    original = [h.replace("\ufeff", "").strip() for h in header]
    names = _dedupe([normalise_header(h) for h in original])
    skipped: list[int] = []

    def on_invalid(row: Any) -> str:
        number = int(row.number) if row.number is not None else None
        report.skipped_rows += 1
        if number is not None:
            skipped.append(number)
        report.error(
            number,
            None,
            (row.text or "")[:200],
            f"La ligne compte {row.actual_columns} colonne(s) au lieu de {row.expected_columns}.",
        )
        return "skip"

    pa_encoding = "utf8" if encoding.startswith("utf-8") else encoding
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1,
                encoding=pa_encoding,
                use_threads=False,
                block_size=CSV_BLOCK,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # pandas' own layout
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, UnicodeError, ValueError) as error:
        raise UnreadableFile(french_csv_error(error)) from None

    def chunks() -> Iterator[pd.DataFrame]:
        # Small Arrow batches are stripped as they come, then cut into chunks of ``chunk_rows``
        # without copying (a chunk's columns are chunked Arrow arrays).
        next_row = 2
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowException, OSError, UnicodeError, ValueError) as error:
                raise UnreadableFile(french_csv_error(error)) from None
            numbers, next_row = _row_numbers(batch.num_rows, next_row, skipped)
            pending.append(_stripped(batch, numbers, report, original))
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield _arrow_frame(table.slice(0, chunk_rows))
                rest = table.slice(chunk_rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
                del table, rest
        if pending_rows:
            yield _arrow_frame(pa.Table.from_batches(pending))
        pa.default_memory_pool().release_unused()

    return Table(names, original, chunks(), "csv")


def _string_mapper(dtype: Any) -> Any:
    import pyarrow as pa

    if dtype in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow")
    return None


def _row_numbers(count: int, start: int, skipped: list[int]) -> tuple[np.ndarray, int]:
    """Spreadsheet row numbers of ``count`` parsed records from ``start``, minus skipped ones."""
    skip = {s for s in skipped if s >= start}
    if not skip:
        return np.arange(start, start + count, dtype=np.int64), start + count
    numbers = []
    current = start
    while len(numbers) < count:
        if current not in skip:
            numbers.append(current)
        current += 1
    return np.asarray(numbers, dtype=np.int64), current


def _stripped(
    batch: Any, numbers: np.ndarray, report: Report | None = None, original: list[str] | None = None
) -> Any:
    """The batch's cells without surrounding spaces, plus the :data:`ROW` numbers.

    A cell holding a NUL character is a row error (:data:`NUL_MESSAGE`) and the character is
    removed, so that nothing downstream (PostgreSQL text, a report) ever sees one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for position, column in enumerate(batch.columns):
        column = pc.utf8_trim_whitespace(column)
        nul = pc.match_substring(column, "\x00")
        if pc.any(nul).as_py():
            if report is not None:
                name = (original or batch.schema.names)[position] or batch.schema.names[position]
                for index in np.flatnonzero(nul.to_numpy(zero_copy_only=False)):
                    report.error(int(numbers[index]), name, column[int(index)].as_py(), NUL_MESSAGE)
            column = pc.replace_substring(column, "\x00", "")
        columns.append(column)
    return pa.RecordBatch.from_arrays(
        [*columns, pa.array(numbers, pa.int64())], names=[*batch.schema.names, ROW]
    )


def _arrow_frame(table: Any) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_string_mapper)


def _cell_text(value: Any) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)


# -- JSON: depth checked before the parser recurses ----------------------------------------------
class JsonUnreadable(ValueError):
    """A JSON file refused or unreadable; ``str(error)`` is French."""


#: Every byte but the structural ones: ``"`` and the brackets.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def _unescaped(data: bytes) -> bytes:
    """UTF-8 JSON without its escaped backslashes and quotes (``\\\\`` and ``\\"``): what is
    left of a backslash then starts an ordinary escape. Multi-byte UTF-8 sequences never hold
    ASCII bytes, so this works on the bytes, at C speed."""
    return data.replace(b"\\\\", b"").replace(b'\\"', b"")


def json_depth(document: str | bytes) -> int:
    """Deepest nesting of arrays and objects of a JSON text, brackets inside strings left out.

    Bytes are filtered at C speed (``bytes.translate``) down to quotes and brackets; a bracket
    is outside the strings when an even number of quotes precede it, and the depth is a running
    sum (numpy): a small fraction of the time ``json.loads`` takes on the same text.
    """
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    codes = np.frombuffer(_unescaped(data).translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    quotes = codes == ord('"')
    outside = (np.cumsum(quotes) % 2 == 0) & ~quotes  # an even number of quotes before
    brackets = codes[outside]
    if not len(brackets):
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def read_json(path: str | Path, max_depth: int | None = None) -> Any:
    """The document of a JSON file, refused with a French :class:`JsonUnreadable` when it is
    nested deeper than ``max_depth`` (default: :func:`current_limits`), holds a NUL character,
    is not text in UTF-8 / UTF-16 / Windows-1252, or is not valid JSON."""
    depth_cap = max_depth if max_depth is not None else current_limits().json_max_depth
    with open(path, "rb") as handle:
        data = handle.read()
    text = None
    for encoding in _json_encodings(data):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise JsonUnreadable(_encoding_message(UnicodeError()))
    if encoding != "utf-8-sig":  # the checks below read UTF-8 bytes
        data = text.encode("utf-8", "surrogatepass")
    if b"\x00" in data or b"\\u0000" in _unescaped(data):
        raise JsonUnreadable("le fichier contient un caractère nul (\\u0000), interdit.")
    depth = json_depth(data)
    del data
    if depth > depth_cap:
        raise JsonUnreadable(
            f"le document est imbriqué sur {depth} niveaux, plus que les {depth_cap} autorisés."
        )
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonUnreadable(
            f"le document est imbriqué plus profondément que les {depth_cap} niveaux autorisés."
        ) from None
    except json.JSONDecodeError as error:
        raise JsonUnreadable(
            f"JSON mal formé ligne {error.lineno}, colonne {error.colno} ("
            + next(
                (french for english, french in _JSON_REASONS if error.msg.startswith(english)),
                "syntaxe invalide",
            )
            + ")."
        ) from None


def _json_encodings(data: bytes) -> tuple[str, ...]:
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return ("utf-32",)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    return ("utf-8-sig", "cp1252")


_JSON_REASONS = (
    ("Expecting value", "valeur attendue"),
    ("Expecting property name", "nom de propriété entre guillemets attendu"),
    ("Expecting ':'", "« : » attendu"),
    ("Expecting ','", "« , » attendu"),
    ("Unterminated string", "texte jamais refermé"),
    ("Invalid control character", "caractère de contrôle dans un texte"),
    ("Invalid \\escape", "séquence d'échappement invalide"),
    ("Invalid \\u", "séquence d'échappement invalide"),
    ("Extra data", "données après la fin du document"),
)


# -- conversions --------------------------------------------------------------------------------
def by_unique(series: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised ``convert`` on the distinct values only (dates, codes...)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    converted = convert(pd.Series(uniques, dtype=object)).to_numpy()
    result = np.empty(len(series), dtype=object)
    result[:] = None
    valid = codes >= 0
    result[valid] = converted[codes[valid]]
    return pd.Series(result, index=series.index)


def empty_mask(series: pd.Series) -> pd.Series:
    """Missing or empty cells."""
    if isinstance(series.dtype, pd.StringDtype):
        return (series == "").fillna(True).astype(bool)
    return series.isna() | (series.astype(object) == "")


def parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``aaaa-mm-jj`` or ``jj/mm/aaaa`` → datetime64; returns (values, bad mask)."""

    def convert(values: pd.Series) -> pd.Series:
        text = values.astype(str).str.strip()
        text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00)?)?$", r"\1", regex=True)
        text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[+-]\d{2}:\d{2}$", r"\1", regex=True)
        iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        french = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
        return iso.fillna(french)

    empty = empty_mask(series)
    codes, uniques = pd.factorize(series.where(~empty), use_na_sentinel=True)
    converted = pd.to_datetime(convert(pd.Series(uniques, dtype=object)), errors="coerce")
    # one more slot for the empty cells (code -1): NaT
    table = np.append(converted.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    values = pd.Series(table[codes], index=series.index)
    return values, values.isna() & ~empty


def parse_decimals(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``1 234,56`` / ``1234.56`` → float; returns (values, bad mask)."""

    def convert(values: pd.Series) -> pd.Series:
        text = values.astype(str).str.replace(r"[\s\u00a0\u202f']", "", regex=True)
        both = text.str.contains(",", regex=False) & text.str.contains(".", regex=False)
        text = text.where(~both, text.str.replace(".", "", regex=False))
        numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
        return numbers.where(np.isfinite(numbers.fillna(np.inf)), np.nan).fillna(-np.inf)

    empty = empty_mask(series)
    converted = by_unique(series.where(~empty), convert)
    values = pd.Series(pd.to_numeric(converted, errors="coerce"), index=series.index, dtype=float)
    bad = (values == -np.inf) & ~empty
    return values.where(~bad & ~empty), bad


TRUE_VALUES = {"1", "OUI", "O", "X", "TRUE", "VRAI", "YES", "Y"}
FALSE_VALUES = {"", "0", "NON", "N", "FALSE", "FAUX", "NO"}


def parse_booleans(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """oui/non, x, 1/0, true/false → bool (empty → None); returns (values, bad mask)."""

    def convert(values: pd.Series) -> pd.Series:
        upper = values.astype(str).str.strip().str.upper()
        return upper.map(
            lambda v: True if v in TRUE_VALUES else (False if v in FALSE_VALUES else "?")
        )

    converted = by_unique(series.where(~empty_mask(series)), convert)
    bad = converted.map(lambda v: v == "?")
    return converted.where(~bad, None), bad


def text_or_none(series: pd.Series) -> pd.Series:
    """Stripped text with empty cells as missing."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.where(~empty_mask(series))
    return series.astype(object).where(~empty_mask(series), None)
