"""`scd synth` into files the user already has: refused, naming the file, unless --overwrite."""

from __future__ import annotations

from pathlib import Path

from scd_core.cli import main


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_synth_geo_into_an_existing_pair_is_refused_unless_overwrite(tmp_path, capsys):
    folder = tmp_path / "pair"
    assert main(["synth", "geo", str(folder), "--size", "64", "--seed", "1"]) == 0
    kept = contents(folder)
    capsys.readouterr()
    assert main(["synth", "geo", str(folder), "--size", "64", "--seed", "2"]) == 2
    why = "exists; pass --overwrite to replace it, or choose another folder"
    assert capsys.readouterr().err.strip() == f"scd synth: error: {folder / 'before.tif'}: {why}"
    assert contents(folder) == kept  # not a byte written
    assert main(["synth", "geo", str(folder), "--size", "64", "--seed", "2", "--overwrite"]) == 0
    assert contents(folder)["before.tif"] != kept["before.tif"]


def test_synth_geo_names_the_one_truth_file_it_would_replace(tmp_path, capsys):
    folder = tmp_path / "pair"
    folder.mkdir()
    (folder / "change_type.tif").write_bytes(b"someone's truth")
    assert main(["synth", "geo", str(folder), "--size", "64"]) == 2
    assert f"{folder / 'change_type.tif'}: exists" in capsys.readouterr().err
    assert contents(folder) == {"change_type.tif": b"someone's truth"}


def test_synth_second_into_existing_pairs_is_refused_unless_overwrite(tmp_path, capsys):
    folder = tmp_path / "second"
    assert main(["synth", "second", str(folder), "--size", "32", "--pairs", "2"]) == 0
    kept = contents(folder)
    capsys.readouterr()
    assert main(["synth", "second", str(folder), "--size", "32", "--pairs", "3", "--seed", "4"]) == 2
    assert f"{folder / 'im1' / '00000.png'}: exists" in capsys.readouterr().err
    assert contents(folder) == kept
    assert main(["synth", "second", str(folder), "--size", "32", "--pairs", "3", "--seed", "4", "--overwrite"]) == 0
    assert len(contents(folder)) == 12 and contents(folder)["im1/00000.png"] != kept["im1/00000.png"]


def test_synth_into_a_file_is_refused(tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    assert main(["synth", "geo", str(taken), "--size", "64", "--overwrite"]) == 2
    assert f"{taken}: exists and is not a folder" in capsys.readouterr().err
    assert taken.read_text() == "mine"
