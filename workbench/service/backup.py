"""``workbench backup``: a consistent copy of the database while the application runs.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the pages under a read
lock, so writers only wait for the copy of each step. PostgreSQL: ``pg_dump`` in its custom
format (restore with ``pg_restore``). docs/deployment.md describes both restores.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


class BackupError(RuntimeError):
    """The backup could not be made; the message is French."""


@dataclass
class BackupResult:
    path: str
    size_bytes: int
    method: str


def backup_database(url: str, output: str | Path) -> BackupResult:
    parsed = sa.engine.make_url(url)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        return _backup_sqlite(parsed.database or "", target)
    if parsed.get_backend_name() == "postgresql":
        return _backup_postgres(parsed, target)
    raise BackupError(f"Sauvegarde non prise en charge pour la base {parsed.get_backend_name()}.")


def _backup_sqlite(database: str, target: Path) -> BackupResult:
    if not database or database == ":memory:" or not Path(database).exists():
        raise BackupError(f"Base SQLite introuvable : {database or '(mémoire)'}.")
    if target.resolve() == Path(database).resolve():
        raise BackupError("Le fichier de sauvegarde ne peut pas être la base elle-même.")
    partial = target.with_name(target.name + ".partiel")
    source = sqlite3.connect(database)
    try:
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination, pages=1024)
        finally:
            destination.close()
    finally:
        source.close()
    os.replace(partial, target)
    return BackupResult(str(target), target.stat().st_size, "sqlite backup API")


def postgres_dsn(url: sa.engine.URL) -> str:
    """libpq's URL (``postgresql://``) for pg_dump/pg_restore, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _backup_postgres(url: sa.engine.URL, target: Path) -> BackupResult:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump est introuvable : installez le client PostgreSQL.")
    partial = target.with_name(target.name + ".partiel")
    completed = subprocess.run(  # noqa: S603 - fixed program, arguments from the configuration
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", postgres_dsn(url)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError("pg_dump a échoué : " + completed.stderr.strip()[:500])
    os.replace(partial, target)
    return BackupResult(str(target), target.stat().st_size, "pg_dump (format custom)")
