"""Configuration: defaults, then ``instance/config.py``, then ``WORKBENCH_*`` environment.

Every setting is listed in :data:`SETTINGS` with its documentation; ``README.md`` carries the
same table and a test checks that they agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECRET_KEY",
        None,
        "Clé secrète des sessions et jetons CSRF; obligatoire hors développement et tests.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "URL SQLAlchemy de la base (PostgreSQL : `postgresql+psycopg://…`). Par défaut, SQLite `instance/workbench.sqlite3`. `DATABASE_URL` sans préfixe est aussi lu.",
    ),
    Setting(
        "ENV",
        "development",
        "`development`, `testing` ou `production`; en production SECRET_KEY et DATABASE_URL sont exigés.",
    ),
    Setting("MAX_UPLOAD_MB", 200, "Taille maximale d'un fichier téléversé, en Mo.", int),
    Setting(
        "IMPORT_CHUNK_ROWS", 100_000, "Nombre de lignes lues par bloc lors d'un import CSV.", int
    ),
    Setting("PAGE_SIZE", 50, "Nombre de lignes par page dans les files d'anomalies.", int),
    Setting(
        "LOGIN_MAX_ATTEMPTS",
        5,
        "Échecs de connexion tolérés avant blocage temporaire du compte.",
        int,
    ),
    Setting(
        "LOGIN_LOCK_MINUTES",
        15,
        "Durée du blocage après trop d'échecs de connexion, en minutes.",
        int,
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        False,
        "Cookies de session envoyés uniquement en HTTPS (à activer derrière HTTPS).",
        bool,
    ),
    Setting(
        "DEMO_PASSWORD",
        "demo-workbench",
        "Mot de passe des comptes de démonstration créés par `workbench demo`.",
    ),
    Setting(
        "REGION_CODE",
        "53",
        "Code INSEE de la région (Bretagne = 53) pour l'indicateur « fournisseurs de la région ».",
    ),
    Setting(
        "FIRST_WINNER_YEARS",
        3,
        "Nombre d'années sans marché pour qu'un titulaire compte comme primo-accédant.",
        int,
    ),
    Setting(
        "PUBLIC_OBSERVATORY",
        False,
        "Publier l'observatoire sans connexion (`/observatoire` : indicateurs publiés par année et données ouvertes).",
        bool,
    ),
)

PREFIX = "WORKBENCH_"


def _coerce(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "oui", "on"}
    if setting.kind is int:
        return int(raw)
    return raw


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the configuration mapping for the app: defaults < instance file < environment < overrides."""
    config: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    instance_file = Path(instance_path) / "config.py"
    if instance_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(instance_file.read_text(), str(instance_file), "exec"), namespace)  # noqa: S102
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    for setting in SETTINGS:
        raw = os.environ.get(PREFIX + setting.name)
        if raw is not None:
            config[setting.name] = _coerce(setting, raw)
    if config.get("DATABASE_URL") is None and os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    config.update(overrides or {})

    env = config["ENV"]
    if env == "production":
        missing = [n for n in ("SECRET_KEY", "DATABASE_URL") if not config.get(n)]
        if missing:
            raise RuntimeError(
                "Configuration incomplète pour la production : "
                + ", ".join(PREFIX + m for m in missing)
            )
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = "dev-only-insecure-key"  # development and tests only
    url = config.get("DATABASE_URL") or "sqlite:///" + str(
        Path(instance_path) / "workbench.sqlite3"
    )
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"]) * 1024 * 1024
    config["TESTING"] = env == "testing" or bool(config.get("TESTING"))
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["WTF_CSRF_TIME_LIMIT"] = None
    config["SQLALCHEMY_ENGINE_OPTIONS"] = (
        {"pool_pre_ping": True} if url.startswith("postgresql") else {}
    )
    return config
