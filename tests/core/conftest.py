"""Fixtures the detection tests share (the helpers are plain functions of ``detect_testing``)."""

from __future__ import annotations

import os

import pytest
from detect_testing import tiny_checkpoint

from scd_core.synth import write_geo_pair


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture(scope="session")
def collared(tmp_path_factory):
    """A 256² uint8 pair on EPSG:32633 with ragged nodata collars on both dates."""
    return write_geo_pair(tmp_path_factory.mktemp("collared"), 256, seed=1, nodata_collar=20)


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """The ONNX exports that ``--runtime auto`` caches go to a folder of the test session, not the
    user's ~/.cache (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("scd-cache")
    previous = os.environ.get("SCD_CACHE_DIR")
    os.environ["SCD_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["SCD_CACHE_DIR"]
    else:
        os.environ["SCD_CACHE_DIR"] = previous
