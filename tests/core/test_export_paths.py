"""`scd export` refuses, before the export's seconds, what it could not write or would lose: the
checkpoint itself, a folder, a path it cannot write to, an opset the model does not export to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from detect_testing import tiny_checkpoint

from scd_core import checkpoint, export
from scd_core.cli import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("export") / "tiny.pt", name="fc_ef", seed=2)


def refusal(capsys, *args: str | Path) -> str:
    assert main(["export", *(str(a) for a in args)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


@pytest.mark.parametrize("spelling", ["same path", "relative", "symlink", "hard link"])
def test_the_checkpoint_is_never_replaced_by_its_export(tmp_path, capsys, monkeypatch, spelling):
    ckpt = tiny_checkpoint(tmp_path / "m.pt", seed=4)
    kept = ckpt.read_bytes()
    spelled = {
        "same path": ckpt,
        "relative": Path("m.pt"),
        "symlink": tmp_path / "m.onnx",
        "hard link": tmp_path / "m2.pt",
    }
    output = spelled[spelling]
    if spelling == "symlink":
        output.symlink_to(ckpt)
    elif spelling == "hard link":
        os.link(ckpt, output)
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, ckpt, "-o", output, "--overwrite")
    assert line == f"scd export: error: {output}: is the checkpoint itself; name another file for the ONNX model"
    assert ckpt.read_bytes() == kept and checkpoint.load(ckpt)[1]["model"] == "fc_ef"


def test_an_output_beside_the_checkpoint_is_still_written(tmp_path, tiny):
    assert main(["export", str(tiny), "-o", str(tmp_path / "tiny.onnx")]) == 0
    assert export.onnx_metadata(tmp_path / "tiny.onnx")["model"] == "fc_ef"


def where(tmp_path: Path, case: str) -> tuple[Path, str]:
    """The output path of each case, and what the refusal says of it."""
    if case == "a folder":
        return tmp_path, "is a folder; name the ONNX file to write"
    if case == "a missing folder":
        return tmp_path / "missing" / "m.onnx", f"its folder {tmp_path / 'missing'} does not exist"
    if case == "a folder that is a file":
        (tmp_path / "notes.txt").write_text("a file")
        return tmp_path / "notes.txt" / "m.onnx", f"its folder {tmp_path / 'notes.txt'} does not exist"
    folder = Path("/proc" if case == "/proc" else "/sys")  # take no new file, even from root
    return folder / "scd-test.onnx", f"cannot write in {folder} ("


@pytest.mark.parametrize("case", ["a folder", "a missing folder", "a folder that is a file", "/proc", "/sys"])
def test_an_output_that_cannot_be_written_is_refused_before_the_checkpoint_is_read(tmp_path, capsys, case):
    """The checkpoint here is no checkpoint at all: the output is refused before anything is read."""
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"the export would start by loading this")
    output, why = where(tmp_path, case)
    before = sorted(tmp_path.rglob("*"))
    line = refusal(capsys, ckpt, "-o", output, "--overwrite")
    assert line.startswith(f"scd export: error: {output}: {why}")
    assert sorted(tmp_path.rglob("*")) == before  # no scratch file, no probe left behind


def test_an_opset_below_the_models_first_is_refused_naming_it(tmp_path, tiny, capsys):
    output = tmp_path / "m.onnx"
    line = refusal(capsys, tiny, "-o", output, "--opset", "10")
    assert line == "scd export: error: --opset 10: model fc_ef needs opset 11 or later"
    line = refusal(capsys, tiny, "-o", output, "--opset", "21")
    assert line == "scd export: error: --opset 21: the newest opset the exporter writes is 20"
    cdsc = tiny_checkpoint(tmp_path / "cdsc.pt", name="cdsc")
    assert refusal(capsys, cdsc, "-o", output, "--opset", "13").endswith("model cdsc needs opset 14 or later")
    assert not output.exists()


def test_the_first_and_last_opsets_are_where_the_export_starts_and_ends(tmp_path, tiny):
    """At the minimum and the maximum the export agrees with torch; one below it exports but does not
    (the upsampling frozen to the example's size); CdSC's attention has no operator below 14."""
    model, meta = checkpoint.load(tiny)
    for opset in (export.MIN_OPSET, export.MAX_OPSET):
        export.export_onnx(model, meta, tmp_path / f"{opset}.onnx", opset)
        assert export.check_export(model, tmp_path / f"{opset}.onnx", meta) < 1e-4
    export.export_onnx(model, meta, tmp_path / "below.onnx", export.MIN_OPSET - 1)
    assert export.check_export(model, tmp_path / "below.onnx", meta) > 1e-3
    cdsc, cdsc_meta = checkpoint.load(tiny_checkpoint(tmp_path / "cdsc.pt", name="cdsc"))
    with pytest.raises(torch.onnx.errors.UnsupportedOperatorError):
        export.export_onnx(cdsc, cdsc_meta, tmp_path / "cdsc.onnx", export.MIN_OPSETS["cdsc"] - 1)
