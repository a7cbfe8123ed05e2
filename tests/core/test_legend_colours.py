"""Change types are told apart by colour: any two types of a label set differ by a visible margin, those
that share a from-class (same lightness) as much as those that share a to-class (same hue)."""

from __future__ import annotations

import itertools

import pytest

from scd_core.labels import LABEL_SETS
from scd_core.legend import change_types

#: CIE76 distance (CIELAB units) any two fills keep at least; about 2 is just noticeable side by side,
#: and the colours that share a to-class were 4.5 apart.
MIN_DISTANCE = 10.0


def cielab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (D65) to CIELAB."""

    def linear(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    return sum((p - q) ** 2 for p, q in zip(cielab(first), cielab(second), strict=True)) ** 0.5


@pytest.mark.parametrize("name", sorted(LABEL_SETS))
def test_every_two_change_types_have_clearly_different_fills(name):
    types = change_types(LABEL_SETS[name].classes)
    close = [
        (first.label, second.label, round(distance(first.fill, second.fill), 1))
        for first, second in itertools.combinations(types, 2)
        if distance(first.fill, second.fill) < MIN_DISTANCE
    ]
    assert close == []
