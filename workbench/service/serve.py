"""``workbench serve``: the application under gunicorn, configured from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def gunicorn_options(
    config: Mapping[str, Any], *, bind: str | None = None, workers: int | None = None
) -> dict[str, Any]:
    """gunicorn's settings from the application's (``BIND``, ``WORKERS``, ``TIMEOUT``, logs)."""
    json_logs = str(config.get("LOG_FORMAT", "text")).lower() == "json"
    options: dict[str, Any] = {
        "bind": bind or config["BIND"],
        "workers": int(workers or config["WORKERS"]),
        "timeout": int(config["TIMEOUT"]),
        "accesslog": "-",
        "errorlog": "-",
        "forwarded_allow_ips": config.get("FORWARDED_ALLOW_IPS") or "127.0.0.1",
        # each worker builds its own app (and its own database pool) after the fork
        "preload_app": False,
    }
    if json_logs:
        options["logconfig_dict"] = _json_logconfig()
    return options


def _json_logconfig() -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "workbench.service.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": "INFO", "handlers": ["console"]},
    }


def application_factory():  # type: ignore[no-untyped-def]
    from workbench import create_app
    from workbench.service.heap import settle

    return settle(create_app())  # each worker's own heap (no preload)


def run_gunicorn(options: dict[str, Any]) -> None:  # pragma: no cover - runs the server
    from gunicorn.app.base import BaseApplication

    class WorkbenchApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key.lower(), value)

        def load(self):  # type: ignore[no-untyped-def]
            return application_factory()

    WorkbenchApplication().run()
