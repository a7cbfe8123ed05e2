"""What a run never loses: a folder holding its inputs, another run's output, the disk's last bytes,
and the staging folders a killed run left behind."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from scd_core import checkpoint
from scd_core.cli import main
from scd_core.errors import NoSpaceError, OutputExistsError
from scd_core.geo.pipeline import OUTPUT_FILES, detect
from scd_core.models import build

RUN = ["--progress", "none", "--tile", "128"]


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_folder_holding_an_input_is_refused_even_with_overwrite(collared, ckpt, tmp_path, capsys):
    """`scd synth geo` writes its truth as change_type.tif beside the pair: --overwrite replaced it."""
    folder = tmp_path / "pair"
    folder.mkdir()
    for source in (collared.before, collared.after, collared.change_type):
        shutil.copy(source, folder / source.name)
    before = listing(folder)
    code = main(["detect", str(folder / collared.before.name), str(folder / collared.after.name), "-o", str(folder),
                 "--overwrite", "--model", str(ckpt), *RUN])  # fmt: skip
    assert code == 2
    assert f"{folder}: output folder holds the input {collared.before.name}" in capsys.readouterr().err
    assert listing(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair"]  # no staging folder left


def test_overwrite_says_which_files_it_replaces(collared, ckpt, tmp_path):
    out = tmp_path / "out"
    detect(collared.before, collared.after, ckpt, out, tile=128)
    (out / "notes.txt").write_text("mine")
    events: list[dict] = []
    detect(collared.before, collared.after, ckpt, out, progress=events.append, tile=128, overwrite=True)
    (warning,) = [e["text"] for e in events if e["event"] == "warning" and "--overwrite" in e["text"]]
    assert warning == f"--overwrite replaces {', '.join(OUTPUT_FILES.values())} in {out}"
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("overwrite", [False, True])
def test_an_output_another_run_wrote_meanwhile_is_replaced_only_with_overwrite(collared, ckpt, tmp_path, overwrite):
    """Two runs into one new folder both reported success, and the second silently replaced the first."""
    out = tmp_path / "out"

    def another_run_writes(event: dict) -> None:
        if event["event"] == "progress" and not out.exists():
            out.mkdir()
            (out / "change_type.tif").write_bytes(b"the other run's")

    if overwrite:
        detect(collared.before, collared.after, ckpt, out, progress=another_run_writes, tile=128, overwrite=True)
        assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES.values())
        return
    with pytest.raises(OutputExistsError, match="appeared or changed while this run worked"):
        detect(collared.before, collared.after, ckpt, out, progress=another_run_writes, tile=128)
    assert listing(out) == {"change_type.tif": b"the other run's"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_staging_folder_of_a_killed_run_is_swept_and_a_running_ones_is_not(collared, ckpt, tmp_path):
    out = tmp_path / "out"
    killed, running = tmp_path / ".out.scd-0badf00d", tmp_path / ".out.scd-1badf00d"
    for folder in (killed, running):
        folder.mkdir()
        (folder / "change_type.tif").write_bytes(b"half")
    held = os.open(running, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(held, fcntl.LOCK_EX)  # as the run that made it holds it
    try:
        detect(collared.before, collared.after, ckpt, out, tile=128)
    finally:
        os.close(held)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.scd-1badf00d", "out"]


@pytest.fixture
def full_disk(tmp_path):
    """A 96 KiB file system, too small for a run's outputs; skipped where it cannot be mounted (not root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot mount a small tmpfs: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_one_line_exit_1_and_leaves_the_output_as_it_was(collared, ckpt, full_disk, capsys):
    out = full_disk / "out"
    code = main(["detect", str(collared.before), str(collared.after), "-o", str(out), "--model", str(ckpt), *RUN])
    error = capsys.readouterr().err.splitlines()
    assert code == 1
    assert [line for line in error if "error" in line] == [
        f"scd detect: error: no space left on device while writing {out}"
    ]
    assert len(error) <= 2  # the start line and the error, no traceback
    assert list(full_disk.iterdir()) == []


def test_a_checkpoint_on_a_full_disk_raises_no_space_naming_it(full_disk):
    torch.manual_seed(0)
    path = full_disk / "big.pt"
    with pytest.raises(NoSpaceError, match=f"no space left on device while writing {path}"):
        checkpoint.save(build("fc_ef", width=32), path, tile_size=128)
    assert list(full_disk.iterdir()) == []
