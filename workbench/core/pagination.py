"""One pagination: a :class:`Page` of a list, built by offset (:func:`paginate`, small lists) or
by keyset (:meth:`Page.keyset`, the anomaly queues on their partial indexes), shown by the one
pager macro (``templates/_pager.html``). Every list reads its length from ``PAGE_SIZE``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import Session

from workbench.core.formatting import format_number

#: The query-string names of the page number and of the keyset cursor.
PAGE_ARG = "page"
CURSOR_ARG = "apres"
#: The largest page a request may ask for (``PAGE_SIZE`` is the default).
MAX_PAGE = 100_000


def page_size() -> int:
    """The configured page length (``PAGE_SIZE``), at least 1."""
    return max(int(current_app.config["PAGE_SIZE"]), 1)


def page_number(args: Mapping[str, Any] | None = None) -> int:
    """The 1-based page number asked for (``?page=``); anything else than a number → 1."""
    raw = str((request.args if args is None else args).get(PAGE_ARG, "") or "").strip()
    if not raw.isdigit():
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def window(stmt: sa.Select, page: int, per_page: int) -> sa.Select:
    """``stmt`` limited to the rows of page ``page`` (OFFSET … LIMIT …)."""
    return stmt.offset((max(page, 1) - 1) * per_page).limit(per_page)


@dataclass
class Page:
    """One page of a list: its items, the list's total and where the page stands.

    ``capped``: the total stopped counting (« 10 000+ »). ``next_cursor``: the keyset cursor of
    the following page (``apres``), when the list pages by keyset.
    """

    items: list[Any]
    total: int
    page: int
    per_page: int
    capped: bool = False
    next_cursor: str | None = None

    @classmethod
    def of(cls, items: Sequence[Any], total: int, page: int, per_page: int) -> Page:
        """A page of a list counted elsewhere (a capped total keeps its ``capped`` flag)."""
        return cls(
            list(items), int(total), max(page, 1), per_page, bool(getattr(total, "capped", False))
        )

    @classmethod
    def keyset(
        cls,
        items: Sequence[Any],
        total: int,
        page: int,
        per_page: int,
        next_cursor: str | None,
    ) -> Page:
        """A page read by keyset: ``next_cursor`` starts the next one (``?apres=``)."""
        built = cls.of(items, total, page, per_page)
        built.next_cursor = next_cursor if built.has_next else None
        return built

    @classmethod
    def from_list(cls, rows: Sequence[Any], page: int, per_page: int) -> Page:
        """A page of a list already in memory (a few hundred rows at most)."""
        page = max(page, 1)
        start = (page - 1) * per_page
        return cls(list(rows[start : start + per_page]), len(rows), page, per_page)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def pages(self) -> int:
        """How many pages (at least 1); with a capped total, the pages counted so far."""
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if len(self.items) < self.per_page:
            return False
        return self.capped or self.page * self.per_page < self.total

    @property
    def total_label(self) -> str:
        return format_number(self.total) + ("+" if self.capped else "")

    @property
    def summary(self) -> str:
        """« 51–100 sur 1 234 » (« 10 000+ » when the count stopped), « Aucun élément »."""
        if not self.items:
            return "Aucun élément" if self.page == 1 else "Plus rien sur cette page"
        return f"{format_number(self.first)}–{format_number(self.last)} sur {self.total_label}"

    def link_args(self, target: int, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The query string of page ``target`` keeping the current filters and sort (``args``,
        else the request's): the keyset cursor rides along to the next page only."""
        base = {k: v for k, v in (request.args if args is None else args).items()}
        base.pop(CURSOR_ARG, None)
        base[PAGE_ARG] = target
        if target == self.page + 1 and self.next_cursor:
            base[CURSOR_ARG] = self.next_cursor
        return base


def paginate(
    session: Session,
    stmt: sa.Select,
    page: int | None = None,
    per_page: int | None = None,
    *,
    scalars: bool = True,
) -> Page:
    """One page of ``stmt`` by OFFSET (the ``db.paginate`` of a small list): a COUNT of the
    statement, then its rows of page ``page`` (the request's, by default) of ``per_page``
    (``PAGE_SIZE``). ``scalars=False`` keeps whole rows (several columns)."""
    page = page_number() if page is None else max(page, 1)
    per_page = page_size() if per_page is None else per_page
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    result = session.execute(window(stmt, page, per_page))
    items = list(result.scalars() if scalars else result.all())
    return Page(items, int(total or 0), page, per_page)
