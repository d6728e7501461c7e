"""Running the rules over whole tables and upserting anomalies in bulk (see the package docstring)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record_many
from workbench.core.errors import NotFound
from workbench.db import utcnow
from workbench.rules.common import clear_cache
from workbench.rules.frames import CHUNK, load_frames
from workbench.rules.models import ACTIVE_STATUSES, Anomaly, AnomalyStatus
from workbench.rules.operations.settings import effective_rules
from workbench.rules.registry import (
    FAILURE_COLUMNS,
    RuleView,
)

logger = logging.getLogger(__name__)

ANOMALIES = Anomaly.__table__
#: Above this many purchase lines, an incremental re-check loads the whole table instead.
MAX_INCREMENTAL_LINES = 50_000
#: Columns compared to decide whether an active anomaly needs an update.
COMPARED = ("severity", "value", "message", "group_key", "site_id", "direction_code", "supplier_id")


@dataclasses.dataclass
class RuleCount:
    failing: int = 0
    opened: int = 0
    reopened: int = 0
    closed: int = 0
    unchanged: int = 0
    updated: int = 0
    enabled: bool = True
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.reopened or self.closed)


@dataclasses.dataclass
class RunResult:
    counts: dict[str, RuleCount] = dataclasses.field(default_factory=dict)
    duration: float = 0.0
    load_seconds: float = 0.0
    check_seconds: float = 0.0
    write_seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_seconds": round(self.duration, 3),
            "load_seconds": round(self.load_seconds, 3),
            "check_seconds": round(self.check_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
            "rules": {code: dataclasses.asdict(c) for code, c in sorted(self.counts.items())},
            "totals": {
                name: self.total(name)
                for name in ("failing", "opened", "reopened", "closed", "unchanged", "updated")
            },
        }


# -- running ----------------------------------------------------------------------------------
def _tables_for(views: Iterable[RuleView]) -> list[str]:
    tables: dict[str, None] = {}
    for view in views:
        for table in view.rule.tables:
            tables[table] = None
        kind = view.rule.record_kind
        if kind == "purchase_line":
            tables["purchase_lines"] = None
        elif kind == "contract":
            tables["contracts"] = None
        elif kind == "supplier":
            tables.update(dict.fromkeys(("suppliers", "holders", "contracts")))
        elif kind == "matrix_entry":
            tables["matrix_entries"] = None
    return list(tables)


def _check(view: RuleView, frames: dict[str, pd.DataFrame], today: dt.date) -> pd.DataFrame:
    rule = view.rule
    found = rule().check(frames, {**view.params, "today": today})
    missing = [c for c in FAILURE_COLUMNS if c not in found.columns]
    if missing:
        raise RuntimeError(f"Rule {rule.code} returned no {missing}")
    found = found.copy()
    if "severity" not in found:
        found["severity"] = rule.severity
    else:
        found["severity"] = found["severity"].fillna(rule.severity)
    if "group_key" not in found:
        found["group_key"] = None
    found["rule_code"] = rule.code
    found["record_kind"] = rule.record_kind
    found["owner_role"] = rule.owner_role
    found["field"] = found["field"].fillna("").astype(str).str.slice(0, 60)
    found["record_id"] = found["record_id"].astype("int64")
    return found


def _supplier_directions(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Supplier id → direction: its own, else that of the first contract it holds, else None."""
    suppliers = frames["suppliers"]
    own = pd.Series(suppliers["direction_code"].values, index=suppliers["id"].values)
    holders = frames.get("holders")
    contracts = frames.get("contracts")
    if holders is None or contracts is None or holders.empty:
        return own
    from workbench.rules.common import compact_siret

    contract_direction = pd.Series(contracts["direction_code"].values, index=contracts["id"].values)
    held = pd.DataFrame(
        {
            "siret": compact_siret(holders["identifier"]),
            "direction": holders["contract_id"].map(contract_direction),
        }
    )
    held = held[held["direction"].notna() & (held["siret"] != "")].drop_duplicates("siret")
    by_siret = pd.Series(held["direction"].values, index=held["siret"].values)
    via_contract = pd.Series(
        compact_siret(suppliers["siret"]).map(by_siret).values, index=suppliers["id"].values
    )
    return own.where(own.notna(), via_contract)


