"""The « Articles à rattacher » groups table, kept exact at every change of purchase lines.

Two tables (:mod:`workbench.matching.models`):

- ``article_group_lines``: the group key of every *unmapped* line (``nomenclature_code IS
  NULL``), so that a change of line ids finds the groups the lines left as well as the ones
  they joined;
- ``article_groups``: one row per (group, lycée) and one region-wide row (``site_id`` 0) per
  group, with what the page sorts, filters and pages on, and the group's near-variant cluster
  (:func:`cluster_keys`, the engine's :func:`~workbench.matching.engine.cluster_labels` over
  the fingerprints of the whole queue).

:func:`refresh_lines` is the one maintenance function: given changed line ids it re-reads those
lines, moves their ``article_group_lines`` rows, and recomputes only the groups they left or
joined (one aggregate per chunk of keys), then the clusters — a full re-clustering only when
the set of fingerprints of the queue changed (it depends on nothing else). It is called, in the
change's transaction, by the ``records_changed`` receiver (imports, mapping, undo, bulk accept,
nomenclature merge, approved corrections and reverts) and after each ORM flush that touched a
purchase line (lines created or edited through the ORM, e.g. the demo's activity). Rule runs
change anomalies only: the page looks their status up by indexed ``group_key``.
:func:`rebuild` recomputes everything (``workbench matching rebuild-groups``, the migration,
the demo loader).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from workbench.db import any_of
from workbench.imports.writer import insert_dicts
from workbench.matching.engine import cluster_labels, normalise
from workbench.matching.models import REGION, ArticleGroupLine, ArticleGroupRow
from workbench.records.models import PurchaseLine

logger = logging.getLogger(__name__)

LINES = ArticleGroupLine.__table__
GROUPS = ArticleGroupRow.__table__
PL = PurchaseLine.__table__
#: Ids or keys per ``IN (...)`` list.
CHUNK = 5000
#: Above this many changed lines, everything is rebuilt in one pass.
FULL_REBUILD_LINES = 300_000
#: Columns of a purchase line that decide its group or the group's figures.
WATCHED = (
    "site_id",
    "supplier_siret",
    "supplier_name",
    "reference",
    "label",
    "nomenclature_code",
    "amount_ht",
    "line_date",
)
_ROW_COLUMNS = [
    "key",
    "site_id",
    "kind",
    "label",
    "supplier_siret",
    "supplier_name",
    "reference",
    "line_count",
    "amount",
    "oldest",
    "labels",
    "label_count",
    "supplier_count",
    "fingerprint",
    "cluster_key",
    "cluster_size",
    "head_oldest",
    "head_lines",
    "sirets",
    "suppliers",
    "search_text",
]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def line_key(siret: str | None, reference: str | None, label: str | None) -> str:
    """The group key of one unmapped line (see :mod:`workbench.matching.queries`)."""
    from workbench.matching.queries import label_group_key, reference_group_key

    reference = (reference or "").strip()
    if reference:
        return reference_group_key(siret, reference)
    return label_group_key(str(label or ""))


def _lock(connection: Connection) -> None:
    """PostgreSQL: one maintenance at a time (transaction-scoped advisory lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(11016, 0)"))


# -- article_group_lines -------------------------------------------------------------------------
def _line_rows(connection: Connection, where: Any) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(PL.c.id, PL.c.site_id, PL.c.supplier_siret, PL.c.reference, PL.c.label).where(
            PL.c.nomenclature_code.is_(None), where
        )
    ).all()
    return [
        {"line_id": i, "key": line_key(siret, ref, label), "site_id": site}
        for i, site, siret, ref, label in rows
    ]


def _move_lines(connection: Connection, ids: Sequence[int]) -> set[str]:
    """Re-key the given lines; the keys they left and joined."""
    keys: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        keys.update(
            connection.scalars(
                sa.select(LINES.c.key).where(any_of(LINES.c.line_id, chunk)).distinct()
            ).all()
        )
        connection.execute(sa.delete(LINES).where(any_of(LINES.c.line_id, chunk)))
        rows = _line_rows(connection, any_of(PL.c.id, chunk))
        if rows:
            insert_dicts(connection, LINES, rows)
            keys.update(r["key"] for r in rows)
    return keys


