"""Helpers of the series tests: a model that sees no change between identical images, and dated rasters."""

from __future__ import annotations

import shutil
from pathlib import Path

import rasterio
import torch

from scd_core import checkpoint
from scd_core.models import build
from scd_core.synth import write_geo_pair


def copy_checkpoint(path: Path) -> Path:
    """An untrained HRSCD str1 (width 4), which calls a pixel changed exactly where its two dates' land
    covers differ, so two identical images never change; its classifier sharpened (×50, no bias) so
    the land covers of two different images differ in places."""
    torch.manual_seed(2)
    model = build("hrscd_str1", width=4)
    with torch.no_grad():
        model.semantic.classifier.bias.zero_()
        model.semantic.classifier.weight.mul_(50)
    return checkpoint.save(model, path, tile_size=128)


def three_dates(folder: Path) -> list[Path]:
    """Three 128² rasters of one grid: a synthetic pair, and a copy of its second date."""
    pair = write_geo_pair(folder, 128, seed=1, keep_scene=False)
    copy = folder / "copy.tif"
    shutil.copy(pair.after, copy)
    return [pair.before, pair.after, copy]


def tagged(source: Path, target: Path, **tags: str) -> Path:
    """A copy of ``source`` with ``tags`` in GDAL's default domain."""
    shutil.copy(source, target)
    with rasterio.open(target, "r+") as dataset:
        dataset.update_tags(**tags)
    return target
