"""Writing a chunk's anomalies while the next chunk of lines is read and checked.

A whole run of the purchase rules goes chunk by chunk (a few lycées, or a range of days of
one): read the lines, check them (pandas), write the anomalies (SQL). Done one after the other,
the database's work waited for Python's and Python's for the database's. With
:func:`written_behind`, one thread writes chunk *n* — on the session's connection, which only it
uses meanwhile — while the run reads chunk *n + 1* on a connection of its own and checks it. The
writes are mostly the database's work: on PostgreSQL a server process of its own (index
maintenance, the statement triggers), on SQLite its C code; both run without the GIL, so on
two cores they overlap the checks. One write at a time, in chunk order, and one chunk checked
ahead at most: memory holds two chunks of failures instead of one.

Only when a second connection reads the lines the session's transaction reads
(:func:`workbench.db.read_alike`: nothing written yet, no other writer can commit in between;
the run itself writes no purchase line). Otherwise (after an import's writes in the same
transaction, an in-memory database, the test suite's rolled-back transaction) the run goes on
chunk after chunk as before.

A read-ahead of the next chunk in a thread (reads beside the checks) was tried first and
dropped: reading builds Python objects, so that thread fought the checks for the GIL.

Where a second connection would not read alike — the re-check after an import, whose lines the
transaction has just written —, :func:`checked_beside` still overlaps the checks with the
writes: the run reads chunk *n + 1* on the session itself once the write of chunk *n - 1* is
done, then hands the write of chunk *n* to the thread and checks chunk *n + 1* meanwhile. The
reads no longer overlap anything, the checks do.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db import read_alike, sqlite_begin, threads_share


class Behind:
    """The writer thread and the reader connection of one run."""

    def __init__(self, engine: sa.Engine | None) -> None:
        """``engine``: the reader connection's (``None``: no reader, the run reads on the
        session between writes)."""
        self.reader: sa.Connection | None = None
        if engine is not None:
            self.reader = engine.connect()
            with sqlite_begin("DEFERRED"):  # a reader: never waits for the writer's lock
                self.reader.begin()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-writer")
        self._pending: Future[Any] | None = None

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        """Write once the previous write is done (its error raised here), in the caller's
        context (the acting user of the journal, the app)."""
        self.wait()
        self._pending = self._pool.submit(contextvars.copy_context().run, write, *args)

    def wait(self) -> None:
        """The pending write done; its error, if any, raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for a write still running (never leave it beside a rollback), then let go."""
        if self._pending is not None:
            wait_for([self._pending])
            self._pending = None
        self._pool.shutdown(wait=True)
        if self.reader is not None:
            self.reader.close()  # rolls its read transaction back


@contextlib.contextmanager
def written_behind(session: Session) -> Iterator[Behind | None]:
    """A :class:`Behind` with a reader connection for the block, or ``None`` when a second
    connection would not read what the session reads. The block must not use the session
    between a :meth:`Behind.submit` and the end of the block (or a :meth:`Behind.wait`): the
    writer thread has it. The last write is waited for on the way out."""
    connection = session.connection()
    with _behind(connection.engine if read_alike(connection) else None, reader=True) as behind:
        yield behind


@contextlib.contextmanager
def checked_beside(session: Session) -> Iterator[Behind | None]:
    """A :class:`Behind` without a reader connection: the block reads on the session itself,
    only after a :meth:`Behind.wait` (the writer thread has the session from a
    :meth:`Behind.submit` to the next wait). ``None`` where the session's connection cannot be
    used from another thread (an in-memory SQLite database). The last write is waited for on
    the way out."""
    connection = session.connection()
    with _behind(connection.engine if threads_share(connection) else None, reader=False) as behind:
        yield behind


@contextlib.contextmanager
def _behind(engine: sa.Engine | None, *, reader: bool) -> Iterator[Behind | None]:
    """``None`` without ``engine``; else a :class:`Behind` (with a reader connection of
    ``engine`` if ``reader``), its last write waited for and its thread let go on the way out."""
    if engine is None:
        yield None
        return
    behind = Behind(engine if reader else None)
    try:
        yield behind
        behind.wait()
    finally:
        behind.close()
