"""Ctrl-C stops ``scd batch --cluster local`` within seconds with one line on stderr, whether it
reaches the command alone or, as a terminal sends it, every process of its group (the workers too)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from cluster_testing import staging_leftovers, write_pairs
from detect_testing import REPO, default_interrupt, scd_command, tiny_checkpoint

#: Seconds a cancel may take: a liveness bound, not a timing (it took 27–61 s, it takes 2–5 s).
STOPS_WITHIN = 20


@pytest.mark.parametrize("group", [False, True], ids=["command", "process-group"])
def test_ctrl_c_stops_a_local_cluster_batch_within_seconds_with_one_line(tmp_path, group):
    pairs = write_pairs(tmp_path, 6, size=512)
    model = tiny_checkpoint(tmp_path / "tiny.pt", seed=7)
    out = tmp_path / "out"
    process = subprocess.Popen(
        scd_command("batch", pairs, "-o", out, "--model", model, "--tile", "128", "--progress", "json",
                    "--cluster", "local:2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, preexec_fn=default_interrupt,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line)["event"] == "pair":
            break
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert time.monotonic() - sent < STOPS_WITHIN
    assert stderr.strip() == "scd batch: interrupted"
    assert json.loads(stdout.splitlines()[-1]) == {"event": "error", "text": "interrupted", "path": None,
                                                   "cancelled": True}  # fmt: skip
    assert staging_leftovers(out) == []
    finished = [folder for folder in out.iterdir() if folder.is_dir()]
    assert 1 <= len(finished) < 6 and all((folder / "run.json").is_file() for folder in finished)
