"""SECOND label codecs: colours, indices, from-to codes and names."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scd_core import labels
from scd_core.errors import UnknownColourError


def test_class_table_is_seconds():
    assert [(c.index, c.name, c.rgb) for c in labels.CLASSES] == [
        (0, "no change", (255, 255, 255)),
        (1, "water", (0, 0, 255)),
        (2, "non-vegetated ground surface", (128, 128, 128)),
        (3, "low vegetation", (0, 128, 0)),
        (4, "tree", (0, 255, 0)),
        (5, "building", (128, 0, 0)),
        (6, "playground", (255, 0, 0)),
    ]
    assert labels.NUM_CHANGE_TYPES == 37


def test_rgb_round_trip_every_class():
    index = np.arange(7, dtype=np.uint8).repeat(3).reshape(3, 7)
    assert np.array_equal(labels.rgb_to_index(labels.index_to_rgb(index)), index)


def test_unknown_colour_names_file_colour_and_count():
    rgb = labels.index_to_rgb(np.zeros((4, 4), np.uint8))
    rgb[0, :3] = (1, 2, 3)
    with pytest.raises(UnknownColourError, match=r"label\.png.*\(1,2,3\) × 3 px"):
        labels.rgb_to_index(rgb, "label.png")


def test_change_codes_follow_the_formula_and_invert():
    before, after = np.meshgrid(np.arange(1, 7), np.arange(1, 7), indexing="ij")
    codes = labels.change_code(before, after)
    assert np.array_equal(codes, 1 + 6 * (before - 1) + (after - 1))
    assert sorted(codes.ravel().tolist()) == list(range(1, 37))
    assert labels.change_code(np.array([0]), np.array([0]))[0] == 0
    for code in range(37):
        c1, c2 = labels.split_change_code(code)
        assert labels.change_code(np.array([c1]), np.array([c2]))[0] == code


def test_same_class_change_has_its_own_code_and_name():
    code = labels.change_code(np.array([5]), np.array([5]))[0]
    assert code == 1 + 6 * 4 + 4
    assert labels.change_type_name(code) == "building → building"


def test_change_type_names():
    assert labels.change_type_name(0) == "no change"
    code = labels.change_code(np.array([3]), np.array([5]))[0]
    assert labels.change_type_name(code) == "low vegetation → building"
    assert len(set(labels.change_type_names())) == 37


def test_change_code_rejects_half_changed_pixels():
    with pytest.raises(ValueError, match="1 pixels"):
        labels.change_code(np.array([0, 3]), np.array([2, 3]))


def test_read_label_rgb_index_and_palette(tmp_path):
    index = np.array([[0, 1, 2, 3], [4, 5, 6, 255]], dtype=np.uint8)
    labels.write_label(tmp_path / "palette.png", index)
    assert np.array_equal(labels.read_label(tmp_path / "palette.png"), index)
    Image.fromarray(index, mode="L").save(tmp_path / "gray.png")
    assert np.array_equal(labels.read_label(tmp_path / "gray.png"), index)
    Image.fromarray(labels.index_to_rgb(index[:, :3])).save(tmp_path / "rgb.png")
    assert np.array_equal(labels.read_label(tmp_path / "rgb.png"), index[:, :3])


def test_read_label_rejects_unknown_index(tmp_path):
    Image.fromarray(np.array([[0, 7, 7]], np.uint8), mode="L").save(tmp_path / "bad.png")
    with pytest.raises(UnknownColourError, match=r"bad\.png.*7 × 2 px"):
        labels.read_label(tmp_path / "bad.png")


def test_read_label_foreign_palette_decodes_by_colour(tmp_path):
    image = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    image.putpalette([0, 0, 255, 128, 0, 0] + [0] * 762)  # water, building at indices 0, 1
    image.save(tmp_path / "foreign.png")
    assert labels.read_label(tmp_path / "foreign.png").tolist() == [[1, 5]]


def test_unreadable_file_is_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(Exception, match=r"broken\.png"):
        labels.read_label(tmp_path / "broken.png")


def test_real_second_pair_decodes_without_unknown_colour(shared_data):
    root = shared_data / "second_sample"
    label1 = labels.read_label(root / "label1" / "sample_0001.png")
    label2 = labels.read_label(root / "label2" / "sample_0001.png")
    assert label1.shape == (512, 512)
    assert set(np.unique(label1)) <= set(range(7))
    codes = labels.change_code(label1, label2)
    assert (codes > 0).any() and (codes == 0).any()
