"""Collecting a drop folder: claim each file, import it, file it with its report.

Layout::

    DIR/<kind>/FILE                 dropped by a source system (write elsewhere, then rename)
    DIR/<kind>/.processing/FILE     claimed by one collector (atomic rename: only one wins)
    DIR/<kind>/done/FILE            imported, or already imported (same content)
    DIR/<kind>/rejected/FILE        refused by the checks
    .../FILE.report.json            beside it: status, message, counts, every problem

Claiming is an ``os.rename`` inside one directory, atomic on POSIX file systems: when two
collectors run at once (two cron jobs overlapping, two machines on a shared volume), each file
is imported by exactly one of them. Each file is imported in its own transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The sub-folders of a drop folder, one per import kind.
COLLECT_KINDS = (
    "directions",
    "sites",
    "nomenclature",
    "suppliers",
    "matrix",
    "contracts",
    "purchases",
)
PROCESSING, DONE, REJECTED = ".processing", "done", "rejected"
#: Names a collector never takes: hidden files, files still being written, reports.
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".report.json", ".lock")
#: A claimed file older than this is taken back (its collector died).
STALE_SECONDS = 3600


@dataclass
class Outcome:
    """What importing one file gave: ``applied``, ``duplicate``, ``dry_run`` or ``rejected``."""

    status: str
    message: str
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class CollectResult:
    files: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, status)

    @property
    def count(self) -> int:
        return len(self.files)


Importer = Callable[[str, Path, str], Outcome]


def prepare(directory: str | Path) -> Path:
    """Create ``DIR/<kind>/`` and its sub-folders (idempotent)."""
    root = Path(directory)
    for kind in COLLECT_KINDS:
        for sub in ("", PROCESSING, DONE, REJECTED):
            (root / kind / sub).mkdir(parents=True, exist_ok=True)
    return root


def pending(root: Path, kind: str) -> Iterator[Path]:
    """The files waiting in ``DIR/<kind>/``, oldest first."""
    folder = root / kind
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    files = [
        e
        for e in entries
        if e.is_file(follow_symlinks=False)
        and not e.name.startswith(".")
        and not e.name.endswith(IGNORED_SUFFIXES)
    ]
    dated = []
    for entry in files:
        try:  # another collector may claim it between the listing and this look
            dated.append((entry.stat().st_mtime, entry.name, entry.path))
        except FileNotFoundError:
            continue
    for _, _, path in sorted(dated):
        yield Path(path)


def claim(path: Path) -> Path | None:
    """Move ``path`` into ``.processing/`` atomically; None when another collector took it."""
    target = path.parent / PROCESSING / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def recover_stale(root: Path, kind: str, older_than: float = STALE_SECONDS) -> int:
    """Put back the claimed files whose collector died (claimed more than an hour ago)."""
    folder = root / kind / PROCESSING
    now = time.time()
    count = 0
    for entry in list(os.scandir(folder)) if folder.exists() else []:
        if entry.is_file() and now - entry.stat().st_mtime > older_than:
            try:
                os.rename(entry.path, root / kind / entry.name)
                count += 1
            except FileNotFoundError:
                continue
    return count


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    if not target.exists():
        return target
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return folder / f"{stamp}-{name}"


def file_away(claimed: Path, outcome: Outcome) -> Path:
    """Move a claimed file to ``done/`` or ``rejected/`` and write its report beside it."""
    kind_folder = claimed.parent.parent
    folder = kind_folder / (REJECTED if outcome.status == "rejected" else DONE)
    target = _free_name(folder, claimed.name)
    report = {
        "file": claimed.name,
        "status": outcome.status,
        "message": outcome.message,
        "collected_at": dt.datetime.now(dt.UTC).isoformat(),
        **outcome.report,
    }
    report_path = target.with_name(target.name + ".report.json")
    partial = report_path.with_name(report_path.name + ".tmp")
    partial.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), "utf-8")
    os.replace(partial, report_path)
    os.rename(claimed, target)
    return target


def collect(directory: str | Path, importer: Importer) -> CollectResult:
    """One pass over the drop folder: every waiting file is claimed, imported and filed.

    ``importer(kind, path, original_name)`` imports one file and commits (or rolls back) on
    its own. An unexpected error leaves the file in ``rejected/`` with the error as report.
    """
    root = prepare(directory)
    result = CollectResult()
    for kind in COLLECT_KINDS:
        recover_stale(root, kind)
        for path in pending(root, kind):
            claimed = claim(path)
            if claimed is None:
                continue
            try:
                outcome = importer(kind, claimed, path.name)
            except Exception as error:  # noqa: BLE001 - filed as rejected, never lost
                logger.exception("Collecting %s/%s failed", kind, path.name)
                outcome = Outcome("rejected", f"Erreur inattendue : {error}")
            file_away(claimed, outcome)
            logger.info("Collected %s/%s: %s", kind, path.name, outcome.status)
            result.files.append((kind, path.name, outcome.status))
    return result
