"""SECOND's land-cover classes and the 37 from-to change-type codes, as the plugin shows them.

The engine owns the same table (``scd_core.labels``), but the plugin runs in QGIS's Python, which has
neither torch nor the engine, so the little it needs lives here. The codes are the worker protocol's
contract: 0 is "no change", and ``1 + 6*(c1-1) + (c2-1)`` for a change from class c1 to class c2.

The display colours are chosen to read on imagery, not to copy SECOND's label colours (a tree in
SECOND's green vanishes over a forest): the hue says what the land became, the lightness what it was.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class LandCover:
    """One SECOND class: its index in class maps, its name, and the hue that marks a change *to* it."""

    index: int
    name: str
    hue_degrees: float


#: SECOND's classes, 1-6, in the order of the change-type codes.
CLASSES: tuple[LandCover, ...] = (
    LandCover(1, "water", 205),
    LandCover(2, "non-vegetated ground surface", 30),
    LandCover(3, "low vegetation", 58),
    LandCover(4, "tree", 140),
    LandCover(5, "building", 0),
    LandCover(6, "playground", 300),
)
NO_CHANGE = 0
NO_CHANGE_NAME = "no change"
NUM_CLASSES = len(CLASSES)

#: Lightness of a change *from* class 1..6: darker for water, lighter for playground.
_LIGHTNESS = tuple(0.30 + 0.09 * i for i in range(NUM_CLASSES))
_SATURATION = 0.9
_OUTLINE_LIGHTNESS = 0.18


@dataclass(frozen=True)
class ChangeType:
    """One from-to change type: its code, both classes, its legend label and its display colours."""

    code: int
    from_class: LandCover
    to_class: LandCover

    @property
    def label(self) -> str:
        """Legend text, e.g. ``"low vegetation → building"`` (the engine's ``change_type_name``)."""
        return f"{self.from_class.name} → {self.to_class.name}"

    @property
    def fill(self) -> RGB:
        """Fill colour: hue of the class it became, lightness of the class it was."""
        return _hls(self.to_class.hue_degrees, _LIGHTNESS[self.from_class.index - 1])

    @property
    def outline(self) -> RGB:
        """A dark outline in the same hue, so small polygons stay visible on bright imagery."""
        return _hls(self.to_class.hue_degrees, _OUTLINE_LIGHTNESS)


def _hls(hue_degrees: float, lightness: float) -> RGB:
    red, green, blue = colorsys.hls_to_rgb(hue_degrees / 360.0, lightness, _SATURATION)
    return round(red * 255), round(green * 255), round(blue * 255)


def change_code(from_index: int, to_index: int) -> int:
    """Code of the change from class ``from_index`` to class ``to_index`` (both 1..6)."""
    if not (1 <= from_index <= NUM_CLASSES and 1 <= to_index <= NUM_CLASSES):
        raise ValueError(f"classes must be 1..{NUM_CLASSES}, got {from_index} → {to_index}")
    return 1 + NUM_CLASSES * (from_index - 1) + (to_index - 1)


def change_types() -> list[ChangeType]:
    """All 36 change types, in code order (1..36)."""
    return [
        ChangeType(change_code(before.index, after.index), before, after) for before in CLASSES for after in CLASSES
    ]
