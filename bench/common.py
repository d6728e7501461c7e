"""What the benchmarks share: building the regional demo, peak RSS, printing a table."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKBENCH = str(Path(sys.executable).with_name("workbench"))


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def run_measured(args: Sequence[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command in a child process: (seconds, peak RSS MB of that child, stdout)."""
    started = time.perf_counter()
    completed = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    rss_kb = int(completed.stderr.strip().splitlines()[-1])
    return seconds, rss_kb / 1024, completed.stdout


def build_regional(url: str, lines: int) -> float:
    """A database at ``url`` migrated and loaded with the regional demo (rules run)."""
    env = {"WORKBENCH_DATABASE_URL": url}
    started = time.perf_counter()
    run_measured([WORKBENCH, "db", "upgrade"], env)
    run_measured([WORKBENCH, "demo", "--size", "regional", "--lines", str(lines)], env)
    return time.perf_counter() - started


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def login(client: Any, email: str, password: str) -> None:
    """Log a Flask test client in (the login form, its CSRF token)."""
    html = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    response = client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": token.group(1) if token else ""},
    )
    if response.status_code != 302:
        raise SystemExit(f"login failed for {email}: {response.status_code}")
