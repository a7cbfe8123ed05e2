"""Exact resume: a run killed with SIGKILL in the middle of an epoch and resumed ends with the weights,
the optimiser state and the losses of a run that was never interrupted, bit for bit (CPU, deterministic),
though the killed run loads its data in two worker processes and the other in its own."""

from __future__ import annotations

import json
import re
import signal

import torch

SETTINGS = {
    "model": "fc_siam_diff",
    "hparams": {"width": 4},
    "epochs": 3,
    "batch_size": 2,
    "crop": 64,
    "learning_rate": 0.01,
    "scale_range": [0.75, 1.5],
    "rotate": True,
    "val_limit": 1,
}
#: the progress bar of epoch 2 after at least one of its four steps, before its last
MID_EPOCH_2 = re.compile(r"epoch 2/3:\s+\d+%\|[^|]*\| [1-3]/4")


def _kill_in_epoch_2(process) -> str:
    seen = ""
    while process.poll() is None:
        chunk = process.stderr.read(1)
        seen += chunk
        if MID_EPOCH_2.search(seen[-200:]):
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    return seen


def _records(folder):
    lines = (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "images_per_s")} for line in lines]


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights(
    small_second, write_config, run_module, start_module, tmp_path
):
    config = write_config(**SETTINGS, data=str(small_second), workers=2)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert run_module("training.train", config, "--out", straight, "--set", "workers=0").returncode == 0

    process = start_module("training.train", config, "--out", killed)
    output = _kill_in_epoch_2(process)
    assert process.returncode == -signal.SIGKILL, output[-2000:]
    assert [r["epoch"] for r in _records(killed)] == [1]  # killed inside epoch 2
    assert torch.load(killed / "last.pt", weights_only=True)["epoch"] == 1

    resumed = run_module("training.train", config, "--out", killed, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed after epoch 1" in (killed / "log.txt").read_text(encoding="utf-8")
    a, b = torch.load(straight / "model.pt", weights_only=True), torch.load(killed / "model.pt", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    last_a, last_b = (torch.load(f / "last.pt", weights_only=True) for f in (straight, killed))
    momentum_a = [s["momentum_buffer"] for s in last_a["optimizer"]["state"].values()]
    momentum_b = [s["momentum_buffer"] for s in last_b["optimizer"]["state"].values()]
    assert all(torch.equal(x, y) for x, y in zip(momentum_a, momentum_b, strict=True))
    assert _records(straight) == _records(killed)


def test_an_existing_run_is_not_overwritten_without_resume(small_second, write_config, run_module, tmp_path):
    config = write_config(**{**SETTINGS, "epochs": 1}, data=str(small_second))
    assert run_module("training.train", config, "--out", tmp_path / "run").returncode == 0
    again = run_module("training.train", config, "--out", tmp_path / "run")
    assert again.returncode == 2 and "--resume continues it" in again.stderr
    other = run_module("training.train", config, "--out", tmp_path / "run", "--resume", "--set", "learning_rate=0.1")
    assert other.returncode == 2 and "learning_rate" in other.stderr
