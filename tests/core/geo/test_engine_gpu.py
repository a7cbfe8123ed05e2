"""The engine on a CUDA device: AMP, pinned host memory, and the CPU's answer. Skipped without CUDA."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import torch

import scd_core
from scd_core.geo import engine, rasters
from scd_core.geo.grid import TilePlan
from scd_core.normalise import make_normaliser

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_batches_for_a_gpu_come_in_pinned_memory(collared):
    with rasterio.open(collared.before) as before, rasterio.open(collared.after) as after:
        grid = rasters.output_grid(before, after, (collared.before, collared.after))
        readers = tuple(rasters.WindowReader(d, [1, 2, 3], grid, d.name, "date") for d in (before, after))
        normaliser = make_normaliser({"value_range": [0, 255], "mean": [0] * 3, "std": [255] * 3}, "none", "uint8")
        tiles = list(TilePlan.build(grid.height, grid.width, 128, 32).tiles())[:2]
        batch = engine._read_batch(tiles, readers, (normaliser, normaliser), pin=True)
    assert all(tensor.is_pinned() for tensor in batch)


def test_a_gpu_run_uses_amp_and_agrees_with_the_cpu(tmp_path, collared, ckpt):
    options = {"tile": 128, "overlap": 32}
    gpu = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "gpu", device="cuda", **options)
    cpu = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "cpu", device="cpu", **options)
    run = json.loads(gpu.outputs["run"].read_text())
    assert run["options"]["amp"] is True and run["options"]["device"].startswith("cuda")
    with rasterio.open(gpu.outputs["change_type"]) as a, rasterio.open(cpu.outputs["change_type"]) as b:
        agreement = np.mean(a.read(1) == b.read(1))
    assert agreement >= 0.99  # half precision moves only near-ties
