"""Fixtures the detection tests share (the helpers are plain functions of ``detect_testing``)."""

from __future__ import annotations

import pytest
import torch
from detect_testing import tiny_checkpoint

from scd_core.synth import write_geo_pair


@pytest.fixture(autouse=True)
def seeded_torch() -> None:
    """Each test starts from torch's seed 0, so an untrained model it builds is the same model in every
    run and what the test asserts of its outputs (changes at a low threshold, say) cannot flake; the
    plugin tests' untrained model once made a flat probability map, unseeded."""
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture(scope="session")
def collared(tmp_path_factory):
    """A 256² uint8 pair on EPSG:32633 with ragged nodata collars on both dates."""
    return write_geo_pair(tmp_path_factory.mktemp("collared"), 256, seed=1, nodata_collar=20)
