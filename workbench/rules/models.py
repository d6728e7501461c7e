"""Anomalies and rule settings."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.core import bulk_keys
from workbench.db import Base, VersionedMixin, utcnow


class Severity(enum.StrEnum):
    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABELS = {"blocking": "Bloquante", "warning": "Avertissement", "info": "Information"}
#: The severities, gravest first.
SEVERITY_RANK: tuple[str, ...] = tuple(s.value for s in Severity)
# worst_severity() relies on it: the gravest sorts first, and of the other two the graver last
assert sorted(SEVERITY_RANK) == ["blocking", "info", "warning"]


def worst_severity(column: Any) -> sa.ColumnElement[str]:
    """The gravest severity of ``column`` over a group (an aggregate): from its alphabetical
    bounds, which the indexes and the merges compose, not a rank computed per row. A plain
    ``min()`` shows a group of warnings and infos as « info »."""
    low = sa.func.min(column)
    return sa.case((low == Severity.BLOCKING.value, low), else_=sa.func.max(column))


class AnomalyStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    PROPOSED = "proposed"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


STATUS_LABELS = {
    "open": "Ouverte",
    "claimed": "Prise en charge",
    "proposed": "Correction proposée",
    "resolved": "Résolue",
    "dismissed": "Écartée",
}
ACTIVE_STATUSES = ("open", "claimed", "proposed")
#: The predicate of the partial indexes on active anomalies (queries must repeat it verbatim).
ACTIVE_WHERE = "status IN ('open', 'claimed', 'proposed')"
#: The predicate of the partial index on a direction's active anomalies.
ACTIVE_DIRECTION_WHERE = f"direction_code IS NOT NULL AND {ACTIVE_WHERE}"
#: Records under an open blocking anomaly are left out of the published indicators.
ACTIVE_BLOCKING_WHERE = f"severity = 'blocking' AND {ACTIVE_WHERE}"
#: The active statuses past « open »: anomalies someone has in hand (few: work in progress).
IN_HAND_STATUSES = ("claimed", "proposed")
#: The predicate of the partial index on them (queries must repeat it verbatim).
IN_HAND_WHERE = "status IN ('claimed', 'proposed')"

#: Record kinds an anomaly can point to (table of the record).
RECORD_KINDS = ("purchase_line", "supplier", "contract", "matrix_entry", "nomenclature_item")

DISMISS_REASONS = {
    "false_positive": "Faux positif",
    "accepted_exception": "Exception acceptée",
    "data_unavailable": "Donnée non disponible",
    "other": "Autre",
}


class Anomaly(VersionedMixin, Base):
    """A rule failure on one field of one record, identified by (rule, record, field)."""

    __tablename__ = "anomalies"
    __table_args__ = (
        sa.UniqueConstraint("rule_code", "record_kind", "record_id", "field"),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'proposed', 'resolved', 'dismissed')",
            name="status_known",
        ),
        sa.CheckConstraint("severity IN ('blocking', 'warning', 'info')", name="severity_known"),
        sa.CheckConstraint(
            "status <> 'dismissed' OR dismiss_reason IS NOT NULL", name="dismissal_has_reason"
        ),
        # Every index here is paid by each anomaly a run writes: only those a query needs (the
        # record's anomalies, look-ups by group, the queues' partial indexes, the covers of
        # workbench.review.models; counts come from anomaly_counts).
        sa.Index("ix_anomalies_record", "record_kind", "record_id"),
        # Indicators leave out the records under an active blocking anomaly (few, read often).
        sa.Index(
            "ix_anomalies_active_blocking",
            "record_kind",
            "record_id",
            sqlite_where=sa.text(ACTIVE_BLOCKING_WHERE),
            postgresql_where=sa.text(ACTIVE_BLOCKING_WHERE),
        ),
        # The quality page's resolution times: the closed anomalies only (paid when one
        # closes, not when a run opens them), read whole from the index
        sa.Index(
            "ix_anomalies_closed",
            "closed_at",
            "status",
            "first_seen_at",
            sqlite_where=sa.text("closed_at IS NOT NULL"),
            postgresql_where=sa.text("closed_at IS NOT NULL"),
        ),
        # A line view sorted by state: the anomalies in hand of each rule, oldest first (few;
        # a rule run opens anomalies and never writes this index)
        sa.Index(
            "ix_anomalies_in_hand",
            "rule_code",
            "status",
            "first_seen_at",
            "id",
            sqlite_where=sa.text(IN_HAND_WHERE),
            postgresql_where=sa.text(IN_HAND_WHERE),
        ),
        # A region-wide line view sorted by field or value: each rule's active anomalies per
        # field, in value order (the page merges these walks)
        sa.Index(
            "ix_anomalies_active_field",
            "rule_code",
            "field",
            "value",
            "first_seen_at",
            "id",
            sqlite_where=sa.text(ACTIVE_WHERE),
            postgresql_where=sa.text(ACTIVE_WHERE),
        ),
        # « Articles à rattacher »: a page's groups' statuses, by rule and indexed group key
        # (covering, also for a canteen's lycées)
        sa.Index(
            "ix_anomalies_rule_group", "rule_code", "group_key", "site_id", "status", "owner_role"
        ),
        # Queues read active anomalies only, oldest first (keyset on first_seen_at, id), per
        # rule code within a scope: partial indexes matching each filter and order.
        # The direction's only holds anomalies with a direction (contracts, suppliers: not the
        # purchase lines' millions); its queries compare direction_code, which implies it.
        *(
            sa.Index(
                f"ix_anomalies_active_{name}",
                *scope,
                "rule_code",
                "first_seen_at",
                "id",
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )
            for name, scope, where in (
                ("rule", (), ACTIVE_WHERE),
                ("site", ("site_id",), ACTIVE_WHERE),
                ("direction", ("direction_code",), ACTIVE_DIRECTION_WHERE),
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_code: Mapped[str] = mapped_column(sa.String(40))
    record_kind: Mapped[str] = mapped_column(sa.String(20))
    record_id: Mapped[int] = mapped_column(sa.Integer)
    #: The failing field, ``""`` when the rule concerns the whole record.
    field: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    severity: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), default=AnomalyStatus.OPEN)
    owner_role: Mapped[str] = mapped_column(sa.String(12))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"))
    direction_code: Mapped[str | None] = mapped_column(sa.ForeignKey("directions.code"))
    supplier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suppliers.id", ondelete="SET NULL"), index=True
    )
    #: Grouping key for queues that decide on groups (e.g. normalised label of an unmapped article).
    group_key: Mapped[str | None] = mapped_column(sa.String(300))
    value: Mapped[str | None] = mapped_column(sa.Text)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: Hash of the values a rule run compares (severity, value, message, group key, scope),
    #: written by the runs: a run reads it instead of those values to find what changed.
    #: ``None`` (an anomaly written elsewhere) always counts as changed, once.
    fingerprint: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    dismiss_reason: Mapped[str | None] = mapped_column(sa.String(30))
    dismiss_comment: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def __repr__(self) -> str:
        return f"<Anomaly {self.rule_code} {self.record_kind}:{self.record_id} {self.field} {self.status}>"


class RuleSetting(Base):
    """Admin overrides of a rule's defaults (enabled, approval policy, thresholds)."""

    __tablename__ = "rule_settings"

    rule_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: ``immediate`` or ``approval``; NULL keeps the rule's default.
    approval_policy: Mapped[str | None] = mapped_column(sa.String(10))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<RuleSetting {self.rule_code}>"


