"""Rows for the exports, read in batches and within the user's scope."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.db import DialectPredicate
from workbench.exports import purchases
from workbench.records.access import scope_clause
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import Site
from workbench.rules.models import ACTIVE_STATUSES, Anomaly

FETCH = 20_000
_CURSORS = itertools.count()


# -- scope: the one place where export rows are restricted to what the user may see -----------
def scope(stmt: sa.Select, user: User | None, kind: str) -> sa.Select:
    """Restrict ``stmt`` (purchase lines or contracts) to ``user``'s scope (None: the region,
    for the public open-data files). Contracts are open data: the figures scope applies."""
    if user is None:
        return stmt
    return stmt.where(scope_clause(kind, user, figures=kind == "contract"))


@dataclass(frozen=True)
class PurchaseFilter:
    year: int | None = None
    site_id: int | None = None


def _purchase_filters(stmt: sa.Select, filt: PurchaseFilter) -> sa.Select:
    if filt.year is not None:
        stmt = stmt.where(
            PurchaseLine.line_date >= dt.date(filt.year, 1, 1),
            PurchaseLine.line_date < dt.date(filt.year + 1, 1, 1),
        )
    if filt.site_id is not None:
        stmt = stmt.where(PurchaseLine.site_id == filt.site_id)
    return stmt


def _stream(session: Session, stmt: sa.Select) -> Iterator[tuple[Any, ...]]:
    """Rows in batches, through Core (no ORM row processing), in primary-key order (no sort)."""
    result = session.connection().execute(stmt.execution_options(yield_per=FETCH))
    for partition in result.partitions(FETCH):
        yield from partition


#: Dates read as ISO text (``YYYY-MM-DD`` on SQLite and PostgreSQL): no date objects built.
_ISO_DATE = sa.cast(PurchaseLine.line_date, sa.String)

CANONICAL_SELECT = (
    Site.uai,
    _ISO_DATE,
    PurchaseLine.supplier_siret,
    PurchaseLine.supplier_name,
    PurchaseLine.reference,
    PurchaseLine.label,
    PurchaseLine.quantity,
    PurchaseLine.unit,
    PurchaseLine.amount_ht,
    PurchaseLine.family,
    PurchaseLine.labels,
    PurchaseLine.origin,
    PurchaseLine.nomenclature_code,
)


#: First characters a spreadsheet would run as a formula, and the apostrophe itself (see
#: :func:`workbench.core.csvsafe.safe_cell`).
GUARDED_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "'")


class _GuardedPrefix(DialectPredicate):
    """A text starts with a character a spreadsheet would run: SQLite compares its first code
    point (``unicode()``); PostgreSQL its first character (``ascii()`` there would fail
    on a multi-byte character in a database encoded otherwise than UTF-8)."""

    inherit_cache = False

    def __init__(self, column: Any) -> None:
        self.column = column


@compiles(_GuardedPrefix)
def _guarded_prefix_sqlite(element: _GuardedPrefix, compiler: Any, **kw: Any) -> str:
    # the first code point (NULL for '' or NULL), an integer compared: substr(x, 1, 1) made a
    # string of each cell (the seven guarded columns: ~0.5 s a million lines)
    codes = [ord(prefix) for prefix in GUARDED_PREFIXES]
    return compiler.process(sa.func.unicode(element.column).in_(codes), **kw)


@compiles(_GuardedPrefix, "postgresql")
def _guarded_prefix_postgresql(element: _GuardedPrefix, compiler: Any, **kw: Any) -> str:
    first = sa.func.substr(element.column, 1, 1)
    return compiler.process(first.in_(GUARDED_PREFIXES), **kw)


def guarded(column: Any) -> Any:
    """SQL twin of :func:`workbench.core.csvsafe.safe_cell` for a text column (the database
    prefixes the apostrophe: no per-cell Python work). NULL stays NULL."""
    return sa.case((_GuardedPrefix(column), sa.literal("'") + column), else_=column)


#: The canonical columns as the export writes them: text cells guarded in SQL, dates as ISO
#: text; quantity and amount stay numbers (formatted per chunk by
#: :func:`workbench.exports.purchases.canonical_chunk`).
CANONICAL_EXPORT_SELECT = (
    Site.uai,
    _ISO_DATE,
    PurchaseLine.supplier_siret,
    guarded(PurchaseLine.supplier_name),
    guarded(PurchaseLine.reference),
    guarded(PurchaseLine.label),
    PurchaseLine.quantity,
    guarded(PurchaseLine.unit),
    # a double, as the ORM reads it (no Decimal built per row on PostgreSQL)
    sa.cast(PurchaseLine.amount_ht, sa.Float),
    PurchaseLine.family,
    PurchaseLine.labels,
    guarded(PurchaseLine.origin),
    guarded(PurchaseLine.nomenclature_code),
)


def raw_chunks(session: Session, stmt: sa.Select, size: int = FETCH) -> Iterator[list[tuple]]:
    """The rows of ``stmt`` in lists of ``size``, straight from the DBAPI cursor (no row objects).

    Flat memory: on PostgreSQL a server-side (named) cursor, on SQLite the cursor steps
    through the result. Runs in the session's transaction (same snapshot as the count).
    """
    connection = session.connection()
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if dialect.name == "sqlite":  # the sqlite3 date adapter is deprecated: pass ISO text
        params = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
    args: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if dialect.name == "postgresql":
        cursor = raw.cursor(name=f"workbench_export_{id(stmt)}_{next(_CURSORS)}")
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(compiled.string, args)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def canonical_chunks(
    session: Session, user: User | None, filt: PurchaseFilter = PurchaseFilter(), size: int = FETCH
) -> Iterator[list[tuple]]:
    """The canonical export rows (:data:`CANONICAL_EXPORT_SELECT`) in chunks of ``size``."""
    return raw_chunks(session, _chunks_select(user, filt), size)


def _chunks_select(user: User | None, filt: PurchaseFilter) -> Any:
    stmt = (
        sa.select(*CANONICAL_EXPORT_SELECT)
        .join(Site, Site.id == PurchaseLine.site_id)
        .order_by(PurchaseLine.id)
    )
    return _purchase_filters(scope(stmt, user, "purchase_line"), filt)


# -- PostgreSQL: the canonical CSV written by the server (``COPY … TO STDOUT``) -----------------
#: Quantities from which PostgreSQL's text of a double differs from Python's: a fraction at
#: 10¹⁵ or more (PostgreSQL switches to an exponent one power of ten before ``repr``), a whole
#: number beyond ``bigint``, NaN and infinity (PostgreSQL sorts NaN above every number).
_COPY_UNSAFE_QUANTITY = sa.and_(
    PurchaseLine.quantity >= 1e15,
    sa.or_(
        PurchaseLine.quantity >= 9e18,
        PurchaseLine.quantity != sa.func.trunc(PurchaseLine.quantity),
    ),
)


def _blank_null(column: Any) -> Any:
    """NULL for an empty text: PostgreSQL writes ``""`` for an empty string, :mod:`csv` an
    empty cell (as for NULL)."""
    return sa.func.nullif(column, "")


def _copy_quantity() -> Any:
    """The quantity as :func:`workbench.exports.purchases.canonical_chunk` writes it: a whole
    number as an integer, any other as its shortest round-trip text (``repr``; PostgreSQL's
    too, with ``extra_float_digits`` ≥ 1) — outside :data:`_COPY_UNSAFE_QUANTITY`."""
    quantity = PurchaseLine.quantity
    return sa.case(
        (quantity == sa.func.trunc(quantity), sa.cast(sa.cast(quantity, sa.BigInteger), sa.Text)),
        else_=sa.cast(quantity, sa.Text),
    )


#: :data:`CANONICAL_EXPORT_SELECT` as text cells, formatted by PostgreSQL the way
#: :func:`workbench.exports.purchases.canonical_chunk` and :mod:`csv` write them (the amount
#: is ``numeric(14, 2)``: its text has the two decimals of ``f"{amount:.2f}"``).
CANONICAL_COPY_SELECT = (
    _blank_null(Site.uai),
    _blank_null(_ISO_DATE),
    _blank_null(PurchaseLine.supplier_siret),
    _blank_null(guarded(PurchaseLine.supplier_name)),
    _blank_null(guarded(PurchaseLine.reference)),
    _blank_null(guarded(PurchaseLine.label)),
    _copy_quantity(),
    _blank_null(guarded(PurchaseLine.unit)),
    sa.cast(PurchaseLine.amount_ht, sa.Text),
    _blank_null(PurchaseLine.family),
    _blank_null(PurchaseLine.labels),
    _blank_null(guarded(PurchaseLine.origin)),
    _blank_null(guarded(PurchaseLine.nomenclature_code)),
)


def _canonical_select(columns: tuple[Any, ...], user: User | None, filt: PurchaseFilter) -> Any:
    stmt = sa.select(*columns).select_from(PurchaseLine).join(Site, Site.id == PurchaseLine.site_id)
    return _purchase_filters(scope(stmt, user, "purchase_line"), filt)


def copy_applies(session: Session, user: User | None, filt: PurchaseFilter) -> bool:
    """Whether :func:`_copied` writes the bytes of the Python path: PostgreSQL, and no
    quantity in scope where the two texts of a double differ (one indexed-free scan)."""
    return _copy_applies(session, _unsafe_select(user, filt))


def _unsafe_select(user: User | None, filt: PurchaseFilter) -> Any:
    unsafe = _canonical_select((sa.literal(1),), user, filt).where(_COPY_UNSAFE_QUANTITY)
    return sa.select(sa.exists(unsafe))


def _copy_applies(session: Session, unsafe: Any) -> bool:
    if session.connection().dialect.name != "postgresql":
        return False
    return not session.scalar(unsafe)


def _copy_select(user: User | None, filt: PurchaseFilter) -> Any:
    return _canonical_select(CANONICAL_COPY_SELECT, user, filt).order_by(PurchaseLine.id)


def _copied(session: Session, stmt: Any, rows: int = FETCH) -> Iterator[tuple[int, bytes]]:
    """The canonical CSV rows (no header) as PostgreSQL writes them, in blocks of up to
    ``rows`` rows (``(rows in the block, its bytes)``), with the ``\r\n`` line ends of
    :mod:`csv`: the server ends each row with ``\n``, one message per row. A block without a
    line break inside a cell (they all are, but for a rare one) has its ``\n`` replaced in one
    pass; another, row by row (a line break inside a quoted cell stays as it is, as with
    :mod:`csv`).

    Same transaction as the session (same snapshot as the count); call only where
    :func:`copy_applies`.
    """
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor:
        # the shortest round-trip text of a double (the default since PostgreSQL 12)
        cursor.execute("SET LOCAL extra_float_digits = 1")
        sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)"
        with cursor.copy(sql, compiled.construct_params()) as copy:
            block: list[Any] = []
            for data in copy:
                block.append(data)
                if len(block) >= rows:
                    yield len(block), _crlf(block)
                    block.clear()
            if block:
                yield len(block), _crlf(block)


def _crlf(messages: list[Any]) -> bytes:
    """The rows of ``messages`` (one CSV row each, ending with ``\n``) ending with ``\r\n``."""
    joined = b"".join(messages)
    if joined.count(b"\n") == len(messages):
        return joined.replace(b"\n", b"\r\n")
    if any(bytes(row[-1:]) != b"\n" for row in messages):  # pragma: no cover - by protocol
        raise RuntimeError("COPY : une ligne CSV attendue par message")
    return b"".join(bytes(row[:-1]) + b"\r\n" for row in messages)


def canonical_rows(
    session: Session, user: User | None, filt: PurchaseFilter = PurchaseFilter()
) -> Iterator[tuple[Any, ...]]:
    stmt = (
        sa.select(*CANONICAL_SELECT)
        .join(Site, Site.id == PurchaseLine.site_id)
        .order_by(PurchaseLine.id)
    )
    return _stream(session, _purchase_filters(scope(stmt, user, "purchase_line"), filt))


MACANTINE_SELECT = (
    Site.siret,
    PurchaseLine.label,
    PurchaseLine.supplier_name,
    _ISO_DATE,
    PurchaseLine.amount_ht,
    PurchaseLine.family,
    PurchaseLine.labels,
    PurchaseLine.origin,
    PurchaseLine.is_short_circuit,
    PurchaseLine.is_local,
    PurchaseLine.local_definition,
    PurchaseLine.local_km,
)


def _is_local() -> Any:
    return sa.or_(
        PurchaseLine.is_local.is_(True),
        (sa.literal(",") + PurchaseLine.labels + sa.literal(",")).like("%,LOCAL,%"),
    )


def _macantine_withheld() -> Any:
    """Lines ma cantine cannot take: lycée without SIRET, local without its definition."""
    return sa.or_(
        Site.siret.is_(None), sa.and_(_is_local(), PurchaseLine.local_definition.is_(None))
    )


def macantine_rows(
    session: Session, user: User | None, filt: PurchaseFilter = PurchaseFilter()
) -> Iterator[tuple[Any, ...]]:
    stmt = (
        sa.select(*MACANTINE_SELECT)
        .join(Site, Site.id == PurchaseLine.site_id)
        .where(sa.not_(_macantine_withheld()))
        .order_by(PurchaseLine.id)
    )
    return _stream(session, _purchase_filters(scope(stmt, user, "purchase_line"), filt))


def macantine_withheld(
    session: Session, user: User | None, filt: PurchaseFilter = PurchaseFilter()
) -> list[dict[str, Any]]:
    """Per lycée and reason, the lines left out of the ma-cantine export, with a French message."""
    no_siret = sa.case((Site.siret.is_(None), 1), else_=0).label("no_siret")
    stmt = (
        sa.select(Site.uai, Site.name, no_siret, sa.func.count().label("lines"))
        .select_from(PurchaseLine)
        .join(Site, Site.id == PurchaseLine.site_id)
        .where(_macantine_withheld())
        .group_by(Site.uai, Site.name, no_siret)
        .order_by(Site.uai)
    )
    stmt = _purchase_filters(scope(stmt, user, "purchase_line"), filt)
    rows = []
    for uai, name, missing_siret, lines in session.execute(stmt):
        reason = (
            "le lycée n'a pas de SIRET (ma cantine identifie la cantine par son SIRET) : "
            "renseignez-le dans le référentiel des lycées"
            if missing_siret
            else "produit déclaré local sans définition de « local » (definition_local)"
        )
        rows.append(
            {
                "uai": uai,
                "name": name,
                "lines": lines,
                "reason": reason,
                "message": f"{lines} ligne(s) du lycée {name} ({uai}) non exportée(s) : {reason}.",
            }
        )
    return rows


def sites_without_siret(session: Session, user: User | None) -> list[tuple[str, str]]:
    """(UAI, name) of the lycées in scope that have no SIRET."""
    stmt = sa.select(Site.uai, Site.name).where(Site.siret.is_(None)).order_by(Site.uai)
    if user is not None and user.role == Role.CANTEEN:
        stmt = stmt.where(Site.id.in_(user.site_ids or {-1}))
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def count_lines(session: Session, user: User | None, filt: PurchaseFilter) -> int:
    stmt = sa.select(sa.func.count()).select_from(PurchaseLine)
    return int(session.scalar(_purchase_filters(scope(stmt, user, "purchase_line"), filt)) or 0)


# -- contracts ------------------------------------------------------------------------------------
def contract_rows(
    session: Session, user: User | None
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    columns = [
        c
        for c in Contract.__table__.columns
        if c.name not in ("import_batch_id", "source_row", "schema_errors")
    ]
    stmt = sa.select(*columns).order_by(Contract.buyer_id, Contract.contract_id)
    contracts = [dict(r._mapping) for r in session.execute(scope(stmt, user, "contract"))]
    holders: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = {c["id"] for c in contracts}
    for row in session.execute(
        sa.select(
            ContractHolder.contract_id,
            ContractHolder.role,
            ContractHolder.position,
            ContractHolder.id_type,
            ContractHolder.identifier,
        ).where(ContractHolder.contract_id.in_(scope(sa.select(Contract.id), user, "contract")))
    ):
        if row.contract_id in ids:
            holders[row.contract_id].append(dict(row._mapping))
    return contracts, holders


def blocking_anomalies(session: Session) -> dict[int, list[str]]:
    """Contract id → rule codes of its open (active) blocking anomalies."""
    found: dict[int, list[str]] = defaultdict(list)
    stmt = sa.select(Anomaly.record_id, Anomaly.rule_code).where(
        Anomaly.record_kind == "contract",
        Anomaly.severity == "blocking",
        Anomaly.status.in_(ACTIVE_STATUSES),
    )
    for record_id, rule_code in session.execute(stmt):
        found[record_id].append(rule_code)
    return found


class CanonicalExport:
    """The canonical CSV export in UTF-8 blocks, header first (with a BOM if ``bom``).

    On PostgreSQL the server writes the rows (:func:`_copied`), where :func:`copy_applies`;
    elsewhere, and for the rare quantity it would write otherwise, :mod:`csv` writes the
    chunks read from the cursor — the same bytes either way. :attr:`rows` counts the rows
    written so far.
    """

    def __init__(
        self, session: Session, user: User | None, filt: PurchaseFilter, bom: bool = True
    ) -> None:
        self.session, self.bom = session, bom
        self.rows = 0
        # the statements are made now: a streamed response reads its rows once the view has
        # returned, in a session of its own, where the request's user is no longer bound
        self._unsafe = _unsafe_select(user, filt)
        self._copy = _copy_select(user, filt)
        self._chunks = _chunks_select(user, filt)

    def __iter__(self) -> Iterator[bytes]:
        if not _copy_applies(self.session, self._unsafe):
            for text in purchases.canonical_csv(self._counted(), bom=self.bom):
                yield text.encode("utf-8")
            return
        header = purchases.chunked_csv(purchases.CANONICAL_COLUMNS, (), bom=self.bom)
        yield "".join(header).encode("utf-8")
        for count, block in _copied(self.session, self._copy):
            self.rows += count
            yield block

    def _counted(self) -> Iterator[list[tuple]]:
        for chunk in raw_chunks(self.session, self._chunks):
            self.rows += len(chunk)
            yield chunk
