"""Interrupted runs: the JSON protocol's last event says so, and SIGINT stops a run whose parent
ignored it (a shell's ``&`` job) with OUT_DIR left as it was."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from detect_testing import REPO, default_interrupt, scd_command

from scd_core.synth import write_geo_pair


@pytest.fixture(scope="module")
def big_pair(tmp_path_factory):
    return write_geo_pair(tmp_path_factory.mktemp("big"), 1024, seed=6)


def detect_command(pair, out, ckpt, *more):
    return scd_command("detect", pair.before, pair.after, "-o", out, "--model", ckpt, "--tile", "128", "--batch", "1",
                       "--progress", "json", *more)  # fmt: skip


def interrupted(command, signal_number, preexec_fn, wait_for="progress"):
    """Run ``command``, send it ``signal_number`` at its first ``wait_for`` event, and return the
    process and the events it wrote."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               preexec_fn=preexec_fn)  # fmt: skip
    assert process.stdout is not None
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == wait_for:
            break
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=60)
    events += [json.loads(line) for line in stdout.splitlines()]
    return process, events, stderr


@pytest.mark.parametrize(
    ("signal_number", "exit_code", "text"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_stopped_detect_ends_with_a_cancelled_error_event(tmp_path, big_pair, ckpt, signal_number, exit_code, text):
    command = detect_command(big_pair, tmp_path / "out", ckpt)
    process, events, _ = interrupted(command, signal_number, default_interrupt)
    assert process.returncode == exit_code
    assert events[-1] == {"event": "error", "text": text, "path": None, "cancelled": True}
    assert not (tmp_path / "out").exists()


def test_a_stopped_batch_ends_with_a_cancelled_error_event(tmp_path, big_pair, ckpt):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\none,{big_pair.before},{big_pair.after}\n")
    command = scd_command("batch", pairs, "-o", tmp_path / "out", "--model", ckpt, "--tile", "128", "--batch", "1",
                          "--progress", "json")  # fmt: skip
    process, events, _ = interrupted(command, signal.SIGINT, default_interrupt)
    assert process.returncode == 130
    assert events[-1] == {"event": "error", "text": "interrupted", "path": None, "cancelled": True}
    assert [path.name for path in (tmp_path / "out").iterdir()] == []


def ignore_interrupt() -> None:
    """``preexec_fn``: SIGINT ignored, as a shell starts a background job of a script."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_sigint_stops_a_run_that_inherited_it_ignored_and_out_dir_is_left_as_it_was(tmp_path, big_pair, ckpt):
    out = tmp_path / "out"
    finished = subprocess.run(detect_command(big_pair, out, ckpt), capture_output=True, text=True, cwd=REPO)
    assert finished.returncode == 0, finished.stderr
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    process, _, stderr = interrupted(detect_command(big_pair, out, ckpt, "--overwrite"), signal.SIGINT,
                                     ignore_interrupt)  # fmt: skip
    assert process.returncode == 130, stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
