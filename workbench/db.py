"""Declarative base with a constraint naming convention, shared column types and mixins."""

from __future__ import annotations

import contextlib
import datetime as dt

import sqlalchemy as sa
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Money: exact on PostgreSQL, returned as float in Python (pandas works on floats anyway).
Money = sa.Numeric(14, 2, asdecimal=False)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class ProvenanceMixin:
    """Import batch and source row of an operational record."""

    @declared_attr
    def import_batch_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(sa.ForeignKey("import_batches.id", ondelete="RESTRICT"), index=True)

    source_row: Mapped[int | None] = mapped_column(sa.Integer)


class VersionedMixin:
    """Optimistic locking: operations compare and increment ``version``."""

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
    """WAL mode, foreign keys and a busy timeout for every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    with contextlib.suppress(Exception):  # in-memory databases keep their journal mode
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def configure_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the pysqlite driver, emit BEGIN: SAVEPOINTs then work as documented."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")
