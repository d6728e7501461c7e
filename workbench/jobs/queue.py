"""The Huey instance: SQLite storage under ``instance/`` by default, Redis when configured.

Tests (``ENV=testing``) and ``JOBS_IMMEDIATE`` run each job at once, in the caller's thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey
from huey.storage import MemoryStorage, SqliteStorage

logger = logging.getLogger(__name__)

huey = Huey("workbench", storage_class=MemoryStorage, immediate=False)
_app: Flask | None = None


def configure(app: Flask) -> None:
    """Point the queue at the configured storage (called by the application factory)."""
    global _app
    _app = app
    immediate = bool(app.config.get("JOBS_IMMEDIATE")) or app.config.get("ENV") == "testing"
    redis_url = app.config.get("JOBS_REDIS_URL")
    if immediate:
        storage: Any = MemoryStorage("workbench")
    elif redis_url:
        from huey.storage import RedisStorage

        storage = RedisStorage("workbench", url=redis_url)
    else:
        path = Path(app.instance_path) / "jobs.sqlite3"
        storage = SqliteStorage("workbench", filename=str(path))
    huey._immediate = immediate
    huey.storage = storage


def application() -> Flask:
    """The application the jobs run in (the one that configured the queue)."""
    if _app is None:
        from workbench import create_app

        configure(create_app())
    assert _app is not None
    return _app


def start_worker_threads(workers: int = 1) -> Any:
    """Start a consumer's worker and scheduler threads without taking over the signals.

    For ``workbench run`` (the development server): Ctrl-C still stops the server; the
    threads are daemons and stop with it.
    """
    consumer = huey.create_consumer(workers=workers, worker_type="thread")
    consumer.scheduler.start()
    for _, thread in consumer.worker_threads:
        thread.start()
    logger.info("Huey worker threads started (%s)", workers)
    return consumer
