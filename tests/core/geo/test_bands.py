"""The model's bands come from the file's own names, in the checkpoint's order; --bands overrides."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.io import MemoryFile

import scd_core
from scd_core.errors import BandMismatchError
from scd_core.geo.bands import canonical, select_bands

FAST = {"tile": 128, "overlap": 32, "device": "cpu"}
RGB = ["red", "green", "blue"]


@pytest.mark.parametrize(
    ("text", "band"),
    [("B04 red", "red"), ("Red", "red"), ("B02", "blue"), ("b03", "green"), ("near infrared", "nir"),
     ("NIR (B08)", "nir"), ("Band 1", None), ("", None), ("red and blue", None), ("B8", None)],
)  # fmt: skip
def test_descriptions_name_bands_word_by_word(text, band):
    assert canonical(text) == band


def choose(interps, descriptions=None, requested=None, wanted=RGB):
    with MemoryFile() as memory, memory.open(driver="GTiff", width=4, height=4, count=len(interps), dtype="uint8") as d:
        d.colorinterp = interps
        for i, text in enumerate(descriptions or [], start=1):
            d.set_band_description(i, text)
        return select_bands(d, "x.tif", wanted, requested, "BEFORE")


def test_a_file_stored_blue_green_red_and_tagged_so_is_read_red_green_blue():
    assert choose([ColorInterp.blue, ColorInterp.green, ColorInterp.red]).bands == (3, 2, 1)


def test_descriptions_win_over_gdals_default_rgb_interpretation():
    chosen = choose([ColorInterp.red, ColorInterp.green, ColorInterp.blue], ["B02 blue", "B03 green", "B04 red"])
    assert chosen.bands == (3, 2, 1) and chosen.reason.startswith("named by the file")


def test_a_file_that_names_nothing_is_read_in_stored_order_and_says_so():
    chosen = choose([ColorInterp.gray, ColorInterp.undefined, ColorInterp.undefined])
    assert chosen.bands == (1, 2, 3) and "does not name its bands" in chosen.reason


def test_more_bands_are_searched_and_bands_override():
    interps = [ColorInterp.undefined] * 4
    assert choose(interps, ["nir", "blue", "green", "red"]).bands == (4, 3, 2)
    assert choose(interps, requested=[2, 3, 4]).bands == (2, 3, 4)


def test_bands_described_by_codes_no_alias_knows_are_found_by_their_whole_description():
    """A model trained on Sentinel-2's 13 bands (scd train stores them as described) finds B05 and B8A."""
    codes = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
    chosen = choose([ColorInterp.undefined] * 13, codes, wanted=["B8A", "b05", "B04", "B11"])
    assert chosen.bands == (9, 5, 4, 12) and chosen.reason.startswith("named by the file")


def test_a_file_without_the_models_bands_is_refused_naming_what_it_has():
    with pytest.raises(BandMismatchError, match=r"1: red, 2: green, 3: blue"):
        choose([ColorInterp.red, ColorInterp.green, ColorInterp.blue], wanted=["red", "green", "nir"])


def _copy_reversed(source, destination, interps):
    with rasterio.open(source) as src:
        profile, data = {**src.profile, "photometric": "MINISBLACK"}, src.read()
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(data[::-1])
        dst.colorinterp = interps
    return destination


def test_a_bgr_tagged_copy_of_an_rgb_pair_gives_the_same_change_map(tmp_path, collared, ckpt):
    tagged = [ColorInterp.blue, ColorInterp.green, ColorInterp.red]
    before = _copy_reversed(collared.before, tmp_path / "before_bgr.tif", tagged)
    after = _copy_reversed(collared.after, tmp_path / "after_bgr.tif", tagged)
    rgb = scd_core.detect(collared.before, collared.after, ckpt, tmp_path / "rgb", **FAST)
    bgr = scd_core.detect(before, after, ckpt, tmp_path / "bgr", **FAST)
    with rasterio.open(rgb.outputs["change_type"]) as a, rasterio.open(bgr.outputs["change_type"]) as b:
        assert np.array_equal(a.read(1), b.read(1))
    assert json.loads(bgr.outputs["run"].read_text())["inputs"]["before"]["bands_used"] == [3, 2, 1]


def test_bands_read_in_stored_order_are_said_in_the_log_and_run_json(tmp_path, collared, ckpt):
    untagged = [ColorInterp.gray, ColorInterp.undefined, ColorInterp.undefined]
    before = _copy_reversed(collared.before, tmp_path / "before.tif", untagged)
    events = []
    result = scd_core.detect(before, collared.after, ckpt, tmp_path / "out", progress=events.append, **FAST)
    said = [e["text"] for e in events if e["event"] == "message"]
    assert any(text.startswith("BEFORE: the file does not name its bands") for text in said)
    record = json.loads(result.outputs["run"].read_text())["inputs"]["before"]
    assert record["bands_used"] == [1, 2, 3] and "does not name" in record["bands_chosen_by"]