class RuleRun(Base):
    """One run of the rules engine: the time of the run lives here, once, not on every anomaly
    still failing (``Anomaly.last_seen_at`` is the time it was last opened or reopened)."""

    __tablename__ = "rule_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: The record kind re-checked (None: every kind of the rules run).
    record_kind: Mapped[str | None] = mapped_column(sa.String(20))
    #: How many records were re-checked (None: whole tables).
    record_count: Mapped[int | None] = mapped_column(sa.Integer)
    rule_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    failing: Mapped[int] = mapped_column(sa.Integer, default=0)
    opened: Mapped[int] = mapped_column(sa.Integer, default=0)
    reopened: Mapped[int] = mapped_column(sa.Integer, default=0)
    closed: Mapped[int] = mapped_column(sa.Integer, default=0)
    duration_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)
    #: A full run of the purchase rules: the signature of what they read besides the lines
    #: (:func:`workbench.rules.marks.signature`); the next full run with the same signature
    #: evaluates only the lycées marked since.
    purchase_signature: Mapped[str | None] = mapped_column(sa.String(64))
    #: Lycées whose purchase lines that run evaluated (None: no full purchase run).
    sites_checked: Mapped[int | None] = mapped_column(sa.Integer)

    def __repr__(self) -> str:
        return f"<RuleRun {self.id} {self.finished_at:%Y-%m-%d %H:%M}>"


class AnomalyCount(Base):
    """Anomalies per (rule, status, owner role, lycée, direction), kept by database triggers
    (see :mod:`workbench.rules.counts`); ``site_id`` 0 / ``direction_code`` ``''`` = none."""

    __tablename__ = "anomaly_counts"

    rule_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    owner_role: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    direction_code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, default=0)


