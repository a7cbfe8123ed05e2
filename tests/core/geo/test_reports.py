"""preview.png: both dates, the change map, and a legend of the change types shown."""

from __future__ import annotations

import numpy as np
from PIL import Image

from scd_core.geo.reports import LEGEND_ENTRIES, write_preview


def test_the_preview_has_a_legend_of_the_largest_change_types(tmp_path):
    picture = np.zeros((40, 60, 3), np.uint8)
    legend = [(f"type {k} → other", (10 * k, 200, 255 - 10 * k)) for k in range(LEGEND_ENTRIES + 3)]
    write_preview(tmp_path / "preview.png", picture, picture, picture, legend)
    with Image.open(tmp_path / "preview.png") as image:
        pixels = np.asarray(image.convert("RGB"))
    rows = -(-LEGEND_ENTRIES // 3)
    assert pixels.shape[0] == 40 + 28 + rows * 16 and pixels.shape[1] == 3 * 60 + 2 * 8
    swatches = {tuple(p) for p in pixels[40 + 24 :].reshape(-1, 3)}
    assert all(colour in swatches for _, colour in legend[:LEGEND_ENTRIES])
    assert legend[LEGEND_ENTRIES][1] not in swatches  # at most LEGEND_ENTRIES are drawn
