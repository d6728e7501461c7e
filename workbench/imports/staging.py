"""Checked rows kept on disk between the check and the write of a big file (two passes).

Pass 1 reads the file chunk by chunk, converts and checks each chunk (every problem goes to the
report) and appends the typed chunk to a temporary Arrow IPC file (:class:`StagedRows`); only
small per-row artefacts stay in memory (two 64-bit hashes per purchase line, for the key
occurrence numbers). Pass 2 runs only when the file is accepted (or with ``--partial``): it reads
the typed chunks back one at a time and writes them. Memory is bounded by the chunk size, not by
the file size, and no value is converted twice.

Pure computation (pandas / pyarrow): no Flask, no database.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def _string_mapper(dtype: Any) -> Any:
    if dtype in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow")
    return None


class StagedRows:
    """Typed chunks appended to a temporary Arrow IPC file, read back in the same order.

    ``types`` gives the Arrow type of the columns that are not text (text is the default), so
    that every chunk has the same schema even when a column is empty in the first one. The file
    is read with plain reads, not memory-mapped, so that only the chunk being written is
    resident. Use as a context manager (or call :meth:`close`) to delete the file.
    """

    def __init__(self, types: dict[str, pa.DataType], chunk_rows: int = 200_000) -> None:
        self._types = types
        self._chunk_rows = chunk_rows
        self._directory = tempfile.TemporaryDirectory(prefix="workbench-import-")
        self.path = Path(self._directory.name) / "rows.arrow"
        self._schema: pa.Schema | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self.row_count = 0

    def append(self, frame: pd.DataFrame) -> None:
        if self._schema is None:
            self._schema = pa.schema(
                [pa.field(name, self._types.get(name, pa.string())) for name in frame.columns]
            )
            self._writer = pa.ipc.new_file(str(self.path), self._schema)
        assert self._writer is not None
        table = pa.Table.from_pandas(
            frame[self._schema.names], schema=self._schema, preserve_index=False
        )
        self._writer.write_table(table)
        self.row_count += len(frame)

    def _finish_writing(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The appended rows, by chunks of about ``chunk_rows`` (text as ``string[pyarrow]``).

        The file holds many small record batches (one per Arrow chunk of the staged columns);
        they are grouped back into chunks so that each write handles many rows.
        """
        self._finish_writing()
        if self._schema is None:
            return
        with pa.OSFile(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            pending: list[pa.RecordBatch] = []
            size = 0
            for index in range(reader.num_record_batches):
                batch = reader.get_batch(index)
                pending.append(batch)
                size += batch.num_rows
                if size >= self._chunk_rows:
                    yield pa.Table.from_batches(pending).to_pandas(types_mapper=_string_mapper)
                    pending, size = [], 0
            if pending:
                yield pa.Table.from_batches(pending).to_pandas(types_mapper=_string_mapper)

    def close(self) -> None:
        self._finish_writing()
        self._directory.cleanup()

    def __enter__(self) -> StagedRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- purchase line keys, computed chunk by chunk ------------------------------------------------
#
# A key is ``sha1(uai|date|siret|reference or label|occurrence)`` (workbench.records.keys), where
# the occurrence numbers the lines of the *whole file* sharing the first four parts. Pass 1 keeps
# the text before the occurrence (the *base*) in the staged chunk and two 64-bit hashes of it in
# memory (16 bytes per line); the occurrences are then numbered over the whole file at once, and
# pass 2 hashes ``base|occurrence`` chunk by chunk.

_HASH_KEYS = ("workbench-line-1", "workbench-line-2")


def _key_part(series: pd.Series) -> pd.Series:
    return series.astype("string[pyarrow]").fillna("").str.strip().str.upper()


def _date_text(series: pd.Series) -> pd.Series:
    """``aaaa-mm-jj`` (empty when missing), formatted once per distinct date."""
    codes, uniques = pd.factorize(pd.to_datetime(series), use_na_sentinel=True)
    text = np.append(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").to_numpy(dtype=object), "")
    return pd.Series(text[codes], index=series.index, dtype="string[pyarrow]")


def key_bases(frame: pd.DataFrame) -> pd.Series:
    """``UAI|aaaa-mm-jj|SIRET|REFERENCE or LABEL`` per line (columns uai, line_date,
    supplier_siret, reference, label), as :func:`~workbench.records.keys.purchase_line_keys`."""
    reference = _key_part(frame["reference"])
    identity = reference.where(reference != "", _key_part(frame["label"]))
    return (
        _key_part(frame["uai"])
        + "|"
        + _date_text(frame["line_date"])
        + "|"
        + _key_part(frame["supplier_siret"])
        + "|"
        + identity
    )


def base_hashes(bases: pd.Series) -> np.ndarray:
    """Two independent 64-bit hashes per base, shape ``(n, 2)``: 16 bytes per line."""
    values = bases.to_numpy(dtype=object)
    return np.column_stack([pd.util.hash_array(values, hash_key=key) for key in _HASH_KEYS])


def occurrences(hashes: np.ndarray) -> np.ndarray:
    """1, 2, … for the lines sharing a base, in file order (``hashes`` of the whole file)."""
    if len(hashes) == 0:
        return np.empty(0, dtype=np.int32)
    pairs = pd.DataFrame({"a": hashes[:, 0], "b": hashes[:, 1]})
    return (pairs.groupby(["a", "b"], sort=False).cumcount() + 1).to_numpy(dtype=np.int32)


def line_keys(bases: pd.Series, numbers: np.ndarray) -> pd.Series:
    """SHA-1 (hex) of ``base|occurrence`` per line."""
    sha1 = hashlib.sha1
    keys = [
        sha1(f"{base}|{number}".encode()).hexdigest()
        for base, number in zip(bases.tolist(), numbers.tolist(), strict=True)
    ]
    return pd.Series(keys, index=bases.index, dtype="string[pyarrow]")


class KeyHashes:
    """The per-line base hashes of pass 1, appended chunk by chunk."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def add(self, bases: pd.Series) -> None:
        self._parts.append(base_hashes(bases))

    def occurrences(self) -> np.ndarray:
        hashes = np.concatenate(self._parts) if self._parts else np.empty((0, 2), np.uint64)
        self._parts = []
        return occurrences(hashes)
