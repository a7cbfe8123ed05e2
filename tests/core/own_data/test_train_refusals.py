"""``scd train``'s bad input: exit 2, one line naming the file or field, and no run folder."""

from __future__ import annotations

import pytest
import rasterio
import torch

from scd_core.cli import main
from tests.core.own_data.conftest import QUICK, pair_row, write_pairs


def refused(tmp_path, capsys, pairs, *options: str) -> str:
    capsys.readouterr()
    code = main(["train", str(pairs), "-o", str(tmp_path / "run"), *QUICK, "--progress", "none", *options])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2, error
    assert not (tmp_path / "run").exists()
    assert len(error) == 1 and error[0].startswith("scd train: error: ")
    return error[0]


def test_missing_columns_are_named(scene, tmp_path, capsys):
    pairs = write_pairs(tmp_path / "pairs.csv", [{"id": "a", "before": str(scene / "before.tif")}])
    assert "missing after" in refused(tmp_path, capsys, pairs)


def test_a_csv_without_labels_is_refused(scene, tmp_path, capsys):
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene)])
    assert "has no label column" in refused(tmp_path, capsys, pairs)


def test_duplicate_ids_are_named(scene, tmp_path, capsys):
    rows = [pair_row(scene, "a", change="change.tif"), pair_row(scene, "a", change="change.tif")]
    assert "id 'a' appears twice" in refused(tmp_path, capsys, write_pairs(tmp_path / "pairs.csv", rows))


def test_a_label_raster_that_misses_its_pair_is_named(scene, tmp_path, capsys):
    with rasterio.open(scene / "change.tif") as source:
        profile, values = source.profile, source.read(1)
    far = tmp_path / "far.tif"
    profile["transform"] = rasterio.Affine.translation(1e5, 0) * profile["transform"]
    with rasterio.open(far, "w", **profile) as out:
        out.write(values, 1)
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, change="change.tif") | {"change": str(far)}])
    assert f"{far}: pair 'a': the label raster does not overlap" in refused(tmp_path, capsys, pairs)


def test_a_label_value_outside_the_class_table_is_named(scene, tmp_path, capsys):
    (tmp_path / "two.yaml").write_text("- water\n- building\n")
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, label1="label1.tif", label2="label2.tif")])
    message = refused(tmp_path, capsys, pairs, "--classes", str(tmp_path / "two.yaml"))
    assert "label1.tif: pair 'a': label values" in message and "not in the class table (0..2)" in message


def test_a_missing_field_is_named_with_the_fields_there_are(scene, tmp_path, capsys):
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, labels="change.geojson")])
    message = refused(tmp_path, capsys, pairs, "--change-field", "altered")
    assert "change.geojson: pair 'a': the label layer has no field 'altered' (its fields: changed" in message


def test_a_vector_class_outside_the_table_is_named(scene, tmp_path, capsys):
    (tmp_path / "two.yaml").write_text("- water\n- building\n")
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, labels="fromto.gpkg")])
    options = ["--from-field", "from_class", "--to-field", "to_class", "--classes", str(tmp_path / "two.yaml")]
    assert "not a class of the table (water, building)" in refused(tmp_path, capsys, pairs, *options)


def test_a_pair_with_no_labelled_pixel_is_named(scene, tmp_path, capsys):
    with rasterio.open(scene / "change.tif") as source:
        profile, values = source.profile, source.read(1)
    blank = tmp_path / "blank.tif"
    with rasterio.open(blank, "w", **profile) as out:
        out.write(values * 0 + profile["nodata"], 1)
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene) | {"change": str(blank)}])
    assert f"{blank}: pair 'a': no labelled pixel" in refused(tmp_path, capsys, pairs)


def test_init_with_a_file_that_is_no_checkpoint_is_named(scene, tmp_path, capsys):
    (tmp_path / "notes.pt").write_text("not a model")
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, change="change.tif")])
    quick = [q for q in QUICK if q not in ("--encoder-weights", "none")]
    capsys.readouterr()
    code = main(["train", str(pairs), "-o", str(tmp_path / "run"), *quick, "--init", str(tmp_path / "notes.pt")])
    error = capsys.readouterr().err
    assert code == 2 and "notes.pt: not an scd checkpoint" in error and not (tmp_path / "run").exists()


def test_encoder_weights_whose_keys_do_not_match_are_named(scene, tmp_path, capsys):
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "stray.weight": torch.zeros(1)}, tmp_path / "weights.pth")
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, change="change.tif")])
    quick = [q for q in QUICK if q not in ("--encoder-weights", "none")]
    capsys.readouterr()
    args = ["--encoder", "resnet18", "--encoder-weights", str(tmp_path / "weights.pth")]
    code = main(["train", str(pairs), "-o", str(tmp_path / "run"), *quick, *args])
    error = capsys.readouterr().err
    assert code == 2 and "weights.pth" in error and "stray.weight" in error and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("option", "value"), [("--chip-size", "100"), ("--unlabelled", "zero"), ("--epochs", "0")])
def test_option_values_are_refused_in_the_vocabularys_words(scene, tmp_path, capsys, option, value):
    pairs = write_pairs(tmp_path / "pairs.csv", [pair_row(scene, change="change.tif")])
    with pytest.raises(SystemExit) as exit:
        main(["train", str(pairs), "-o", str(tmp_path / "run"), option, value])
    assert exit.value.code == 2 and option in capsys.readouterr().err and not (tmp_path / "run").exists()
