"""Logs: plain text for people, JSON lines (one object per record) for a log collector."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from flask import Flask, g, has_request_context, request

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and path, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["method"] = request.method
            entry["path"] = request.path
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(app: Flask) -> None:
    """Root logging from ``LOG_FORMAT`` (``text`` or ``json``) and ``LOG_LEVEL``."""
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    if str(app.config.get("LOG_FORMAT", "text")).lower() == "json":
        root = logging.getLogger()
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        for existing in list(root.handlers):  # basicConfig's handler, or an earlier JSON one
            if type(existing) is logging.StreamHandler:
                root.removeHandler(existing)
        root.addHandler(handler)
        root.setLevel(level)
    else:
        logging.basicConfig(level=level, format=TEXT_FORMAT)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