class AnomalyDay(Base):
    """Anomalies per (UTC day opened, UTC day closed), kept by database triggers (see
    :mod:`workbench.rules.counts`); ``closed_day`` ``''`` = not closed."""

    __tablename__ = "anomaly_days"

    opened_day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    closed_day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, default=0)


class AnomalyGroupCount(Base):
    """The active anomalies of one rule and one severity grouped on one key, region-wide (see
    :mod:`workbench.rules.group_counts`): kept by database triggers; ``dirty``: some anomaly
    left the group in the current transaction, its bounds are to be read again."""

    __tablename__ = "anomaly_group_counts"
    __table_args__ = (
        sa.Index(
            "ix_anomaly_group_counts_dirty",
            "rule_code",
            "key",
            "severity",
            sqlite_where=sa.text("dirty"),
            postgresql_where=sa.text("dirty"),
        ),
        # the severities a rule's groups have: two index seeks (min, max) per rule
        sa.Index("ix_anomaly_group_counts_severity", "rule_code", "severity"),
        # SQLite: the rows in key order (a clustered key): the view's merge of a group's
        # severities is a scan in order, no sort and no row looked up
        {"sqlite_with_rowid": False},
    )

    rule_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    severity: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, default=0)
    oldest: Mapped[dt.datetime | None] = mapped_column()
    newest: Mapped[dt.datetime | None] = mapped_column()
    sample_id: Mapped[int | None] = mapped_column(sa.Integer)
    field: Mapped[str | None] = mapped_column(sa.String(60))
    dirty: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class AnomalyText(Base):
    """One distinct combination of the texts a queue's search reads — rule, group key,
    ``group_key``, value, message (``''`` for none) — of some anomaly, now or before: a
    superset kept by database triggers (see :mod:`workbench.rules.search_texts`, which also
    creates the unique index keeping one row per combination)."""

    __tablename__ = "anomaly_texts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    rule_code: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.Text)
    group_key: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    value: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")


class AnomalyCountPause(Base):
    """A row here, inside one transaction, pauses the SQLite count triggers during a bulk
    write whose counts are added in one grouped statement (:func:`~workbench.rules.counts.
    counted_in_bulk`). Always empty outside such a transaction."""

    __tablename__ = "anomaly_counts_paused"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)


class RuleSiteMark(Base):
    """A lycée whose purchase lines (or their anomalies) changed since the last full run of the
    purchase rules: written by database triggers only (:mod:`workbench.rules.marks`)."""

    __tablename__ = "rule_site_marks"

    site_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")


def _create_count_triggers(target: sa.Table, connection: sa.Connection, **_: Any) -> None:
    from workbench.rules.counts import trigger_statements

    for statement in trigger_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _create_day_triggers(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    from workbench.rules.counts import day_trigger_statements

    if {"anomalies", "anomaly_days", "anomaly_counts_paused"} <= set(target.tables):
        for statement in day_trigger_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


def _create_group_triggers(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    from workbench.rules.group_counts import trigger_statements as group_triggers

    if {"anomalies", "anomaly_group_counts", "anomaly_counts_paused"} <= set(target.tables):
        for statement in group_triggers(connection.dialect.name):
            connection.exec_driver_sql(statement)


def _create_text_triggers(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    from workbench.rules import search_texts

    if {"anomalies", "anomaly_texts", "anomaly_counts_paused"} <= set(target.tables):
        dialect = connection.dialect.name
        for statement in (
            *search_texts.column_statements(dialect),
            *search_texts.index_statements(dialect),
            *search_texts.trigger_statements(dialect),
        ):
            connection.exec_driver_sql(statement)


# Databases built from the metadata (not the migrations) get the triggers too.
sa.event.listen(Anomaly.__table__, "after_create", _create_count_triggers)


def _create_mark_triggers(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    from workbench.rules.marks import trigger_statements as mark_triggers

    if {"purchase_lines", "anomalies", "rule_site_marks"} <= set(target.tables):
        for statement in mark_triggers(connection.dialect.name):
            connection.exec_driver_sql(statement)


sa.event.listen(Base.metadata, "after_create", _create_mark_triggers)
sa.event.listen(Base.metadata, "after_create", _create_day_triggers)
sa.event.listen(Base.metadata, "after_create", _create_group_triggers)
sa.event.listen(Base.metadata, "after_create", _create_text_triggers)

# PostgreSQL checks the keys of the bulk tables per statement (workbench.core.bulk_keys).
bulk_keys.native_on_sqlite_only(Anomaly.__table__)
sa.event.listen(Base.metadata, "after_create", bulk_keys.create_triggers)