# -- article_groups ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=262_144)
def _fingerprint(label: str) -> str:
    return normalise(label).fingerprint


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:32]


def cluster_keys(labels_by_fingerprint: dict[str, str]) -> dict[str, str]:
    """``{fingerprint: cluster key}`` for the queue's fingerprints (each with one label having
    it): the engine's clusters, computed over the fingerprints in sorted order, so the result
    depends on the set of fingerprints only. A cluster's key is a digest of its smallest
    fingerprint."""
    fps = sorted(fp for fp in labels_by_fingerprint if fp)
    if not fps:
        return {}
    clusters = cluster_labels([labels_by_fingerprint[fp] for fp in fps])
    first: dict[int, str] = {}
    out = {}
    for fp, cluster in zip(fps, clusters["cluster_id"].tolist(), strict=True):
        out[fp] = _digest("c:" + first.setdefault(int(cluster), fp))
    return out


def _aggregate(connection: Connection, keys: Sequence[str] | None) -> pd.DataFrame:
    """The unmapped lines of ``keys`` (all: ``None``) summed by key, lycée, supplier,
    reference and label."""
    columns = ["key", "site_id", "siret", "reference", "label", "supplier_name", "n", "amount"]
    columns.append("oldest")
    stmt = (
        sa.select(
            LINES.c.key,
            PL.c.site_id,
            PL.c.supplier_siret,
            PL.c.reference,
            PL.c.label,
            sa.func.max(PL.c.supplier_name),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(PL.c.amount_ht), 0),
            sa.func.min(PL.c.line_date),
        )
        .select_from(LINES.join(PL, PL.c.id == LINES.c.line_id))
        .where(PL.c.nomenclature_code.is_(None))
        .group_by(LINES.c.key, PL.c.site_id, PL.c.supplier_siret, PL.c.reference, PL.c.label)
    )
    if keys is None:
        frames = [pd.DataFrame(connection.execute(stmt).all(), columns=columns)]
    else:
        frames = [
            pd.DataFrame(
                connection.execute(stmt.where(any_of(LINES.c.key, c))).all(), columns=columns
            )
            for c in _chunks(list(keys))
        ]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    df["siret"] = df["siret"].fillna("").astype(str).str.strip()
    df["reference"] = df["reference"].fillna("").astype(str).str.strip()
    df["label"] = df["label"].fillna("").astype(str)
    df["n"] = df["n"].astype("int64")
    df["amount"] = df["amount"].astype(float)
    df["oldest"] = pd.to_datetime(df["oldest"])
    return df


def _terms(df: pd.DataFrame) -> pd.Series:
    """Folded search terms of each aggregated row (what the search box matches)."""
    from workbench.matching.queries import _folded, label_key

    label = df["label"].map(_folded)
    key = df["label"].map(label_key)
    supplier = df["supplier_name"].fillna("").astype(str).map(_folded)
    return (
        label
        + "\n"
        + key
        + "\n"
        + df["reference"].str.lower()
        + "\n"
        + supplier
        + "\n"
        + df["siret"]
    )


def _row_keys(df: pd.DataFrame, by: list[str]) -> list[Any]:
    return (
        list(zip(*(df[c].tolist() for c in by), strict=True)) if len(by) > 1 else df[by[0]].tolist()
    )


