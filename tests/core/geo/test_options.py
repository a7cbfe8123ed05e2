"""DetectOptions: every option's default exists once, and a bad value is refused naming its flag."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from scd_core import vocabulary
from scd_core.cli import build_parser
from scd_core.cli.arguments import add_detect_arguments, offered
from scd_core.cli.arguments import detect_options as from_arguments
from scd_core.errors import InvalidOptionError
from scd_core.geo.options import DetectOptions


def test_every_option_but_the_apis_own_is_in_the_vocabulary_with_its_default():
    fields = {f.name: f.default for f in dataclasses.fields(DetectOptions)}
    api_only = ("tile_offset", "grid")
    assert [option.name for option in vocabulary.DETECT] == [name for name in fields if name not in api_only]
    assert all(fields[option.name] == option.default for option in vocabulary.DETECT)


@pytest.mark.parametrize("scope", ["detect", "batch"])
def test_the_flags_leave_every_default_to_detect_options(scope):
    parser = argparse.ArgumentParser()
    add_detect_arguments(parser, scope)
    parsed = parser.parse_args([])
    names = [option.name for option in offered(scope)]
    assert all(getattr(parsed, name) is None for name in names)
    assert from_arguments(parsed, scope) == DetectOptions()
    assert ("aoi" in names) == (scope == "detect")


def test_the_scd_commands_offer_the_flags_of_detect_options():
    parser = build_parser()
    detect = parser.parse_args(["detect", "a.tif", "b.tif", "-o", "out", "--tile", "256", "--bands", "3,2,1"])
    batch = parser.parse_args(["batch", "pairs.csv", "-o", "out", "--threshold", "0.4", "--overwrite"])
    assert from_arguments(detect, "detect") == DetectOptions(tile=256, bands=(3, 2, 1))
    assert from_arguments(batch, "batch") == DetectOptions(threshold=0.4, overwrite=True)


def test_command_line_text_becomes_values_and_api_values_are_normalised():
    args = build_parser().parse_args(["detect", "a.tif", "b.tif", "-o", "out", "--bands", "3,2,1", "--scale", "0,3000"])
    options = from_arguments(args, "detect")
    assert options.bands == (3, 2, 1) and options.scale == (0.0, 3000.0)
    assert DetectOptions(bands=[3, 2, 1], scale=[0, 3000]) == options
    assert DetectOptions(scale="auto").scale == "auto"


@pytest.mark.parametrize(("flag", "text"), [("--bands", "1,x"), ("--scale", "3000,0"), ("--scale", "bright")])
def test_bad_command_line_text_names_its_flag(flag, text):
    args = build_parser().parse_args(["detect", "a.tif", "b.tif", "-o", "out", flag, text])
    with pytest.raises(InvalidOptionError, match=flag):
        from_arguments(args, "detect")


@pytest.mark.parametrize(
    ("values", "flag"),
    [
        ({"tile": 0}, "--tile"),
        ({"tile": 100}, "--tile"),
        ({"batch": 0}, "--batch"),
        ({"overlap": -1}, "--overlap"),
        ({"tile": 128, "overlap": 65}, "--overlap"),
        ({"threshold": 0.0}, "--threshold"),
        ({"threshold": 1.5}, "--threshold"),
        ({"min_area": -1.0}, "--min-area"),
        ({"simplify": -0.5}, "--simplify"),
        ({"bands": (0, 1, 2)}, "--bands"),
        ({"scale": (3000, 0)}, "--scale"),
        ({"scale": "bright"}, "--scale"),
        ({"device": "gpu"}, "--device"),
        ({"aoi": "a.gpkg", "bbox": "0,0,1,1"}, "--aoi and --bbox"),
    ],
)
def test_a_bad_value_names_its_flag(values, flag):
    with pytest.raises(InvalidOptionError, match=flag):
        DetectOptions(**values)


def test_per_run_defaults_come_from_the_checkpoint_and_the_device():
    resolved = DetectOptions().resolved(tile_size=256, threshold=0.4, device_type="cpu")
    assert (resolved.tile, resolved.overlap, resolved.batch, resolved.threshold) == (256, 64, 2, 0.4)
    assert DetectOptions(batch=5).resolved(512, 0.5, "cuda").batch == 5
    with pytest.raises(InvalidOptionError, match="--overlap"):
        DetectOptions(overlap=200).resolved(tile_size=256, threshold=0.5, device_type="cpu")
