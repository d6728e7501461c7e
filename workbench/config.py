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
    Setting(
        "IMPORT_XLSX_MAX_ROWS",
        1_048_576,
        "Lignes au plus d'une feuille XLSX (limite d'Excel), comptées avant toute lecture.",
        int,
    ),
    Setting(
        "IMPORT_XLSX_MAX_UNCOMPRESSED_MB",
        1_000,
        "Taille décompressée maximale d'un classeur XLSX, en Mo (vérifiée avant lecture).",
        int,
    ),
    Setting(
        "IMPORT_XLSX_MAX_RATIO",
        200,
        "Taux de compression maximal d'une partie d'un classeur XLSX (bombes de décompression).",
        int,
    ),
    Setting(
        "IMPORT_JSON_MAX_DEPTH",
        64,
        "Niveaux d'imbrication au plus d'un fichier JSON importé (DECP : moins de 10).",
        int,
    ),
    Setting(
        "PAGE_SIZE",
        50,
        "Nombre de lignes par page de chaque liste paginée (files, à valider, journal…).",
        int,
    ),
    Setting(
        "LOGIN_MAX_ATTEMPTS",
        5,
        "Échecs de connexion tolérés pour une même adresse depuis un même poste (adresse IP) avant blocage temporaire de ce couple; le compte reste ouvert depuis les autres postes.",
        int,
    ),
    Setting(
        "LOGIN_MAX_ATTEMPTS_PER_IP",
        30,
        "Échecs de connexion tolérés depuis un même poste (adresse IP), toutes adresses confondues, avant blocage temporaire de ce poste.",
        int,
    ),
    Setting(
        "LOGIN_LOCK_MINUTES",
        15,
        "Fenêtre glissante de comptage des échecs de connexion et durée du blocage, en minutes.",
        int,
    ),
    Setting(
        "CSRF_TIME_LIMIT_HOURS",
        8,
        "Durée de validité d'un formulaire (jeton CSRF), en heures; au-delà, rechargez la page.",
        int,
    ),
    Setting(
        "AUDIT_HMAC_KEY",
        None,
        "Clé de signature des points de contrôle du journal (`workbench audit checkpoint`). Par défaut, lue dans `instance/audit-hmac.key`, créée au premier usage. À garder hors de la base.",
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

SETTINGS += (
    Setting("BIND", "127.0.0.1:8000", "Adresse d'écoute de `workbench serve` (gunicorn)."),
    Setting("WORKERS", 2, "Nombre de processus gunicorn de `workbench serve`.", int),
    Setting(
        "TIMEOUT",
        300,
        "Délai (secondes) après lequel gunicorn relance un processus bloqué sur une requête.",
        int,
    ),
    Setting(
        "LOG_FORMAT",
        "text",
        "`text` (lisible) ou `json` (un objet JSON par ligne, pour un collecteur de journaux).",
    ),
    Setting("LOG_LEVEL", "INFO", "Niveau des journaux techniques : DEBUG, INFO, WARNING…"),
    Setting(
        "JOBS_REDIS_URL",
        None,
        "URL Redis de la file des travaux (`redis://hôte:6379/0`); par défaut, un fichier SQLite "
        "`instance/jobs.sqlite3`.",
    ),
    Setting(
        "JOBS_IMMEDIATE",
        False,
        "Exécuter les travaux sur place, sans processus de travail (toujours vrai en tests).",
        bool,
    ),
    Setting("JOBS_WORKERS", 2, "Fils de travail de `workbench worker`.", int),
    Setting(
        "SMTP_HOST",
        None,
        "Serveur SMTP du récapitulatif par courriel (`workbench digest send`); vide : désactivé.",
    ),
    Setting("SMTP_PORT", 25, "Port du serveur SMTP.", int),
    Setting("SMTP_FROM", "workbench@localhost", "Expéditeur des récapitulatifs."),
    Setting("SMTP_USER", None, "Identifiant SMTP (vide : pas d'authentification)."),
    Setting("SMTP_PASSWORD", None, "Mot de passe SMTP."),
    Setting("SMTP_STARTTLS", False, "Chiffrer la connexion SMTP par STARTTLS.", bool),
    Setting(
        "JOBS_IMPORT_MIN_MB",
        5,
        "Taille (Mo) à partir de laquelle un fichier téléversé est importé en arrière-plan.",
        int,
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
    config["WTF_CSRF_TIME_LIMIT"] = int(config["CSRF_TIME_LIMIT_HOURS"]) * 3600
    config["SQLALCHEMY_ENGINE_OPTIONS"] = (
        {"pool_pre_ping": True} if url.startswith("postgresql") else {}
    )
    return config
