"""No ``.aux.xml`` beside the inputs: ``scd detect`` and ``scd score`` write nothing into the folders
they read (GDAL's PAM writes such sidecars when statistics or histograms are computed, as QGIS does on
loading a layer), and git ignores any that other tools leave."""

from __future__ import annotations

import subprocess

import pytest
from detect_testing import REPO, run_scd

from scd_core.synth import write_geo_pair


def test_detect_and_score_leave_no_sidecar_beside_the_inputs_or_the_outputs(tmp_path, ckpt):
    pair = write_geo_pair(tmp_path / "pair", 192, seed=5, nodata_collar=16, after_resolution=0.6)
    out = tmp_path / "out"
    detected = run_scd("detect", pair.before, pair.after, "-o", out, "--model", ckpt, "--tile", "128")
    assert detected.returncode == 0, detected.stderr
    scored = run_scd("score", out, pair.change_type)
    assert scored.returncode == 0, scored.stderr
    assert not list(tmp_path.rglob("*.aux.xml"))


def test_git_ignores_gdal_sidecars():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    sidecar = "resources/sample/before.tif.aux.xml"
    ignored = subprocess.run(["git", "check-ignore", "-q", sidecar], cwd=REPO, check=False)
    assert ignored.returncode == 0, f"git does not ignore {sidecar}"
