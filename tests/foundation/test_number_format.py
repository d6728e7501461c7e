"""The fast French number formatting writes exactly what Babel writes."""

from __future__ import annotations

import random

import pytest

from workbench.core.formatting import babel_number, format_number


@pytest.mark.parametrize("decimals", [0, 1, 2])
def test_fast_number_format_is_babels(decimals: int) -> None:
    rng = random.Random(12)
    values = [rng.uniform(-1e7, 1e7) for _ in range(3000)]
    values += [rng.uniform(-10, 10) for _ in range(3000)]
    values += [0.005, -0.005, 2.675, 0.125, -0.0, 1e-9, 999.995, 123456789012.345, 1e14, -1e14]
    for value in values:
        rounded = round(value, decimals) or 0.0
        assert format_number(value, decimals) == babel_number(rounded, decimals), value


def test_large_numbers_still_go_through_babel() -> None:
    assert format_number(1e16) == babel_number(1e16, 0)
