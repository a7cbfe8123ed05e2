"""preview.png: both dates, the change map, and a legend of the change types shown."""

from __future__ import annotations

import numpy as np
from PIL import Image

from scd_core.geo.reports import LEGEND_ENTRIES, write_preview
from scd_core.labels import CLASSES
from scd_core.legend import change_types

PICTURE = np.zeros((40, 60, 3), np.uint8)


def legend_swatches(path) -> set[tuple[int, int, int]]:
    """The colours drawn below the three pictures."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    return {tuple(int(v) for v in p) for p in pixels[PICTURE.shape[0] + 24 :].reshape(-1, 3)}


def test_the_preview_lists_every_change_type_on_the_map(tmp_path):
    legend = [(change.label, change.fill) for change in change_types(CLASSES)]  # all 36 of SECOND
    write_preview(tmp_path / "preview.png", PICTURE, PICTURE, PICTURE, legend)
    assert {colour for _, colour in legend} <= legend_swatches(tmp_path / "preview.png")


def test_beyond_its_capacity_the_legend_lists_the_largest_types(tmp_path):
    legend = [(f"type {k} → other", (k, 200, 255 - k)) for k in range(LEGEND_ENTRIES + 3)]
    write_preview(tmp_path / "preview.png", PICTURE, PICTURE, PICTURE, legend)
    swatches = legend_swatches(tmp_path / "preview.png")
    assert all(colour in swatches for _, colour in legend[:LEGEND_ENTRIES])
    assert not any(colour in swatches for _, colour in legend[LEGEND_ENTRIES:])
