"""The request edge: the one place a web request ends its transaction.

A view that changes state hands its operation to :func:`commit_or_flash` — which commits it, or
rolls it back and flashes its French refusal — or, when a refusal is an error page and not a
message, to :func:`commit`. A view that only read and must end its transaction before answering
(a long poll, the login's credentials check) calls :func:`end_read`. No view module calls
``db.session.commit()`` or ``rollback()`` itself (``tests/foundation/test_request_edge.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from flask import abort, flash

from workbench.core.errors import PermissionDenied, WorkbenchError
from workbench.db import is_lock_error
from workbench.extensions import db


class _Failed:
    """What :func:`commit_or_flash` returns when the operation was refused (and rolled back)."""

    _instance: _Failed | None = None

    def __new__(cls) -> _Failed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "FAILED"


#: The operation was refused: nothing was written and its French message was flashed.
FAILED: Final = _Failed()

#: Flashed when a lock wait was given up inside the operation (deadlock, busy row).
BUSY_MESSAGE = (
    "L'enregistrement est en cours de modification par quelqu'un d'autre ; rien n'a été "
    "modifié. Rechargez la page et réessayez."
)


def commit_or_flash(action: Callable[[], Any], *, refusal_as_message: bool = False) -> Any:
    """Run one operation at the request edge: commit it, or roll back and flash its refusal.

    Returns the operation's result, or :data:`FAILED` when it was refused:

    - a domain refusal (:class:`~workbench.core.errors.WorkbenchError`: validation, conflict,
      unknown item) is flashed in French;
    - a :class:`~workbench.core.errors.PermissionDenied` is a 403 page, unless
      ``refusal_as_message`` (the refusal is then explained: four eyes, the queue's own refusals);
    - a lock wait given up inside the operation (deadlock, PostgreSQL lock timeout, SQLite busy)
      flashes « rien n'a été modifié … réessayez ».

    Any other exception rolls back and propagates (the error handlers answer the French 500/503).
    """
    try:
        result = action()
    except PermissionDenied as error:
        db.session.rollback()
        if not refusal_as_message:
            abort(403)
        flash(error.message, "danger")
        return FAILED
    except WorkbenchError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return FAILED
    except sa.exc.OperationalError as error:
        db.session.rollback()
        if not is_lock_error(error):
            raise
        flash(BUSY_MESSAGE, "danger")
        return FAILED
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def commit(action: Callable[[], Any]) -> Any:
    """Run one operation whose refusals are error pages (an upload, a journalled download):
    commit it and return its result, or roll back and let the exception reach the handlers."""
    try:
        result = action()
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def end_read() -> None:
    """End the request's read-only transaction now (nothing was written): a poll or a page that
    goes on without holding a snapshot (SQLite) or a connection in a transaction. It commits —
    the same as a rollback in the database — so the objects already read stay loaded."""
    db.session.commit()
