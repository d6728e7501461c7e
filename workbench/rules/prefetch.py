"""Reading the next chunk of a table while the rules check and write the current one.

A whole run of the purchase rules reads the lines chunk by chunk (a few lycées, or a range of
days of one) and, for each, checks them (pandas) and writes the anomalies (SQL). Its session
holds one connection, so each step waited for the one before: about a quarter of a first run
at 1M lines was reading. With :func:`prefetched`, a thread reads chunk *n + 1* on a connection
of its own while the session checks and writes chunk *n*: the database's work (a SQLite step,
a PostgreSQL ``COPY`` parsed by pyarrow) and the writes' SQL run without the GIL, so on two
cores the reads mostly disappear behind the writes. One chunk ahead at most: memory stays
bounded (two chunks of lines instead of one).

Only when a second connection reads what the session's transaction reads
(:func:`workbench.db.read_alike`): the transaction has written nothing yet and no other writer
can commit in between. Otherwise (after an import's writes in the same transaction, an
in-memory database, the test suite's rolled-back transaction) the chunks are read by the
session, one after the other, as before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db import read_alike, sqlite_begin
from workbench.rules.frames import read_table

logger = logging.getLogger(__name__)

#: A chunk to read: the rows of a table matching a condition.
Load = Callable[[], pd.DataFrame]


@contextlib.contextmanager
def prefetched(
    session: Session, table: str, wheres: Sequence[sa.ColumnElement[bool]]
) -> Iterator[Iterator[Load]]:
    """The chunks of ``table`` matching each of ``wheres``, in order, as loads to call one
    after the other (each returns its frame, waiting for it if it is still being read). The
    block must call each load it takes before the next; leaving it early (an error) stops the
    reader."""
    if len(wheres) < 2 or not read_alike(session.connection()):
        yield (lambda w=where: read_table(session, table, w) for where in wheres)
        return
    reader = _Reader(session.connection().engine, table)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-prefetch")
    pending: list[Future[pd.DataFrame]] = []
    try:
        yield _loads(pool, reader, wheres, pending)
    finally:
        for future in pending:
            future.cancel()
        pool.submit(reader.close)
        pool.shutdown(wait=True)


def _loads(
    pool: ThreadPoolExecutor,
    reader: _Reader,
    wheres: Sequence[sa.ColumnElement[bool]],
    pending: list[Future[pd.DataFrame]],
) -> Iterator[Load]:
    pending.append(pool.submit(reader.read, wheres[0]))
    for i in range(len(wheres)):
        current = pending.pop(0)
        if i + 1 < len(wheres):  # queued behind the current one: read while it is used
            pending.append(pool.submit(reader.read, wheres[i + 1]))
        yield current.result


class _Reader:
    """A connection of its own, opened, used and closed in the reader's thread only."""

    def __init__(self, engine: sa.Engine, table: str) -> None:
        self.engine = engine
        self.table = table
        self.connection: sa.Connection | None = None

    def read(self, where: sa.ColumnElement[bool]) -> pd.DataFrame:
        if self.connection is None:
            self.connection = self.engine.connect()
            with sqlite_begin("DEFERRED"):  # a reader: never waits for the writer's lock
                self.connection.begin()
        return read_table(self.connection, self.table, where)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()  # rolls its read transaction back
            self.connection = None
