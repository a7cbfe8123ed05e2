"""``report.html``: every run writes one, ``scd report`` rebuilds it with zones and estimates, and a
real headless browser (Debian's Chromium) renders it offline into a picture that is not blank."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import geopandas
import numpy as np
import pytest
import rasterio
import shapely
from PIL import Image

from scd_core.accounting.components import COMPONENTS
from scd_core.cli import main


@pytest.fixture(scope="module")
def assessed(run, tmp_path_factory):
    """A copy of the shared run with zones and an assessed sample added, and its report rebuilt."""
    folder = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(run, folder, ignore=shutil.ignore_patterns("assessment.json"))
    with rasterio.open(folder / "change_type.tif") as dataset:
        left, bottom, right, top = dataset.bounds
        crs = dataset.crs
    middle = (left + right) / 2
    zones = geopandas.GeoDataFrame(
        {"district": ["west <1>", "east"]},
        geometry=[shapely.box(left, bottom, middle, top), shapely.box(middle, bottom, right, top)],
        crs=crs,
    )
    zones.to_file(folder.parent / "zones.gpkg")
    assert main(["zones", str(folder), str(folder.parent / "zones.gpkg"), "--field", "district"]) == 0
    sample = folder.parent / "points.gpkg"
    assert (
        main(["sample", str(folder), "-o", str(sample), "--strata", "change", "--n", "40", "--allocation", "equal"])
        == 0
    )
    points = geopandas.read_file(sample, layer="points")
    points["ref_class"] = points["stratum"]
    points.to_file(sample, layer="points")
    assert main(["assess", str(sample)]) == 0
    assert main(["report", str(folder)]) == 0
    return folder


def test_every_run_writes_a_self_contained_page_of_its_matrix_flows_gains_and_losses(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    summary = json.loads((run / "summary.json").read_text())
    # nothing is fetched: the preview is a data URI, the diagram inline SVG, and there is no script
    assert re.findall(r'(?:src|href)="(?!data:)', page) == [] and "<script" not in page
    assert 'src="data:image/png;base64,' in page
    for name in summary["classes"]:
        assert f"<td>{name}</td>" in page
    assert page.count("<path ") == int(np.count_nonzero(summary["from_to"]))  # a ribbon a from × to cell
    assert all(f"{c.replace('_', ' ')} (ha)" in page for c in COMPONENTS)
    assert "Change by zone" not in page and "Accuracy and areas" not in page
    assert json.loads((run / "run.json").read_text())["model"]["sha256"] in page


def test_scd_report_adds_the_zones_and_the_estimates(assessed):
    page = (assessed / "report.html").read_text(encoding="utf-8")
    estimates = json.loads((assessed / "assessment.json").read_text())
    assert "Change by zone" in page and "<td>west &lt;1&gt;</td>" in page and "<td>east</td>" in page
    assert "Accuracy and areas" in page
    assert f"overall accuracy {estimates['overall_accuracy']['estimate']:.3f}" in page


def test_a_folder_that_is_no_run_is_refused_and_nothing_written(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"scd report: error: {tmp_path}: no run.json: give the output folder of scd detect"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_headless_browser_renders_the_page_offline(assessed, tmp_path):
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium renders the report (make test installs it)"
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1200,2400", f"--screenshot={shot}", (assessed / "report.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    picture = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert picture.shape[:2] == (2400, 1200)
    # not blank: the preview and the diagram put colour on the page, and text darkens it
    assert picture.std() > 20 and (picture.max(axis=2) - picture.min(axis=2) > 60).mean() > 0.01
    assert (picture.sum(axis=2) < 150).mean() > 0.002
