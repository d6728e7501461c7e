"""A login never fails because of its bookkeeping write.

Checking a password reads only (:func:`~workbench.auth.operations.check_login`); what a login
attempt writes — failure counter, lock, last login, its journal entry — is written by
:func:`write_login` in a short transaction of its own, which waits at most
:data:`WAIT_SECONDS` for the database (SQLite's single writer lock, or PostgreSQL's row and
journal-chain locks), twice. When a long write (an import, a rule run) holds the lock longer,
the answer does not wait for it: the login succeeds or fails on its credentials, and the
bookkeeping is queued in the process and written as soon as the lock is free by a background
thread (journal entry marked ``written_late`` with the time of the attempt). Pending entries are
retried for :data:`GIVE_UP_AFTER` seconds; the process tries to write them when it exits. A
process killed meanwhile loses them (logged as an error when given up).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app

from workbench.audit.operations import acting_as, current_actor
from workbench.auth import operations
from workbench.auth.models import User
from workbench.auth.operations import LoginAttempt
from workbench.db import is_lock_error, lock_wait, sqlite_begin
from workbench.extensions import db

logger = logging.getLogger(__name__)

#: How long one bookkeeping transaction waits for a lock (seconds), and how many times it tries.
WAIT_SECONDS = 1.5
TRIES = 2
#: How long queued bookkeeping is retried before it is given up (seconds).
GIVE_UP_AFTER = 600.0


@dataclass
class _Pending:
    app: Flask
    attempt: LoginAttempt
    queued_at: float


_queue: queue.Queue[_Pending] = queue.Queue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def _write(attempt: LoginAttempt, *, wait: float, late: bool) -> User | None:
    """One short write transaction (IMMEDIATE on SQLite), committed; raises on lock errors."""
    try:
        with sqlite_begin("IMMEDIATE"), lock_wait(db.session, wait):
            user = operations.record_login(db.session, attempt, late=late)
            db.session.commit()
        return user
    except BaseException:
        db.session.rollback()
        raise


def write_login(attempt: LoginAttempt) -> bool:
    """Write the attempt's bookkeeping now, or queue it. Returns whether the login succeeds.

    Written now: the answer of :func:`~workbench.auth.operations.record_login` (it re-checks
    the lock under the row lock). Queued: the answer of the credentials check.
    """
    for _ in range(TRIES):
        try:
            return _write(attempt, wait=WAIT_SECONDS, late=False) is not None
        except sa.exc.OperationalError as error:
            if not is_lock_error(error):
                raise
    if attempt.actor is None:
        attempt.actor = current_actor()
    logger.warning(
        "Login bookkeeping of %s deferred: the database is busy (%s)",
        attempt.email,
        attempt.outcome,
    )
    _queue.put(
        _Pending(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            attempt,
            time.monotonic(),
        )
    )
    _ensure_worker()
    return attempt.ok


def pending_count() -> int:
    return _queue.unfinished_tasks


def drain(timeout: float = 30.0) -> bool:
    """Wait until the queued bookkeeping is written (tests, process exit). True if all done."""
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _queue.unfinished_tasks


def _ensure_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="login-bookkeeping", daemon=True)
            _worker.start()


def _run() -> None:
    while True:
        item = _queue.get()
        try:
            _write_late(item)
        finally:
            _queue.task_done()


def _write_late(item: _Pending) -> None:
    delay = 0.2
    while True:
        try:
            with item.app.app_context(), acting_as(item.attempt.actor or current_actor()):
                try:
                    _write(item.attempt, wait=5.0, late=True)
                finally:
                    db.session.remove()
            return
        except sa.exc.OperationalError as error:
            if not is_lock_error(error):
                logger.exception("Login bookkeeping of %s lost", item.attempt.email)
                return
        except Exception:
            logger.exception("Login bookkeeping of %s lost", item.attempt.email)
            return
        if time.monotonic() - item.queued_at > GIVE_UP_AFTER:
            logger.error(
                "Login bookkeeping of %s given up after %.0f s: the database stayed locked",
                item.attempt.email,
                GIVE_UP_AFTER,
            )
            return
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


atexit.register(drain, 5.0)
