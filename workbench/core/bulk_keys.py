"""Foreign keys of the two bulk tables, checked once per statement on PostgreSQL.

``purchase_lines`` (a million rows a year) and ``anomalies`` (as many) are written by the
hundred thousand: an import's ``COPY``, a rule run's ``INSERT … SELECT``. PostgreSQL checks a
native foreign key row by row: one trigger event and one ``SELECT … FOR KEY SHARE`` per row and
per key, measured at 19 s of server time for the three keys of a million purchase lines (a
third of the ``COPY``) and 6 s for the five keys of 470,000 anomalies.

On PostgreSQL these keys are statement triggers instead (the native constraints are not
created; :data:`REFERENCES` lists them, with the names they had). Each checks what a whole
statement wrote, with the same guarantees:

- a child statement (``INSERT``, ``UPDATE``): each distinct value written is looked up in its
  parent **and the parent row is locked** ``FOR KEY SHARE``, as the native check does, so that
  no one deletes it until the writer commits; a value missing raises ``foreign_key_violation``
  (SQLSTATE 23503, with the constraint's name, as the native error);
- a parent statement (``DELETE``, or an ``UPDATE`` that changes a key): ``RESTRICT`` and
  ``NO ACTION`` raise the same error when a child still refers to a removed key; ``CASCADE``
  deletes the children and ``SET NULL`` clears their reference, in the same statement.

Races are those of the native keys. A child's check runs after its rows are written and takes
the parent's lock: a parent deleted before (even uncommitted, the lock waits for it) is missing
and the child fails; a parent deleted after waits on the lock, then its own check — a new
snapshot per statement in ``READ COMMITTED``; in ``REPEATABLE READ`` the lock itself fails with
a serialisation error — sees the committed children and fails. ``TRUNCATE`` of a parent is not
checked (the application never truncates).

SQLite keeps its native keys (:func:`native_on_sqlite_only`): it checks a row in well under a
microsecond, and has one writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Reference:
    """``table.column`` refers to ``parent.key``; ``on_delete`` as in SQL."""

    table: str
    column: str
    parent: str
    key: str
    on_delete: str = "NO ACTION"

    @property
    def constraint(self) -> str:
        """The native constraint's name (the metadata's naming convention)."""
        return f"fk_{self.table}_{self.column}_{self.parent}"


#: The tables whose keys are checked per statement on PostgreSQL.
BULK_TABLES = ("purchase_lines", "anomalies")

#: Their foreign keys (a test compares this list with the models' metadata).
REFERENCES = (
    Reference("purchase_lines", "import_batch_id", "import_batches", "id", "RESTRICT"),
    Reference("purchase_lines", "site_id", "sites", "id", "RESTRICT"),
    Reference("purchase_lines", "supplier_id", "suppliers", "id"),
    Reference("anomalies", "claimed_by_id", "users", "id"),
    Reference("anomalies", "closed_by_id", "users", "id"),
    Reference("anomalies", "direction_code", "directions", "code"),
    Reference("anomalies", "site_id", "sites", "id", "CASCADE"),
    Reference("anomalies", "supplier_id", "suppliers", "id", "SET NULL"),
)


def native_on_sqlite_only(table: sa.Table) -> None:
    """Create ``table``'s foreign keys in SQLite's DDL only: on PostgreSQL the triggers of
    :func:`trigger_statements` check them (the keys stay in the metadata, for the ORM)."""
    for constraint in table.foreign_key_constraints:
        constraint.ddl_if(dialect="sqlite")


#: Indexes the database has and the metadata does not (their definition differs by dialect:
#: :data:`workbench.rules.search_texts.UNIQUE_INDEX`).
DATABASE_ONLY_INDEXES = frozenset({"ix_anomaly_texts_unique"})
#: Columns (table, column) the database has and the metadata does not (PostgreSQL only:
#: :data:`workbench.rules.search_texts.HAYSTACK`).
DATABASE_ONLY_COLUMNS = frozenset({("anomaly_texts", "haystack")})


def include_object(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: on PostgreSQL the bulk
    tables' keys of the metadata are not constraints of the database (triggers check them), so
    comparing the schema with the models leaves them out; so are, everywhere, the indexes of
    :data:`DATABASE_ONLY_INDEXES` and the columns of :data:`DATABASE_ONLY_COLUMNS`."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "index" and name in DATABASE_ONLY_INDEXES:
            return False
        if type_ == "column" and reflected and (obj.table.name, name) in DATABASE_ONLY_COLUMNS:
            return False
        return not (
            dialect == "postgresql"
            and type_ == "foreign_key_constraint"
            and not reflected
            and obj.table.name in BULK_TABLES
        )

    return include


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raise(message: str, detail: str, reference: Reference, value: str) -> str:
    return (
        "RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', "
        f"MESSAGE = {_literal(message)}, "
        f"DETAIL = format({_literal(detail)}, {value}), "
        f"CONSTRAINT = {_literal(reference.constraint)}, TABLE = {_literal(reference.table)};"
    )


def _child_check(reference: Reference) -> str:
    """Lock the parents of the distinct values of ``new_rows``; raise on the first missing."""
    column, parent, key = reference.column, reference.parent, reference.key
    message = (
        f'insert or update on table "{reference.table}" violates foreign key constraint '
        f'"{reference.constraint}"'
    )
    detail = f'Key ({column})=(%s) is not present in table "{parent}".'
    return (
        f"SELECT v.value::text INTO missing FROM (SELECT DISTINCT {column} AS value "
        f"FROM new_rows WHERE {column} IS NOT NULL) AS v LEFT JOIN LATERAL ("
        f"SELECT 1 AS found FROM {parent} AS p WHERE p.{key} = v.value FOR KEY SHARE OF p"
        ") AS l ON true WHERE l.found IS NULL LIMIT 1;\n"
        f"IF FOUND THEN {_raise(message, detail, reference, 'missing')} END IF;"
    )


def _parent_action(reference: Reference, removed: str) -> str:
    """What removing the keys of ``removed`` (a query of one column ``key``) does to the
    children of ``reference``."""
    table, column = reference.table, reference.column
    if reference.on_delete == "CASCADE":
        return f"DELETE FROM {table} WHERE {column} IN ({removed});"
    if reference.on_delete == "SET NULL":
        return f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({removed});"
    message = (
        f'update or delete on table "{reference.parent}" violates foreign key constraint '
        f'"{reference.constraint}" on table "{table}"'
    )
    detail = f'Key ({reference.key})=(%s) is still referenced from table "{table}".'
    return (
        f"SELECT r.key::text INTO missing FROM ({removed}) AS r WHERE EXISTS ("
        f"SELECT 1 FROM {table} AS c WHERE c.{column} = r.key) LIMIT 1;\n"
        f"IF FOUND THEN {_raise(message, detail, reference, 'missing')} END IF;"
    )


def _parent_restrictive(reference: Reference) -> Reference:
    """A key update is refused while referenced, whatever the delete action (no ON UPDATE)."""
    return Reference(reference.table, reference.column, reference.parent, reference.key)


def _function(name: str, body: list[str]) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE missing text;\nBEGIN\n" + "\n".join(body) + "\nRETURN NULL;\nEND $$"
    )


def _trigger(name: str, event: str, table: str, tables: str, function: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def _parents() -> dict[str, list[Reference]]:
    parents: dict[str, list[Reference]] = {}
    for reference in REFERENCES:
        parents.setdefault(reference.parent, []).append(reference)
    return parents


def trigger_statements(dialect: str) -> list[str]:
    """The DDL of the statement-level keys (PostgreSQL; nothing on SQLite)."""
    if dialect != "postgresql":
        return []
    statements: list[str] = []
    for table in BULK_TABLES:
        checks = [_child_check(r) for r in REFERENCES if r.table == table]
        function = f"bulk_keys_{table}_written"
        statements.append(_function(function, checks))
        for event in ("INSERT", "UPDATE"):
            statements.append(
                _trigger(
                    f"bulk_keys_{table}_{event.lower()}",
                    event,
                    table,
                    "NEW TABLE AS new_rows",
                    function,
                )
            )
    for parent, references in _parents().items():
        key = references[0].key
        deleted = f"SELECT {key} AS key FROM old_rows"
        rekeyed = (
            f"SELECT {key} AS key FROM old_rows WHERE {key} IS NOT NULL "
            f"EXCEPT SELECT {key} FROM new_rows"
        )
        # restrictions first: a refused delete cascades nothing
        ordered = sorted(references, key=lambda r: r.on_delete in ("CASCADE", "SET NULL"))
        statements.append(
            _function(f"bulk_keys_{parent}_deleted", [_parent_action(r, deleted) for r in ordered])
        )
        statements.append(
            _function(
                f"bulk_keys_{parent}_rekeyed",
                [_parent_action(_parent_restrictive(r), rekeyed) for r in references],
            )
        )
        statements.append(
            _trigger(
                f"bulk_keys_{parent}_delete",
                "DELETE",
                parent,
                "OLD TABLE AS old_rows",
                f"bulk_keys_{parent}_deleted",
            )
        )
        statements.append(
            _trigger(
                f"bulk_keys_{parent}_update",
                "UPDATE",
                parent,
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                f"bulk_keys_{parent}_rekeyed",
            )
        )
    return statements


def drop_statements(dialect: str) -> list[str]:
    """Drop what :func:`trigger_statements` created (the functions drop their triggers)."""
    if dialect != "postgresql":
        return []
    functions = [f"bulk_keys_{table}_written" for table in BULK_TABLES]
    for parent in _parents():
        functions += [f"bulk_keys_{parent}_deleted", f"bulk_keys_{parent}_rekeyed"]
    return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in functions]


def create_triggers(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    """``after_create`` of the metadata: databases built from it get the keys too."""
    tables = {r.table for r in REFERENCES} | {r.parent for r in REFERENCES}
    if tables <= set(target.tables):
        for statement in trigger_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)
