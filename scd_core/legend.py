"""Land-cover classes and from-to change types as they are coded, named and drawn: the one legend.

Pure standard-library Python, because two programs share this file: the engine (``scd_core``) and
the QGIS plugin, which runs in QGIS's own Python without the engine and reads this very file
(``qgis_scd_plugin/shared.py``; ``make plugin`` copies it into the plugin). So the GeoTIFF colour tables,
``preview.png`` and the QGIS styles cannot disagree on a code, a name or a colour.

Codes
    0 is "no change"; a change from class ``c1`` to class ``c2`` (both 1..N) is ``1 + N·(c1-1) + (c2-1)``:
    N² ordered pairs, so a building demolished and rebuilt (5 → 5 in SECOND) has its own code, as
    SECOND annotates it. With SECOND's six classes the codes run 0..36.
Colours
    Chosen to read on imagery, not to copy the label colours (a tree in SECOND's green vanishes over a
    forest): the **hue** says what the land became, the **lightness** what it was. SECOND's classes
    have hues chosen by hand; other label sets (e.g. Landsat-SCD's four classes) get hues spread
    evenly around the colour circle. From-classes alternate between vivid and muted: in even steps of
    lightness alone, a saturated hue barely changes around mid-lightness (low vegetation → playground
    and tree → playground were 4.5 CIELAB units apart); with it, any two of SECOND's 36 types are at
    least 14 apart.
Change only
    A model that tells change from no change alone (a checkpoint of task ``change``) has two
    categories, :data:`CHANGE_CLASSES`: 0 "no change" and 1 "change", drawn in one red that reads on
    imagery of any land cover.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass

RGB = tuple[int, int, int]

NO_CHANGE = 0
NO_CHANGE_NAME = "no change"
#: Largest class count whose change codes (1..N²) fit a uint8 raster beside its nodata value 255.
MAX_CLASSES = 15


@dataclass(frozen=True)
class LandCover:
    """One class: its index in class maps (0 is "no change"), its name, its colour in RGB label
    images, and the hue (degrees) that marks a change *to* it."""

    index: int
    name: str
    rgb: RGB
    hue: float


#: SECOND's classes in the order used across the literature, with "no change" at index 0.
SECOND_CLASSES: tuple[LandCover, ...] = (
    LandCover(0, NO_CHANGE_NAME, (255, 255, 255), 0.0),
    LandCover(1, "water", (0, 0, 255), 205.0),
    LandCover(2, "non-vegetated ground surface", (128, 128, 128), 30.0),
    LandCover(3, "low vegetation", (0, 128, 0), 58.0),
    LandCover(4, "tree", (0, 255, 0), 140.0),
    LandCover(5, "building", (128, 0, 0), 0.0),
    LandCover(6, "playground", (255, 0, 0), 300.0),
)

_SATURATION = 0.9
_OUTLINE_LIGHTNESS = 0.18
#: Lightness of the fills of the first and the last from-class, and their saturations, odd and even.
_DARKEST, _LIGHTEST = 0.24, 0.78
_VIVID, _MUTED = 1.0, 0.4


def spread_hues(count: int) -> list[float]:
    """``count`` hues (degrees) spread evenly around the colour circle."""
    return [360.0 * i / count for i in range(count)]


def spread_colours(count: int) -> list[RGB]:
    """``count`` saturated colours of evenly spread hues: label colours for a label set that has none."""
    return [_hls(hue, 0.5) for hue in spread_hues(count)]


def land_covers(names: Sequence[str], colours: Sequence[Sequence[int]]) -> tuple[LandCover, ...]:
    """The classes of a label set (names and label colours, "no change" first) with their hues:
    SECOND's hand-chosen hues when the set is SECOND's, else hues spread evenly."""
    if list(names) == [c.name for c in SECOND_CLASSES]:
        hues = [c.hue for c in SECOND_CLASSES]
    else:
        hues = [0.0, *spread_hues(len(names) - 1)]
    return tuple(
        LandCover(i, name, (int(colour[0]), int(colour[1]), int(colour[2])), hue)
        for i, (name, colour, hue) in enumerate(zip(names, colours, hues, strict=True))
    )


#: The categories of a change-only model (checkpoint task ``change``): "no change" and "change". Its
#: "change" is its single class, so codes and class maps need nothing of their own: code 1 is change.
CHANGE_NAME = "change"
CHANGE_CLASSES: tuple[LandCover, ...] = (
    LandCover(0, NO_CHANGE_NAME, (255, 255, 255), 0.0),
    LandCover(1, CHANGE_NAME, (216, 24, 24), 0.0),
)

#: SECOND's land-cover classes, without "no change".
SECOND_NUM_CLASSES = len(SECOND_CLASSES) - 1


def change_code(from_index: int, to_index: int, num_classes: int = SECOND_NUM_CLASSES) -> int:
    """Code of the change from class ``from_index`` to class ``to_index`` (both 1..num_classes)."""
    if not (1 <= from_index <= num_classes and 1 <= to_index <= num_classes):
        raise ValueError(f"classes must be 1..{num_classes}, got {from_index} → {to_index}")
    return 1 + num_classes * (from_index - 1) + (to_index - 1)


def split_change_code(code: int, num_classes: int = SECOND_NUM_CLASSES) -> tuple[int, int]:
    """``(from_class, to_class)`` of a change code; ``(0, 0)`` for no change."""
    if not 0 <= code <= num_classes * num_classes:
        raise ValueError(f"change code {code} is outside 0..{num_classes * num_classes}")
    if code == NO_CHANGE:
        return 0, 0
    return 1 + (code - 1) // num_classes, 1 + (code - 1) % num_classes


def _hls(hue: float, lightness: float, saturation: float = _SATURATION) -> RGB:
    red, green, blue = colorsys.hls_to_rgb(hue / 360.0, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


@dataclass(frozen=True)
class ChangeType:
    """One from-to change type: its code, both classes, its legend label and its display colours."""

    code: int
    from_class: LandCover
    to_class: LandCover
    num_classes: int

    @property
    def label(self) -> str:
        """Legend text, e.g. ``"low vegetation → building"``."""
        return f"{self.from_class.name} → {self.to_class.name}"

    @property
    def fill(self) -> RGB:
        """Fill colour: hue of the class it became, lightness of the class it was (darkest for class 1),
        vivid for odd classes and muted for even ones."""
        step = (_LIGHTEST - _DARKEST) / max(self.num_classes - 1, 1)
        saturation = _VIVID if self.from_class.index % 2 else _MUTED
        return _hls(self.to_class.hue, _DARKEST + step * (self.from_class.index - 1), saturation)

    @property
    def outline(self) -> RGB:
        """A dark outline in the same hue, so small polygons stay visible on bright imagery."""
        return _hls(self.to_class.hue, _OUTLINE_LIGHTNESS)


def change_types(classes: Sequence[LandCover] = SECOND_CLASSES) -> list[ChangeType]:
    """Every change type of ``classes`` ("no change" first, then 1..N), in code order (1..N²)."""
    changed = classes[1:]
    n = len(changed)
    return [ChangeType(change_code(a.index, b.index, n), a, b, n) for a in changed for b in changed]


def change_type_names(classes: Sequence[LandCover] = SECOND_CLASSES) -> list[str]:
    """Names of codes 0..N², in code order: "no change", then "from → to"."""
    return [classes[0].name, *(change.label for change in change_types(classes))]