def _add_scope(found: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    found["site_id"] = np.nan
    found["direction_code"] = None
    found["supplier_id"] = np.nan
    for kind, part in found.groupby("record_kind"):
        ids = part["record_id"]
        if kind == "purchase_line":
            lines = frames["purchase_lines"].set_index("id")
            found.loc[part.index, "site_id"] = ids.map(lines["site_id"]).astype("float64").values
            found.loc[part.index, "supplier_id"] = (
                ids.map(lines["supplier_id"]).astype("float64").values
            )
        elif kind == "contract":
            contracts = frames["contracts"].set_index("id")
            found.loc[part.index, "direction_code"] = ids.map(contracts["direction_code"]).values
        elif kind == "supplier":
            found.loc[part.index, "supplier_id"] = ids.astype("float64").values
            found.loc[part.index, "direction_code"] = ids.map(_supplier_directions(frames)).values
        elif kind == "matrix_entry":
            entries = frames["matrix_entries"].set_index("id")
            found.loc[part.index, "supplier_id"] = (
                ids.map(entries["supplier_id"]).astype("float64").values
            )
    return found


def _existing(
    session: Session, codes: Sequence[str], scope: dict[str, set[int] | None]
) -> pd.DataFrame:
    columns = [
        ANOMALIES.c.id,
        ANOMALIES.c.rule_code,
        ANOMALIES.c.record_kind,
        ANOMALIES.c.record_id,
        ANOMALIES.c.field,
        ANOMALIES.c.status,
        *(ANOMALIES.c[name] for name in COMPARED),
    ]
    names = [c.key for c in columns]
    stmt = sa.select(*columns).where(ANOMALIES.c.rule_code.in_(list(codes)))
    ids = (
        set().union(*(s for s in scope.values() if s is not None))
        if all(s is not None for s in scope.values())
        else None
    )
    rows: list[Any] = []
    if ids is not None and len(ids) <= 20 * CHUNK:
        id_list = sorted(ids)
        for start in range(0, len(id_list), CHUNK):
            rows.extend(
                session.connection()
                .execute(stmt.where(ANOMALIES.c.record_id.in_(id_list[start : start + CHUNK])))
                .all()
            )
    else:
        rows = session.connection().execute(stmt).all()
    frame = pd.DataFrame(rows, columns=names)
    if frame.empty:
        frame = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
        frame["record_id"] = frame["record_id"].astype("int64")
        frame["id"] = frame["id"].astype("int64")
    # keep only the records of the checked scope, per record kind
    keep = pd.Series(True, index=frame.index)
    for kind, ids_of_kind in scope.items():
        if ids_of_kind is not None:
            of_kind = frame["record_kind"] == kind
            keep &= ~of_kind | frame["record_id"].isin(ids_of_kind)
    return frame[keep]


def _none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (NaN → None, ids as int)."""
    out = frame[list(columns)].copy()
    for column in ("site_id", "supplier_id", "record_id", "anomaly_id"):
        if column in out:
            out[column] = out[column].astype("float64").astype("Int64")
    out = out.astype(object).where(out.notna(), None)
    names = list(out.columns)
    values = [out[c].tolist() for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


INSERTED = (
    "rule_code",
    "record_kind",
    "record_id",
    "field",
    "severity",
    "owner_role",
    "site_id",
    "direction_code",
    "supplier_id",
    "group_key",
    "value",
    "message",
    "details",
)


def _insert_new(session: Session, new: pd.DataFrame, now: dt.datetime) -> None:
    connection = session.connection()
    dialect = connection.dialect
    to_db_time = ANOMALIES.c.first_seen_at.type.bind_processor(dialect)
    to_db_json = ANOMALIES.c.details.type.bind_processor(dialect)
    now_db = to_db_time(now) if to_db_time else now
    frame = new.assign(
        value=new["value"].map(
            lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
        ),
        message=new["message"].fillna("").astype(str),
        details=new["details"].map(
            lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else v
        ),
    )
    rows = _records(frame, INSERTED)
    status = AnomalyStatus.OPEN.value
    names = (*INSERTED, "status", "first_seen_at", "last_seen_at", "version")
    tuples = [
        (
            *(row[name] for name in INSERTED[:-1]),
            to_db_json(row["details"])
            if (to_db_json and row["details"] is not None)
            else row["details"],
            status,
            now_db,
            now_db,
            1,
        )
        for row in rows
    ]
    # One driver-level executemany: no per-row statement processing (the values are converted).
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO anomalies ({', '.join(names)}) VALUES ({', '.join([marker] * len(names))})"
    connection.exec_driver_sql(sql, tuples)


def _in_chunks(session: Session, ids: Sequence[int], values: dict[str, Any]) -> None:
    id_list = [int(i) for i in ids]
    for start in range(0, len(id_list), CHUNK):
        session.connection().execute(
            sa.update(ANOMALIES)
            .where(ANOMALIES.c.id.in_(id_list[start : start + CHUNK]))
            .values(**values)
        )


def run_rules(
    session: Session,
    *,
    rule_codes: Sequence[str] | None = None,
    record_kind: str | None = None,
    record_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
) -> RunResult:
    """Run the enabled rules (all, or ``rule_codes``, or those of ``record_kind``) and bring the
    anomalies in step: open, refresh, reopen, close — in bulk, audited.

    With ``record_ids`` (needs ``record_kind``), only those records' anomalies are opened or
    closed; the context tables are still loaded whole (suppliers, matrices, the nomenclature,
    all contracts for the outlier rule). Purchase lines are loaded with every line of the same
    site and day, so duplicates are judged right; suppliers are always checked whole (the table
    is small and the duplicate rule pairs records).
    """
    started = time.perf_counter()
    if record_ids is not None and record_kind is None:
        raise ValueError("record_ids needs record_kind")
    today = today or dt.date.today()
    session.flush()
    views = effective_rules(session)
    if rule_codes is not None:
        unknown = set(rule_codes) - set(views)
        if unknown:
            raise NotFound("Règle(s) inconnue(s) : " + ", ".join(sorted(unknown)) + ".")
    selected = [
        v
        for code, v in views.items()
        if (rule_codes is None or code in rule_codes)
        and (record_kind is None or v.rule.record_kind == record_kind)
        and not v.rule.is_manual
    ]
    result = RunResult(counts={v.code: RuleCount(enabled=v.enabled) for v in selected})
    if not selected:
        return result
    enabled = [v for v in selected if v.enabled]
    kinds = {v.rule.record_kind for v in selected}

    line_ids = None
    if (
        record_kind == "purchase_line"
        and record_ids is not None
        and len(record_ids) <= MAX_INCREMENTAL_LINES
    ):
        line_ids = list(record_ids)
    frames = load_frames(session, _tables_for(enabled), purchase_line_ids=line_ids)
    result.load_seconds = time.perf_counter() - started

    scope: dict[str, set[int] | None] = {kind: None for kind in kinds}
    if record_ids is not None and record_kind != "supplier":
        if line_ids is not None:
            scope[record_kind] = set(frames["purchase_lines"]["id"].astype("int64")) | {
                int(i) for i in record_ids
            }
        else:
            scope[record_kind] = {int(i) for i in record_ids}

    checked = time.perf_counter()
    parts = []
    try:
        for view in enabled:
            rule_started = time.perf_counter()
            found = _check(view, frames, today)
            result.counts[view.code].seconds = round(time.perf_counter() - rule_started, 4)
            ids_in_scope = scope[view.rule.record_kind]
            if ids_in_scope is not None:
                found = found[found["record_id"].isin(ids_in_scope)]
            parts.append(found)
    finally:
        clear_cache()
    columns = [*FAILURE_COLUMNS, "severity", "group_key", "rule_code", "record_kind", "owner_role"]
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    found = found.drop_duplicates(["rule_code", "record_id", "field"], keep="first").reset_index(
        drop=True
    )
    found = (
        _add_scope(found, frames)
        if not found.empty
        else found.assign(site_id=[], direction_code=[], supplier_id=[])
    )
    result.check_seconds = time.perf_counter() - checked

    written = time.perf_counter()
    existing = _existing(session, [v.code for v in selected], scope)
    _apply(session, result, found, existing, {v.code: v for v in selected})
    result.write_seconds = time.perf_counter() - written
    result.duration = time.perf_counter() - started
    logger.info(
        "Rules run (%s rules, kind=%s, %s ids): %s failing, %s opened, %s reopened, %s closed in %.2fs",
        len(selected),
        record_kind,
        "all" if record_ids is None else len(record_ids),
        result.total("failing"),
        result.total("opened"),
        result.total("reopened"),
        result.total("closed"),
        result.duration,
    )
    return result


def _apply(
    session: Session,
    result: RunResult,
    found: pd.DataFrame,
    existing: pd.DataFrame,
    views: dict[str, RuleView],
) -> None:
    now = utcnow()
    keys = ["rule_code", "record_id", "field"]
    existing = existing.drop(columns=["record_kind"]).rename(
        columns={c: f"old_{c}" for c in (*COMPARED, "status")}
    )
    merged = found.merge(existing, on=keys, how="outer", indicator=True)
    for code, count in merged[merged["_merge"] != "right_only"].groupby("rule_code").size().items():
        result.counts[code].failing = int(count)

    new = merged[merged["_merge"] == "left_only"]
    both = merged[merged["_merge"] == "both"]
    gone = merged[merged["_merge"] == "right_only"]

    active_old = both["old_status"].isin(ACTIVE_STATUSES)
    reopen = both[both["old_status"] == AnomalyStatus.RESOLVED]
    still = both[active_old]
    close = gone[gone["old_status"].isin(ACTIVE_STATUSES)]

    # updates of values on active and reopened anomalies
    candidates = pd.concat([still, reopen])
    differs = pd.Series(False, index=candidates.index)
    for column in COMPARED:
        if column in ("site_id", "supplier_id"):
            new_values = candidates[column].astype("float64").fillna(-1)
            old_values = candidates[f"old_{column}"].astype("float64").fillna(-1)
        else:
            new_values = (
                candidates[column]
                .astype(object)
                .where(candidates[column].notna(), "\x00")
                .astype(str)
            )
            old_values = (
                candidates[f"old_{column}"]
                .astype(object)
                .where(candidates[f"old_{column}"].notna(), "\x00")
                .astype(str)
            )
        differs |= new_values.ne(old_values)
    to_update = candidates[differs]

    for code, part in new.groupby("rule_code"):
        result.counts[code].opened = len(part)
    for code, part in reopen.groupby("rule_code"):
        result.counts[code].reopened = len(part)
    for code, part in close.groupby("rule_code"):
        result.counts[code].closed = len(part)
    for code, part in still.groupby("rule_code"):
        result.counts[code].unchanged = len(part)
    for code, part in to_update[to_update["old_status"].isin(ACTIVE_STATUSES)].groupby("rule_code"):
        result.counts[code].updated = len(part)

    if not new.empty:
        _insert_new(session, new, now)
    if not to_update.empty:
        to_update = to_update.assign(anomaly_id=to_update["id"].astype("int64"))
        rows = _records(to_update, ["anomaly_id", *COMPARED, "details"])
        for row in rows:
            row["_id"] = row.pop("anomaly_id")
            if row["value"] is not None:
                row["value"] = str(row["value"])
            row["message"] = row["message"] or ""
        stmt = (
            sa.update(ANOMALIES)
            .where(ANOMALIES.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in (*COMPARED, "details")})
        )
        session.connection().execute(stmt, rows)
    if not reopen.empty:
        _in_chunks(
            session,
            reopen["id"].tolist(),
            {
                "status": AnomalyStatus.OPEN.value,
                "closed_at": None,
                "closed_by_id": None,
                "last_seen_at": now,
                "version": ANOMALIES.c.version + 1,
            },
        )
    if not still.empty:
        _in_chunks(session, still["id"].tolist(), {"last_seen_at": now})
    if not close.empty:
        _in_chunks(
            session,
            close["id"].tolist(),
            {
                "status": AnomalyStatus.RESOLVED.value,
                "closed_at": now,
                "closed_by_id": None,
                "version": ANOMALIES.c.version + 1,
            },
        )

    entries: list[dict[str, Any]] = []
    for row in reopen.itertuples(index=False):
        entries.append(
            {
                "action": "anomaly.reopened",
                "target_kind": "anomaly",
                "target_id": int(row.id),
                "target_label": row.rule_code,
                "before": {"status": row.old_status},
                "after": {
                    "status": "open",
                    "record_kind": row.record_kind,
                    "record_id": int(row.record_id),
                    "field": row.field,
                },
            }
        )
    for row in close.itertuples(index=False):
        reason = "fixed" if views[row.rule_code].enabled else "rule_disabled"
        entries.append(
            {
                "action": "anomaly.closed_auto",
                "target_kind": "anomaly",
                "target_id": int(row.id),
                "target_label": row.rule_code,
                "before": {"status": row.old_status},
                "after": {
                    "status": "resolved",
                    "reason": reason,
                    "record_id": int(row.record_id),
                    "field": row.field,
                },
            }
        )
    changed = {code: dataclasses.asdict(c) for code, c in result.counts.items() if c.changed}
    if changed:
        entries.append(
            {
                "action": "rules.run",
                "target_kind": "rules",
                "target_id": None,
                "target_label": None,
                "before": None,
                "after": {
                    code: {k: c[k] for k in ("failing", "opened", "reopened", "closed")}
                    for code, c in changed.items()
                },
            }
        )
        record_many(session, entries)
    # ORM objects loaded before the run are stale after the bulk statements
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Anomaly):
            session.expire(obj)
