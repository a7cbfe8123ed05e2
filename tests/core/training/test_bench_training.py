"""``benchmarks/bench_training.py`` runs end to end at toy size and reports every figure the README
quotes (the figures themselves are the script's business, never a test's): the trainer's overhead,
the loader's cost against the same samples fed from memory, SeK at τ = 0.5, and the GPU line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scd_core.devices import resolve_device
from scd_core.trainer.loading import default_workers

REPO = Path(__file__).resolve().parents[3]


def test_bench_training_reports_overhead_loader_sek_and_gpu_lines(tmp_path):
    args = ["--model=fc_siam_diff", "--pairs=4", "--size=64", "--crop=64", "--batch=2", "--steps=2", "--rounds=1"]
    args += ["--width=2", "--loader-size=64", "--loader-steps=2"]
    args += ["--sek-epochs=1", "--sek-steps=2", "--sek-batch=2", f"--workdir={tmp_path}"]
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_training.py"), *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    overhead = report["overhead"]
    assert len(overhead["trainer_epoch_s_runs"]) == len(overhead["bare_epoch_s_runs"]) == 2
    fastest = min(overhead["trainer_epoch_s_runs"]) / min(overhead["bare_epoch_s_runs"]) - 1
    assert overhead["overhead_ratio"] == pytest.approx(fastest, abs=0.05) and overhead["target"] == 0.10
    loader = report["loader"]
    assert loader["batch"] == 4 and loader["workers"] == default_workers(resolve_device("auto"))
    assert loader["cached"] is True
    assert all(len(loader[f"{name}_epoch_s_runs"]) == 2 for name in ("loader", "memory", "before"))
    fastest = {name: min(loader[f"{name}_epoch_s_runs"][1::2]) for name in ("loader", "memory", "before")}
    assert loader["loader_cost"] == pytest.approx(fastest["loader"] / fastest["memory"] - 1, abs=0.05)
    assert loader["before_cost"] == pytest.approx(fastest["before"] / fastest["memory"] - 1, abs=0.05)
    assert loader["memory_images_per_s"] == pytest.approx(2 * 4 / fastest["memory"], rel=0.05)
    assert report["sek"]["threshold"] == 0.5 and 0 <= report["sek"]["max_change_probability"] <= 1
    assert set(report["sek"]) >= {"from_to_SeK", "per_date_SeK", "IoU_c", "optimiser_steps", "train_seconds"}
    if torch.cuda.is_available():
        assert set(report["gpu"]) == {"available", "device", "amp", "images_per_s", "peak_memory_gib"}
    else:
        assert report["gpu"] == {"available": False}
