"""Bad values and bad files are refused before any work: exit 2, the option or file named, nothing
written, no raw Python warning, and, where no model is needed to tell, before torch is imported."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import rasterio
import torch
from detect_testing import REPO, scd_command

from scd_core.cli import main
from scd_core.synth import write_geo_pair


def _raster(path, data, nodata=None):
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": data.dtype.name, "crs": "EPSG:32633", "nodata": nodata,
               "transform": rasterio.transform.from_origin(500000, 5800000, 0.5, 0.5)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("refusals")
    pair = write_geo_pair(root / "pair", 128, seed=3, origin=(500000.0, 5800000.0))
    half = np.full((3, 128, 128), 100, np.uint8)
    left, right = half.copy(), half.copy()
    left[:, :, 64:], right[:, :, :64] = 0, 0
    truncated = root / "truncated.tif"
    truncated.write_bytes(pair.before.read_bytes()[: pair.before.stat().st_size // 2])
    foreign = root / "foreign.pt"
    torch.save({"layer": torch.nn.Linear(2, 2)}, foreign)
    header_only = root / "pairs.csv"
    header_only.write_text("id,before,after\n")
    return {
        "before": pair.before,
        "after": pair.after,
        "nan": _raster(root / "nan.tif", np.full((3, 128, 128), np.nan, np.float32)),
        "nodata": _raster(root / "nodata.tif", np.zeros((3, 128, 128), np.uint8), nodata=0),
        "left": _raster(root / "left.tif", left, nodata=0),
        "right": _raster(root / "right.tif", right, nodata=0),
        "truncated": truncated,
        "foreign": foreign,
        "pairs": header_only,
    }


CASES = {
    "tile 0": (["{before}", "{after}", "--tile", "0"], "--tile"),
    "batch 0": (["{before}", "{after}", "--batch", "0"], "--batch"),
    "overlap over the tile": (["{before}", "{after}", "--tile", "128", "--overlap", "128"], "--overlap"),
    "threshold over 1": (["{before}", "{after}", "--threshold", "1.5"], "--threshold"),
    "empty out dir": (["{before}", "{after}", "-o", ""], "-o/--out-dir"),
    "all NaN": (["{nan}", "{after}"], "{nan}"),
    "all nodata": (["{before}", "{nodata}"], "{nodata}"),
    "no valid pixel in common": (["{left}", "{right}"], "no valid pixel in common"),
    "not an scd checkpoint": (["{before}", "{after}", "--model", "{foreign}"], "{foreign}: not an scd checkpoint"),
    "truncated raster": (["{truncated}", "{after}"], "{truncated}: BEFORE cannot be decoded"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_value_or_file_exits_2_naming_it_and_writes_nothing(case, files, ckpt, tmp_path, capsys, monkeypatch):
    template, named = CASES[case]
    args = [a.format(**files) for a in template]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    if "--model" not in args:
        args += ["--model", str(ckpt)]
    monkeypatch.chdir(tmp_path)
    code = main(["detect", *args, "--progress", "none"])
    error = capsys.readouterr().err
    assert code == 2, error
    assert named.format(**files) in error
    assert "Traceback" not in error and "Warning" not in error and "See previous exception" not in error
    assert list(tmp_path.iterdir()) == []


def test_a_header_only_pairs_file_is_refused_as_such(files, tmp_path, capsys):
    assert main(["batch", str(files["pairs"]), "-o", str(tmp_path / "out")]) == 2
    assert "lists no pairs" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["missing.tif", "{after}"],
        ["{truncated}", "{after}"],
        ["{before}", "{after}", "--tile", "0"],
        ["{before}", "{after}", "--bbox", "0,0,1,1,EPSG:4326"],
        ["{nan}", "{after}"],
    ],
)
def test_errors_that_need_no_model_come_before_torch_is_imported(args, files, tmp_path):
    """A ``torch`` that cannot be imported stands first on the path: the error must come anyway."""
    poison = tmp_path / "poison" / "torch"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text('raise ImportError("torch was imported")\n')
    env = {**os.environ, "PYTHONPATH": str(poison.parent)}
    command = scd_command("detect", *(a.format(**files) for a in args), "-o", tmp_path / "out", "--progress", "none")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "torch was imported" not in done.stderr
    assert not (tmp_path / "out").exists()
