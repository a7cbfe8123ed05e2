"""`scd evaluate`: SECOND-layout folders in, scores in both conventions out; bad folders exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scd_core import synth
from scd_core.cli import main
from scd_core.labels import LANDSAT_SCD, index_to_rgb, read_label, write_label
from scd_core.metrics import SCORE_KEYS


def _write_root(root: Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]], rgb: bool = True) -> Path:
    for folder in ("label1", "label2"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, (first, second) in pairs.items():
        for folder, array in (("label1", first), ("label2", second)):
            if rgb:
                Image.fromarray(index_to_rgb(array)).save(root / folder / name)
            else:
                write_label(root / folder / name, array)
    return root


def _random_pair(seed: int, size=(32, 40)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    changed = rng.random(size) < 0.4
    return (rng.integers(1, 7, size) * changed).astype(np.uint8), (rng.integers(1, 7, size) * changed).astype(np.uint8)


@pytest.fixture
def second_root(tmp_path) -> Path:
    synth.write_second(tmp_path / "gt", n_pairs=3, size=128, seed=7)
    return tmp_path / "gt"


def test_ground_truth_against_itself_scores_100(second_root, capsys):
    assert main(["evaluate", str(second_root), str(second_root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 3
    for convention in ("per_date", "from_to"):
        assert set(result[convention]) == set(SCORE_KEYS)
        assert all(value == pytest.approx(100.0) for value in result[convention].values())


def test_synthetic_labels_round_trip_and_a_degraded_prediction_scores_lower(second_root, tmp_path, capsys):
    degraded = {}
    for path in sorted((second_root / "label1").glob("*.png")):
        first, second = read_label(path), read_label(second_root / "label2" / path.name)
        half = np.zeros_like(first, dtype=bool)
        half[: first.shape[0] // 2] = True  # the prediction misses every change in the top half
        degraded[path.name] = (np.where(half, 0, first), np.where(half, 0, second))
    prediction = _write_root(tmp_path / "pred", degraded, rgb=False)
    assert main(["evaluate", str(prediction), str(second_root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for convention in ("per_date", "from_to"):
        assert 0 < result[convention]["SeK"] < 90
        assert result[convention]["OA"] > result[convention]["SeK"]


def test_categorical_sek_of_a_good_imperfect_prediction_lies_strictly_between_0_and_100(second_root, tmp_path, capsys):
    """The Table II values of a prediction that misses the changes of a band of rows (a good but
    imperfect one): every type present scores strictly between 0 and 100, in the table and the JSON."""
    eroded = {}
    for path in sorted((second_root / "label1").glob("*.png")):
        first, second = read_label(path), read_label(second_root / "label2" / path.name)
        band = np.zeros_like(first, dtype=bool)
        band[::8] = True  # every eighth row predicted "no change"
        eroded[path.name] = (np.where(band, 0, first), np.where(band, 0, second))
    prediction = _write_root(tmp_path / "pred", eroded, rgb=True)
    assert main(["evaluate", str(prediction), str(second_root), "--json"]) == 0
    categorical = json.loads(capsys.readouterr().out)["categorical"]
    present = [entry["SeK"] for entry in categorical.values() if entry["gt_pixels"]]
    assert present and all(0 < value < 100 for value in present)
    assert main(["evaluate", str(prediction), str(second_root)]) == 0
    table = capsys.readouterr().out.split("Categorical SeK")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| from")]
    numbers = [float(cell) for row in rows for cell in row.split("|")[2:-1] if cell.strip() != "–"]
    assert numbers and all(0 < value < 100 for value in numbers)


def test_other_label_sets_are_scored_with_their_colours(tmp_path, capsys):
    rng = np.random.default_rng(0)
    changed = rng.random((24, 24)) < 0.5
    first, second = (
        (rng.integers(1, 5, (24, 24)) * changed).astype(np.uint8),
        (rng.integers(1, 5, (24, 24)) * changed).astype(np.uint8),
    )
    root = tmp_path / "landsat"
    for folder, array in (("label1", first), ("label2", second)):
        (root / folder).mkdir(parents=True)
        Image.fromarray(index_to_rgb(array, LANDSAT_SCD)).save(root / folder / "a.png")
    assert main(["evaluate", str(root), str(root), "--labels", "landsat_scd", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["from_to"]["SeK"] == pytest.approx(100.0) and len(result["categorical"]) == 16
    assert main(["evaluate", str(root), str(root)]) == 2  # SECOND's colours do not include Landsat-SCD's
    assert "not second classes" in capsys.readouterr().err


def test_readable_report_names_both_conventions_and_table_ii(second_root, capsys):
    assert main(["evaluate", str(second_root), str(second_root)]) == 0
    out = capsys.readouterr().out
    assert "per_date" in out and "from_to" in out and "SeK" in out
    assert "| from \\ to |" in out


def test_json_output_is_exactly_one_object_on_stdout(second_root):
    done = subprocess.run(
        [sys.executable, "-m", "scd_core", "evaluate", str(second_root), str(second_root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(done.stdout.strip().splitlines()) == 1
    assert set(json.loads(done.stdout)) == {"pairs", "per_date", "from_to", "categorical"}


def _expect_error(capsys, args: list[str], *fragments: str) -> None:
    assert main(["evaluate", *args]) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err


def test_missing_prediction_is_named(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0), "b.png": _random_pair(1)})
    pred = _write_root(tmp_path / "pred", {"a.png": _random_pair(0)})
    _expect_error(capsys, [str(pred), str(gt)], "no prediction for 1 ground-truth labels: b.png", str(pred))


def test_extra_prediction_is_named(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0)})
    pred = _write_root(tmp_path / "pred", {"a.png": _random_pair(0), "z.png": _random_pair(1)})
    _expect_error(capsys, [str(pred), str(gt)], "have no ground truth: z.png")


def test_label1_label2_mismatch_is_named(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0)})
    (gt / "label2" / "a.png").rename(gt / "label2" / "b.png")
    _expect_error(capsys, [str(gt), str(gt)], "only in label1/: a.png", "only in label2/: b.png")


def test_size_mismatch_is_named(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0)})
    pred = _write_root(tmp_path / "pred", {"a.png": _random_pair(0, size=(32, 41))})
    _expect_error(capsys, [str(pred), str(gt)], str(pred / "label1" / "a.png"), "41×32")


def test_unknown_colour_is_named_with_count(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0)})
    pred = _write_root(tmp_path / "pred", {"a.png": _random_pair(0)})
    rgb = np.asarray(Image.open(pred / "label2" / "a.png")).copy()
    rgb[0, :5] = (10, 20, 30)
    Image.fromarray(rgb).save(pred / "label2" / "a.png")
    _expect_error(capsys, [str(pred), str(gt)], str(pred / "label2" / "a.png"), "(10,20,30) × 5 px")


def test_half_changed_prediction_is_named(tmp_path, capsys):
    first, second = _random_pair(0)
    gt = _write_root(tmp_path / "gt", {"a.png": (first, second)})
    broken = second.copy()
    broken[first == 0] = 2  # a class on date 2 where date 1 says no change
    pred = _write_root(tmp_path / "pred", {"a.png": (first, broken)})
    _expect_error(capsys, [str(pred), str(gt)], str(pred / "label1" / "a.png"), "'no change' on one date")


def test_missing_folder_is_named(tmp_path, capsys):
    gt = _write_root(tmp_path / "gt", {"a.png": _random_pair(0)})
    _expect_error(capsys, [str(tmp_path / "nowhere"), str(gt)], str(tmp_path / "nowhere" / "label1"), "not found")
