"""The served process's heap: the application's long-lived objects out of the collector's way.

Every request builds SQL statements, and SQLAlchemy's statements are cycles of objects (about
7,000 objects per grouped queue page, mostly columns and clauses): only Python's cyclic
collector frees them, in a full collection every ten requests or so. A full collection walks
every object the process holds — the application, its modules, SQLAlchemy's metadata, pandas,
the matcher, 200,000 objects or more —, 110 to 310 ms measured at the regional scale: the
requests it falls into were the pages' « spikes at p95 » (a queue page answered in 60 ms
then, now and again, in 350).

:func:`settle` collects once and freezes what survives (:func:`gc.freeze`): those objects
leave the collector's generations for good, and a full collection walks only what requests
left behind (a few thousand objects, milliseconds). What is built lazily by the first requests
(the matcher, compiled templates, statement caches) is frozen in turn after the requests
counted in :data:`SETTLE_AFTER`, once the response is sent (``call_on_close``: the visitor does
not wait for it).

A frozen object that becomes garbage in a cycle is never freed; what is frozen is what the
process keeps (modules, caches), and at most the few freezes of :data:`SETTLE_AFTER` happen.
Only served processes settle (``workbench serve``, ``workbench run``; ``make bench`` measures the
pages so): a test process, which builds many applications, does not.
"""

from __future__ import annotations

import gc

from flask import Flask, Response

#: After these requests of a process, its heap is settled again (what the first requests built
#: lazily, frozen in turn).
SETTLE_AFTER = frozenset({1, 10, 100, 1000})

_EXTENSION = "workbench.heap"


def freeze() -> int:
    """Collect, then freeze every object left; returns the number of objects frozen so far."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def settle(app: Flask) -> Flask:
    """Freeze ``app``'s process heap now, and again after the requests of :data:`SETTLE_AFTER`
    (see the module's documentation). Once per application."""
    if _EXTENSION in app.extensions:
        return app
    state = app.extensions[_EXTENSION] = {"requests": 0, "freezes": 1}
    freeze()

    @app.after_request
    def _settle_after(response: Response) -> Response:
        state["requests"] += 1
        if state["requests"] in SETTLE_AFTER:

            def _refreeze() -> None:
                freeze()
                state["freezes"] += 1

            response.call_on_close(_refreeze)
        return response

    return app
