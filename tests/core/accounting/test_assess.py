"""``scd assess`` on a sample of a real run, labelled here as an interpreter would label it."""

from __future__ import annotations

import csv
import json
import shutil

import geopandas
import numpy as np
import pyogrio
import pytest

from scd_core.accounting.estimators import assess
from scd_core.cli import main


@pytest.fixture(scope="module")
def points(tmp_path_factory, run):
    """A change / no change sample of the shared run, 30 points a stratum."""
    path = tmp_path_factory.mktemp("assess") / "points.gpkg"
    options = ["--strata", "change", "--allocation", "equal", "--n", "60"]
    assert main(["sample", str(run), "-o", str(path), *options]) == 0
    return path


def labelled(points, tmp_path, references) -> str:
    frame = geopandas.read_file(points, layer="points")
    frame["ref_class"] = references(frame)
    path = tmp_path / "labelled.gpkg"
    frame.to_file(path, layer="points")
    for layer in ("strata", "design"):
        geopandas.GeoDataFrame(pyogrio.read_dataframe(points, layer=layer, read_geometry=False)).to_file(
            path, layer=layer
        )
    return str(path)


def estimates(path: str, capsys, *options: str) -> dict:
    capsys.readouterr()
    assert main(["assess", path, "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_sample_the_interpreter_agrees_with_gives_the_mapped_areas_exactly(points, tmp_path, capsys):
    result = estimates(labelled(points, tmp_path, lambda f: f["stratum"]), capsys)
    assert result["overall_accuracy"]["estimate"] == pytest.approx(1.0)
    for name in result["classes"]:
        assert result["area_ha"][name]["estimate"] == pytest.approx(result["mapped_area_ha"][name])
        assert result["area_ha"][name]["ci95"] == pytest.approx(0)
    assert set(result) >= {"users_accuracy", "producers_accuracy", "error_matrix"}


def test_disagreement_moves_the_areas_as_olofssons_estimators_say(points, tmp_path, capsys):
    # the interpreter finds a third of the mapped change to be no change, by code as well as by name
    def references(frame):
        refs = frame["stratum"].copy()
        changed = np.flatnonzero(frame["stratum"] == "change")
        refs.iloc[changed[::3]] = "0"
        return refs

    result = estimates(labelled(points, tmp_path, references), capsys)
    strata = pyogrio.read_dataframe(points, layer="strata", read_geometry=False)
    counts = np.array(result["sample_counts"])
    assert counts[1, 0] == 10 and counts[1, 1] == 20 and counts[0, 0] == 30
    pixel_area = strata.area_ha.sum() / strata.pixels.sum()
    expected = assess(counts, strata.area_ha.to_numpy() / pixel_area, pixel_area)
    assert [result["area_ha"][n]["estimate"] for n in result["classes"]] == pytest.approx(expected.area.tolist())
    assert result["area_ha"]["change"]["estimate"] == pytest.approx(result["mapped_area_ha"]["change"] * 2 / 3)
    assert result["area_ha"]["change"]["ci95"] > 0
    np.testing.assert_allclose(result["error_matrix"], expected.proportions)


def test_unlabelled_points_are_an_error_naming_how_many_unless_dropped(points, tmp_path, capsys):
    path = labelled(points, tmp_path, lambda f: [None] * 5 + list(f["stratum"][5:]))
    capsys.readouterr()
    assert main(["assess", path]) == 2
    assert "5 of 60 points have no ref_class" in capsys.readouterr().err
    assert estimates(path, capsys, "--drop-unlabelled")["dropped_unlabelled"] == 5


def test_a_reference_class_outside_the_table_is_named(points, tmp_path, capsys):
    path = labelled(points, tmp_path, lambda f: ["cloud", *f["stratum"][1:]])
    capsys.readouterr()
    assert main(["assess", path]) == 2
    assert (
        "field 'ref_class' holds 'cloud', which is no class of the sample (no change, change)"
        in capsys.readouterr().err
    )


def test_strata_areas_from_a_csv_replace_the_samples_own(points, tmp_path, capsys):
    (tmp_path / "areas.csv").write_text("stratum,area_ha\nno change,900\nchange,100\n")
    path = labelled(points, tmp_path, lambda f: f["stratum"])
    result = estimates(path, capsys, "--strata-areas", str(tmp_path / "areas.csv"))
    assert [result["area_ha"][n]["estimate"] for n in result["classes"]] == pytest.approx([900, 100])


def test_a_stratum_with_fewer_than_two_labelled_points_is_named(points, tmp_path, capsys):
    path = labelled(points, tmp_path, lambda f: [*[None if s == "change" else s for s in f["stratum"]][:-1], "change"])
    capsys.readouterr()
    assert main(["assess", path, "--drop-unlabelled"]) == 2
    assert "strata ['change'] have fewer than 2 labelled points" in capsys.readouterr().err


def test_the_estimates_are_kept_in_the_sampled_run_and_replaced_only_when_asked(run, tmp_path, capsys):
    own = tmp_path / "run"
    shutil.copytree(run, own, ignore=shutil.ignore_patterns("assessment.json"))  # the other tests' estimates
    sample = tmp_path / "points.gpkg"
    assert (
        main(["sample", str(own), "-o", str(sample), "--strata", "change", "--allocation", "equal", "--n", "20"]) == 0
    )
    path = labelled(sample, tmp_path, lambda f: f["stratum"])
    result = estimates(path, capsys)
    assert json.loads((own / "assessment.json").read_text()) == result
    worse = labelled(sample, tmp_path, lambda f: ["change" if s == "no change" else s for s in f["stratum"]])
    capsys.readouterr()
    assert main(["assess", worse, "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["overall_accuracy"]["estimate"] < 1
    assert printed.err.strip() == f"{own / 'assessment.json'} kept (--overwrite replaces it)"
    assert json.loads((own / "assessment.json").read_text()) == result
    replaced = estimates(worse, capsys, "--overwrite")
    assert json.loads((own / "assessment.json").read_text()) == replaced != result


def test_a_csv_holds_a_row_per_class_and_an_existing_file_or_other_format_is_refused(points, tmp_path, capsys):
    path = labelled(points, tmp_path, lambda f: f["stratum"])
    table = tmp_path / "estimates.csv"
    result = estimates(path, capsys, "-o", str(table))
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["class"] for row in rows] == result["classes"]
    assert [float(row["area_ha"]) for row in rows] == pytest.approx(
        [result["area_ha"][n]["estimate"] for n in result["classes"]]
    )
    assert [int(row["points"]) for row in rows] == [30, 30]
    for refused, why in ((table, "exists: choose another file or --overwrite"), (tmp_path / "e.txt", "FILE.json")):
        capsys.readouterr()
        assert main(["assess", path, "-o", str(refused)]) == 2
        assert f"{refused}: " in (err := capsys.readouterr().err) and why in err
    assert not (tmp_path / "e.txt").exists()
