"""``benchmarks/bench_training.py`` runs end to end at toy size and reports every figure the README
quotes (the figures themselves are the script's business, never a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]


def test_bench_training_reports_overhead_sek_and_gpu_lines(tmp_path):
    args = ["--model=fc_siam_diff", "--pairs=4", "--size=64", "--crop=64", "--batch=2", "--steps=2", "--rounds=1"]
    args += ["--width=2"]
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
    assert report["sek"]["threshold"] == 0.5 and 0 <= report["sek"]["max_change_probability"] <= 1
    assert set(report["sek"]) >= {"from_to_SeK", "per_date_SeK", "IoU_c", "optimiser_steps", "train_seconds"}
    if torch.cuda.is_available():
        assert set(report["gpu"]) == {"available", "device", "amp", "images_per_s", "peak_memory_gib"}
    else:
        assert report["gpu"] == {"available": False}
