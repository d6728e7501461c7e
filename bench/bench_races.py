"""Benchmark: racing decisions and corrections against gunicorn (4 workers) on PostgreSQL.

    .venv/bin/python bench/bench_races.py [--database postgresql+psycopg://postgres@127.0.0.1/wb]
        [--workers 4] [--rounds 3] [--port 5xxx]

(default database: ``$WORKBENCH_TEST_DATABASE_URL``; without PostgreSQL it prints « skipped »).

Builds a schema of its own in that database (``bench_races_<hex>``, dropped at the end),
migrates it, seeds a lycée, a canteen user and two legal users, starts gunicorn with
``--workers`` processes, then per round:

- 20 simultaneous ``POST /corrections/<id>/decider`` on one proposal by the two legal users
  (half approve, half reject): expected exactly one decision journaled;
- 10 simultaneous corrections of one field from the same ``base_version``: expected exactly one
  ``correction.applied``.

Prints HTTP status counts, the journal counts and the wall time of each burst.
"""

from __future__ import annotations

import argparse
import collections
import http.cookiejar
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from workbench import create_app  # noqa: E402
from workbench.audit.models import AuditEntry  # noqa: E402
from workbench.audit.operations import Actor, acting_as  # noqa: E402
from workbench.demo import factories  # noqa: E402
from workbench.extensions import db  # noqa: E402
from workbench.review import operations  # noqa: E402
from workbench.review.models import Correction  # noqa: E402

PASSWORD = "motdepasse-bench"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A cookie jar and the last CSRF token: one simultaneous user."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            _NoRedirect(),
        )
        self.token = ""

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def refresh_token(self, path: str) -> None:
        status, html = self.get(path)
        match = TOKEN.search(html)
        assert match, (path, status)
        self.token = match.group(1)

    def login(self, email: str) -> None:
        self.refresh_token("/connexion")
        status, _ = self.post("/connexion", {"email": email, "password": PASSWORD})
        assert status == 302, status
        self.refresh_token("/a-valider")

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def burst(calls: list) -> tuple[list, float]:  # type: ignore[type-arg]
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default=os.environ.get("WORKBENCH_TEST_DATABASE_URL"),
        help="PostgreSQL URL (a schema is created); default $WORKBENCH_TEST_DATABASE_URL",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=random.randint(5100, 5999))
    args = parser.parse_args()
    if not (args.database or "").startswith("postgresql"):
        print("skipped: give --database postgresql+psycopg://… (racing workers need PostgreSQL)")
        return

    schema = f"bench_races_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = args.database + ("&" if "?" in args.database else "?")
    url += f"options=-csearch_path%3D{schema}"
    server = None
    try:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
        with app.app_context(), acting_as(Actor(email="bench", role="admin")):
            upgrade()
            s = db.session
            site = factories.make_site(s)
            canteen = factories.make_user(s, "cantine@bench.example", "canteen", PASSWORD, [site])
            for i in (1, 2):
                factories.make_user(s, f"juriste{i}@bench.example", "legal", PASSWORD)
            for i in range(10):
                factories.make_nomenclature_item(s, code=f"BENCH-{i}")
            lines = [
                factories.make_purchase_line(s, site, label=f"YAOURT {r}", labels="BIO")
                for r in range(args.rounds)
            ]
            proposals = [
                operations.propose_correction(
                    s, canteen, "purchase_line", line.id, "labels", "", "facture"
                ).id
                for line in lines
            ]
            line_ids = [line.id for line in lines]
            s.commit()
            db.engine.dispose()

        env = {
            **os.environ,
            "WORKBENCH_DATABASE_URL": url,
            "WORKBENCH_SECRET_KEY": "bench-secret",
            "WORKBENCH_ENV": "development",
        }
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{args.port}",
                "--log-level",
                "warning",
                "workbench.service.serve:application_factory()",  # as `workbench serve`
            ],
            env=env,
            cwd=str(ROOT),
        )
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/connexion", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        legal = [Browser(base) for _ in range(20)]
        for i, browser in enumerate(legal):
            browser.login(f"juriste{i % 2 + 1}@bench.example")
        canteens = [Browser(base) for _ in range(10)]
        for browser in canteens:
            browser.login("cantine@bench.example")

        print(f"gunicorn {args.workers} workers, PostgreSQL schema {schema}")
        for r in range(args.rounds):
            decide = [
                (
                    lambda b=b, i=i, r=r: b.post(
                        f"/corrections/{proposals[r]}/decider",
                        {"decision": "approve" if i % 2 else "reject", "comment": f"d{i}"},
                    )[0]
                )
                for i, b in enumerate(legal)
            ]
            codes, seconds = burst(decide)
            base = "2" if _approved(app, proposals[r]) else "1"
            correct = [
                (
                    lambda b=b, i=i, r=r, base=base: b.post(
                        f"/dossiers/purchase_line/{line_ids[r]}/corriger",
                        {
                            "field": "nomenclature_code",
                            "value": f"BENCH-{i}",
                            "reason": "bench",
                            "base_version": base,
                        },
                    )[0]
                )
                for i, b in enumerate(canteens)
            ]
            correct_codes, correct_seconds = burst(correct)
            decisions, applied = _counts(app, proposals[r], line_ids[r])
            print(
                f"round {r + 1}: 20 decisions in {seconds:.2f} s, HTTP {dict(collections.Counter(codes))}"
                f", decisions journaled: {decisions}; 10 corrections in {correct_seconds:.2f} s, "
                f"HTTP {dict(collections.Counter(correct_codes))}, "
                f"nomenclature corrections applied: {applied}"
            )
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _approved(app, correction_id: int) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context():
        status = db.session.get(Correction, correction_id).status
        db.engine.dispose()
        return status == "applied"


def _counts(app, correction_id: int, line_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        entries = db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.target_kind == "purchase_line", AuditEntry.target_id == str(line_id)
            )
        ).all()
        decisions = sum(
            1
            for e in entries
            if e.action in ("correction.approved", "correction.rejected")
            and (e.after or {}).get("correction_id") == correction_id
        )
        applied = sum(
            1
            for e in entries
            if e.action == "correction.applied"
            and (e.after or {}).get("field") == "nomenclature_code"
        )
        db.engine.dispose()
        return decisions, applied


if __name__ == "__main__":
    main()
