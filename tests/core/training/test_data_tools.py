"""``training.convert`` (from-to codes to per-date labels) and ``training.stats`` (normalisation)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from scd_core.labels import IGNORE, LANDSAT_SCD, read_label
from training.convert import main as convert_main
from training.convert import read_code_table
from training.stats import main as stats_main


def _release(root, size=12):
    """A Landsat-SCD release in miniature: A/, B/ and the from-to coded label/."""
    for folder in ("A", "B", "label"):
        (root / folder).mkdir(parents=True)
    codes = np.arange(size * size).reshape(size, size) % 10
    image = np.full((size, size, 3), 90, np.uint8)
    image[0, :4] = 255  # white in both images on the first four pixels: outside the scene
    for folder in ("A", "B"):
        Image.fromarray(image).save(root / folder / "x.png")
    Image.fromarray(codes.astype(np.uint8), mode="L").save(root / "label" / "x.png")
    return codes


def test_landsat_scd_codes_become_per_date_labels_as_scannet_decodes_them(tmp_path, capsys):
    root = tmp_path / "landsat"
    codes = _release(root)
    assert (
        convert_main(
            [str(root / "label"), str(root), "--codes", "landsat_scd", "--images", str(root / "A"), str(root / "B")]
        )
        == 0
    )
    assert "labelA/ and" in capsys.readouterr().out
    first, second = (
        read_label(root / "labelA" / "x.png", LANDSAT_SCD),
        read_label(root / "labelB" / "x.png", LANDSAT_SCD),
    )
    # SCanNet's MAP_A / MAP_B: code 2 is farmland → building, code 9 water → desert
    before = np.array([0, 1, 1, 2, 2, 2, 3, 3, 4, 4])
    after = np.array([0, 2, 3, 1, 3, 4, 1, 2, 1, 2])
    inside = np.ones_like(codes, bool)
    inside[0, :4] = False
    assert np.array_equal(first[inside], before[codes][inside]) and np.array_equal(second[inside], after[codes][inside])
    assert (first[0, :4] == IGNORE).all() and (second[0, :4] == IGNORE).all()
    table = read_code_table("landsat_scd")
    assert table.labels is LANDSAT_SCD and table.ignore_white


def test_unknown_codes_are_named_and_nothing_is_written(tmp_path, capsys):
    root = tmp_path / "landsat"
    _release(root)
    Image.fromarray(np.full((4, 4), 12, np.uint8), mode="L").save(root / "label" / "y.png")
    assert convert_main([str(root / "label"), str(root), "--codes", "landsat_scd"]) == 2
    assert "y.png: codes the table does not know: 12 × 16 px" in capsys.readouterr().err
    assert not (root / "labelA").exists()


def test_a_table_of_ones_own_maps_codes_by_class_name(tmp_path, capsys):
    table = {"labels": "second", "codes": {0: ["no change", "no change"], 1: ["low vegetation", "building"]}}
    (tmp_path / "codes.yaml").write_text(yaml.safe_dump(table))
    (tmp_path / "label").mkdir()
    Image.fromarray(np.array([[0, 1]], np.uint8), mode="L").save(tmp_path / "label" / "z.png")
    assert convert_main([str(tmp_path / "label"), str(tmp_path / "out"), "--codes", str(tmp_path / "codes.yaml")]) == 0
    assert read_label(tmp_path / "out" / "label1" / "z.png").tolist() == [[0, 3]]
    assert read_label(tmp_path / "out" / "label2" / "z.png").tolist() == [[0, 5]]
    assert convert_main([str(tmp_path / "label"), str(tmp_path / "out"), "--codes", str(tmp_path / "codes.yaml")]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_stats_are_per_date_and_pooled_ready_for_a_config(small_second, capsys):
    assert stats_main([str(small_second), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    pixels = [
        np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((small_second / "train" / f).glob("*.png"))])
        for f in ("im1", "im2")
    ]
    for key, array in (("date1", pixels[0]), ("date2", pixels[1]), ("pooled", np.concatenate(pixels))):
        flat = array.reshape(-1, 3).astype(np.float64)
        assert stats[key]["mean"] == pytest.approx(flat.mean(0), abs=1e-3)
        assert stats[key]["std"] == pytest.approx(flat.std(0), abs=1e-3)
    assert stats_main([str(small_second)]) == 0
    block = yaml.safe_load(capsys.readouterr().out)["normalisation"]
    assert block["mean"] == stats["pooled"]["mean"] and block["value_range"] == [0.0, 255.0]
    assert stats_main([str(small_second), "--split", "test"]) == 2
