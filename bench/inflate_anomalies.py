"""Multiply the anomalies of a regional database (a SQLite copy, or a PostgreSQL database
loaded for the bench), to measure the pages at the issue's two million anomalies (the regional
demo at 1M lines has about 380,000).

    .venv/bin/python bench/inflate_anomalies.py sqlite:////tmp/reg/big.sqlite3 --copies 4
    BENCH_DATABASE_URL=sqlite:////tmp/reg/big.sqlite3 .venv/bin/python bench/bench_pages.py

Each copy repeats every anomaly on the same record with its field suffixed ``~k`` (the natural
key stays unique) and seen ``k`` days earlier: the same scopes, rules, groups and values, ``k``
times as many anomalies. The maintained counts, days and groups are then rebuilt and the
tables analysed, as after a bulk load. Run it on a copy: the data is no longer the demo's.
On PostgreSQL the statement triggers keep the counts as the rows go in; they are rebuilt all
the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COPIED = (
    "rule_code, record_kind, record_id, field, severity, status, owner_role, site_id, "
    "direction_code, supplier_id, group_key, value, message, details, first_seen_at, "
    "last_seen_at, closed_at, claimed_by_id, closed_by_id, dismiss_reason, dismiss_comment, "
    "version, updated_at, fingerprint"
)


def inflate(url: str, copies: int, total: int | None = None) -> int:
    """Add ``copies`` copies of the anomalies of ``url``; with ``total``, the last copy only
    as far as that many anomalies in all (the first ones by id)."""
    from workbench import create_app
    from workbench.extensions import db
    from workbench.imports.writer import analyze
    from workbench.rules.counts import PAUSED, rebuild_counts

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        connection = db.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        original = connection.exec_driver_sql("SELECT max(id) FROM anomalies").scalar() or 0
        connection.exec_driver_sql(f"INSERT INTO {PAUSED} (id) VALUES (1)")  # rebuilt below
        present = connection.exec_driver_sql("SELECT count(*) FROM anomalies").scalar() or 0
        for k in range(1, copies + 1):
            earlier = (
                f"datetime(first_seen_at, '-{k} days')"
                if sqlite
                else f"first_seen_at - interval '{k} days'"
            )
            selected = COPIED.replace("field,", f"substr(field, 1, 57) || '~{k}',", 1).replace(
                "first_seen_at,", f"{earlier},", 1
            )
            limit = "" if total is None else f" ORDER BY id LIMIT {max(0, total - present)}"
            inserted = connection.exec_driver_sql(
                f"INSERT INTO anomalies ({COPIED}) SELECT {selected} FROM anomalies "
                f"WHERE id <= {int(original)}{limit}"
            ).rowcount
            present += inserted
        connection.exec_driver_sql(f"DELETE FROM {PAUSED}")
        rebuild_counts(db.session)
        analyze(
            db.session,
            "anomalies",
            "anomaly_counts",
            "anomaly_days",
            "anomaly_group_counts",
            "anomaly_texts",
        )
        total = connection.exec_driver_sql("SELECT count(*) FROM anomalies").scalar()
        db.session.commit()
    return int(total or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    total = inflate(args.url, args.copies)
    print(f"{total:,} anomalies in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