def _texts(df: pd.DataFrame, by: list[str]) -> dict[str, dict[Any, str]]:
    """The text columns of each ``by`` group, in one pass over the aggregated rows (no
    per-group pandas call)."""
    sirets: dict[Any, set[str]] = defaultdict(set)
    suppliers: dict[Any, set[str]] = defaultdict(set)
    terms: dict[Any, set[str]] = defaultdict(set)
    names = df["supplier_name"].fillna("").astype(str).tolist()
    for key, siret, name, term in zip(
        _row_keys(df, by), df["siret"].tolist(), names, df["terms"].tolist(), strict=True
    ):
        sirets[key].add(siret)
        if siret:
            suppliers[key].add(f"{siret}\t{name}")
        terms[key].update(t for t in term.split("\n") if t)
    return {
        "sirets": {k: "|" + "|".join(sorted(v)) + "|" for k, v in sirets.items()},
        "suppliers": {k: "\n".join(sorted(v)) for k, v in suppliers.items()},
        "search_text": {k: "\n".join(sorted(v)) for k, v in terms.items()},
    }


def _rows_of(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per ``by`` (key, or key and lycée) from the aggregated lines."""
    asc = [True] * len(by)
    labels = df.groupby([*by, "label"], sort=False)["n"].sum().reset_index()
    ordered = labels.sort_values(
        [*by, "n", "label"], ascending=[*asc, False, True], kind="mergesort"
    )
    top_label = ordered.drop_duplicates(by)
    all_labels: dict[Any, list[str]] = defaultdict(list)
    for key, label in zip(_row_keys(ordered, by), ordered["label"].tolist(), strict=True):
        all_labels[key].append(label)
    top = df.sort_values(
        [*by, "n", "siret", "reference", "label"],
        ascending=[*asc, False, True, True, True],
        kind="mergesort",
    ).drop_duplicates(by)
    out = df.groupby(by, sort=False).agg(
        line_count=("n", "sum"),
        amount=("amount", "sum"),
        oldest=("oldest", "min"),
        label_count=("label", "nunique"),
        supplier_count=("siret", "nunique"),
    )
    index = out.index.tolist()
    for column, values in _texts(df, by).items():
        out[column] = [values.get(k, "") for k in index]
    out["labels"] = ["\n".join(all_labels[k]) for k in index]
    out = out.join(top_label.set_index(by)[["label"]])
    out = out.join(
        top.set_index(by)[["siret", "supplier_name", "reference"]].rename(
            columns={"siret": "supplier_siret"}
        )
    )
    return out.reset_index()


def group_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The ``article_groups`` rows (no cluster key yet) of aggregated lines."""
    if df.empty:
        return pd.DataFrame(columns=_ROW_COLUMNS)
    df = df.assign(terms=_terms(df))
    region = _rows_of(df, ["key"]).assign(site_id=REGION)
    region["fingerprint"] = region["label"].map(_fingerprint)
    sites = _rows_of(df, ["key", "site_id"])
    sites = sites.merge(region[["key", "fingerprint"]], on="key", how="left")
    rows = pd.concat([region, sites], ignore_index=True)
    rows["kind"] = rows["key"].str.startswith("ref:").map({True: "reference", False: "label"})
    rows["reference"] = rows["reference"].where(rows["reference"] != "", None)
    rows["supplier_name"] = rows["supplier_name"].where(rows["supplier_name"].notna(), None)
    rows["cluster_key"] = ""
    rows["cluster_size"], rows["head_oldest"], rows["head_lines"] = 1, True, True
    rows["site_id"] = rows["site_id"].astype("int64")
    return rows[_ROW_COLUMNS]


def _records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Insertable dicts of native values, the columns converted once each."""
    if rows.empty:
        return []
    columns: dict[str, list[Any]] = {c: rows[c].tolist() for c in _ROW_COLUMNS}
    oldest = pd.to_datetime(rows["oldest"])
    columns["oldest"] = [None if pd.isna(v) else v.date() for v in oldest]
    for name in ("line_count", "label_count", "supplier_count", "site_id", "cluster_size"):
        columns[name] = [int(v) for v in rows[name].to_numpy()]
    for name in ("head_oldest", "head_lines"):
        columns[name] = [bool(v) for v in rows[name].to_numpy()]
    columns["amount"] = [round(float(v), 2) for v in rows["amount"].to_numpy()]
    for name in ("supplier_name", "reference"):
        columns[name] = [None if v is None or v != v else v for v in columns[name]]
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def flag_heads(rows: pd.DataFrame) -> pd.DataFrame:
    """``cluster_size``, ``head_oldest``, ``head_lines`` of rows (``site_id``, ``cluster_key``,
    ``oldest``, ``line_count``, ``key``): per lycée (or region) and cluster, its size and its
    first group in each of the page's orders (ties: smallest key)."""
    rows = rows.copy()
    part = ["site_id", "cluster_key"]
    rows["cluster_size"] = rows.groupby(part)["key"].transform("size").astype("int64")
    rows["_neg"] = -rows["line_count"].astype("int64")
    for name, order in (("head_oldest", ["oldest", "_neg"]), ("head_lines", ["_neg", "oldest"])):
        first = rows.sort_values([*part, *order, "key"], kind="mergesort").drop_duplicates(part)
        rows[name] = rows.index.isin(first.index)
    return rows.drop(columns="_neg")


def _reflag(connection: Connection, clusters: set[str], new: pd.DataFrame) -> pd.DataFrame:
    """Recompute the flags of the stored rows of ``clusters`` (every level) with the ``new``
    rows about to be inserted: update the stored rows that moved, return ``new`` flagged."""
    g = GROUPS.c
    columns = ["id", "site_id", "cluster_key", "oldest", "line_count", "key"]
    flags = ["cluster_size", "head_oldest", "head_lines"]
    found = []
    for chunk in _chunks(sorted(clusters)):
        found.extend(
            connection.execute(
                sa.select(*[g[c] for c in columns + flags]).where(any_of(g.cluster_key, chunk))
            ).all()
        )
    before = pd.DataFrame(found, columns=columns + flags)
    stored = len(before)
    parts = [before[columns]] if stored else []
    if len(new):
        parts.append(new.assign(id=-1)[columns])
    if not parts:
        return new
    both = pd.concat(parts, ignore_index=True).astype({"line_count": "int64"})
    both["oldest"] = pd.to_datetime(both["oldest"])
    flagged = flag_heads(both)
    new = new.copy()
    for flag in flags:
        new[flag] = flagged[flag].to_numpy()[stored:]
    if not stored:
        return new
    after = flagged.iloc[:stored]
    moved = after[
        (after["cluster_size"].to_numpy() != before["cluster_size"].to_numpy())
        | (after["head_oldest"].to_numpy() != before["head_oldest"].astype(bool).to_numpy())
        | (after["head_lines"].to_numpy() != before["head_lines"].astype(bool).to_numpy())
    ]
    if len(moved):
        connection.execute(
            sa.update(GROUPS)
            .where(g.id == sa.bindparam("row_id"))
            .values(
                cluster_size=sa.bindparam("size"),
                head_oldest=sa.bindparam("ho"),
                head_lines=sa.bindparam("hl"),
            ),
            [
                {"row_id": int(i), "size": int(n), "ho": bool(o), "hl": bool(n_)}
                for i, n, o, n_ in zip(
                    moved["id"],
                    moved["cluster_size"],
                    moved["head_oldest"],
                    moved["head_lines"],
                    strict=True,
                )
            ],
        )
    return new


def _fingerprints(connection: Connection) -> dict[str, tuple[str, str]]:
    """``{fingerprint: (a label having it, cluster key)}`` of the region-wide rows."""
    rows = connection.execute(
        sa.select(
            GROUPS.c.fingerprint, sa.func.min(GROUPS.c.label), sa.func.min(GROUPS.c.cluster_key)
        )
        .where(GROUPS.c.site_id == REGION)
        .group_by(GROUPS.c.fingerprint)
    ).all()
    return {fp: (label, cluster) for fp, label, cluster in rows}


def _present(connection: Connection, fingerprints: set[str]) -> dict[str, str]:
    """``{fingerprint: cluster key}`` of those ``fingerprints`` some region-wide row has
    (index ``ix_article_groups_fingerprint``)."""
    g = GROUPS.c
    out: dict[str, str] = {}
    for chunk in _chunks(sorted(fingerprints - {""})):
        rows = connection.execute(
            sa.select(g.fingerprint, sa.func.min(g.cluster_key))
            .where(g.site_id == REGION, any_of(g.fingerprint, chunk))
            .group_by(g.fingerprint)
        )
        out.update({fp: cluster for fp, cluster in rows})
    return out


def _refresh_groups(connection: Connection, keys: set[str] | None) -> None:
    """Recompute the ``article_groups`` rows of ``keys`` (``None``: all), then the clusters.

    The queue is re-clustered only when its set of fingerprints changed (a fingerprint came
    or went: looked up for the fingerprints of ``keys`` only); otherwise a new row takes the
    cluster its fingerprint already has."""
    g = GROUPS.c
    touched: set[str] = set()
    changed: dict[str, str] = {}
    kept: dict[str, tuple[str, str]] = {}
    if keys is None:
        connection.execute(sa.delete(GROUPS))
        rows = group_rows(_aggregate(connection, None))
        clusters = cluster_keys(dict(zip(rows["fingerprint"], rows["label"], strict=True)))
    else:
        ordered = sorted(keys)
        rows = group_rows(_aggregate(connection, ordered))
        old_fps: set[str] = set()
        for chunk in _chunks(ordered):
            for fp, cluster in connection.execute(
                sa.select(g.fingerprint, g.cluster_key)
                .where(any_of(g.key, chunk), g.site_id == REGION)
                .distinct()
            ):
                old_fps.add(fp)
                touched.add(cluster)
        candidates = old_fps | set(rows["fingerprint"])
        before = _present(connection, candidates)
        for chunk in _chunks(ordered):
            connection.execute(sa.delete(GROUPS).where(any_of(g.key, chunk)))
        after = set(_present(connection, candidates)) | (set(rows["fingerprint"]) - {""})
        if after == set(before):
            clusters = before
        else:
            kept = _fingerprints(connection)
            labels = {fp: label for fp, (label, _) in kept.items()}
            for fp, label in zip(rows["fingerprint"], rows["label"], strict=True):
                labels.setdefault(fp, label)
            clusters = cluster_keys(labels)
            changed = {
                fp: clusters[fp] for fp, (_, old) in kept.items() if fp and clusters.get(fp) != old
            }
            touched.update(changed.values())
            touched.update(cluster for fp, (_, cluster) in kept.items() if fp in changed)
    rows["cluster_key"] = [
        clusters.get(fp) or _digest("g:" + key)
        for fp, key in zip(rows["fingerprint"], rows["key"], strict=True)
    ]
    if changed:  # stored rows whose cluster moved (new rows have theirs already)
        connection.execute(
            sa.update(GROUPS)
            .where(g.fingerprint == sa.bindparam("fp"))
            .values(cluster_key=sa.bindparam("ck")),
            [{"fp": fp, "ck": ck} for fp, ck in changed.items()],
        )
    if keys is None:
        rows = flag_heads(rows)
    else:
        touched.update(rows["cluster_key"])
        rows = _reflag(connection, touched, rows)
    records = _records(rows)
    for chunk in _chunks(records, 5000):
        insert_dicts(connection, GROUPS, chunk)


def refresh_lines(session_or_connection: Session | Connection, ids: Iterable[int] | None) -> None:
    """THE maintenance: keep both tables exact after a change of the purchase lines ``ids``
    (created, edited, mapped, unmapped or deleted; ``None``: every line)."""
    connection = _connection(session_or_connection)
    ids = None if ids is None else list(ids)
    if ids is not None and not ids:
        return
    _lock(connection)
    if ids is None or len(ids) > FULL_REBUILD_LINES:
        _rebuild(connection)
        return
    keys = _move_lines(connection, ids)
    if keys:
        _refresh_groups(connection, keys)


def _connection(obj: Session | Connection) -> Connection:
    return obj if isinstance(obj, Connection) else obj.connection()


#: PostgreSQL: a text whose first and last characters are visible ASCII (``!`` to ``~``), which
#: Python's ``str.strip()`` leaves as it is (it strips every Unicode space, ``btrim`` only ``' '``).
_UNSTRIPPED = "^[!-~](.*[!-~])?$"


def _keyed_in_sql() -> sa.ColumnElement[bool]:
    """The unmapped lines whose group key the database writes as :func:`line_key` does: a
    reference (and a SIRET, or none) that ``strip()`` leaves as they are — a reference key
    ``ref:<siret>|<reference>``. The others (a label key, a text to strip) are keyed in Python."""
    siret = PL.c.supplier_siret
    return sa.and_(  # never NULL (its negation picks the others)
        PL.c.reference.is_not(None),
        PL.c.reference.regexp_match(_UNSTRIPPED),
        sa.or_(siret.is_(None), siret == "", siret.regexp_match(_UNSTRIPPED)),
    )


def _rebuild(connection: Connection) -> None:
    connection.execute(sa.delete(LINES))
    unmapped: sa.ColumnElement[bool] = PL.c.nomenclature_code.is_(None)
    if connection.dialect.name == "postgresql":
        # most lines carry a plain reference: keyed by one INSERT … SELECT (1M lines: 4–5 s
        # of rows read, keyed in Python and copied back, saved)
        keyed = _keyed_in_sql()
        key = sa.literal("ref:") + sa.func.coalesce(PL.c.supplier_siret, "") + "|" + PL.c.reference
        connection.execute(
            sa.insert(LINES).from_select(
                ["line_id", "key", "site_id"],
                sa.select(PL.c.id, key, PL.c.site_id).where(unmapped, keyed),
            )
        )
        unmapped = sa.and_(unmapped, sa.not_(keyed))
    last = 0
    while True:  # by id range: bounded memory whatever the table size
        ids = connection.scalars(
            sa.select(PL.c.id).where(unmapped, PL.c.id > last).order_by(PL.c.id).limit(50_000)
        ).all()
        if not ids:
            break
        rows = _line_rows(connection, sa.and_(unmapped, PL.c.id.between(ids[0], ids[-1])))
        if rows:
            insert_dicts(connection, LINES, rows)
        last = ids[-1]
    _refresh_groups(connection, None)
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit = 400")
    for table in ("article_group_lines", "article_groups"):
        connection.exec_driver_sql(f"ANALYZE {table}")


def rebuild(session: Session) -> int:
    """Recompute both tables from the purchase lines; the number of groups (region-wide)."""
    connection = session.connection()
    _lock(connection)
    _rebuild(connection)
    return int(
        connection.scalar(
            sa.select(sa.func.count()).select_from(GROUPS).where(GROUPS.c.site_id == REGION)
        )
        or 0
    )


def rebuild_on_connection(connection: Connection) -> None:
    """The migration's build of the tables (no application needed)."""
    _rebuild(connection)


# -- when lines change ---------------------------------------------------------------------------
def on_records_changed(
    session: Session, record_kind: str = "", record_ids: list[int] | None = None, **_: Any
) -> None:
    """Receiver of ``records_changed`` (bulk paths: imports, mapping, undo, merges…)."""
    if record_kind == "purchase_line":
        refresh_lines(session, record_ids)


def after_flush(session: Session, _context: Any) -> None:
    """ORM changes of purchase lines (created, edited, deleted through the session)."""
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, PurchaseLine) and obj.id is not None:
            ids.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, PurchaseLine) and obj.id is not None:
            ids.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, PurchaseLine) and obj.id is not None:
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in WATCHED):
                ids.add(obj.id)
    if ids:
        refresh_lines(session, sorted(ids))


def install() -> None:
    """Connect the maintenance to ``records_changed`` and to every session's flushes (once)."""
    from sqlalchemy import event

    from workbench.core.signals import records_changed

    records_changed.connect(on_records_changed)
    if not event.contains(Session, "after_flush", after_flush):
        event.listen(Session, "after_flush", after_flush)
