"""``workbench.db.planner_setting``: a planner setting for the statements of a block only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.db import planner_setting


def _setting(session) -> str:  # type: ignore[no-untyped-def]
    return session.execute(sa.text("SELECT current_setting('enable_sort')")).scalar_one()


def test_the_setting_holds_in_the_block_and_is_put_back(session) -> None:  # type: ignore[no-untyped-def]
    if session.connection().dialect.name != "postgresql":
        with planner_setting(session, "enable_sort", "off"):
            assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
        return
    assert _setting(session) == "on"
    with planner_setting(session, "enable_sort", "off"):
        assert _setting(session) == "off"
    assert _setting(session) == "on"
    with pytest.raises(ZeroDivisionError), planner_setting(session, "enable_sort", "off"):
        1 / 0  # noqa: B018
    assert _setting(session) == "on"


def test_a_failed_statement_raises_its_own_error(session) -> None:  # type: ignore[no-untyped-def]
    with (
        pytest.raises(sa.exc.DBAPIError, match="no_such_table"),
        session.begin_nested(),
        planner_setting(session, "enable_sort", "off"),
    ):
        session.execute(sa.text("SELECT * FROM no_such_table"))
    if session.connection().dialect.name == "postgresql":
        assert _setting(session) == "on"  # the savepoint's rollback ended it
