"""torchrun: two CPU processes over gloo train one model; their all-reduced validation scores are a
one-process evaluation of the saved model, every pixel counted once, whether each process loads its
data itself or in a worker process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scd_core import checkpoint

REPO = Path(__file__).resolve().parents[3]


def _torchrun(config: Path, out: Path, *args: str) -> None:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "training.train", str(config), *args, "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines() == [str(out / "model.pt")]  # rank 0 alone prints and writes
    assert "2 process(es)" in (out / "log.txt").read_text(encoding="utf-8")


def _scored_like_one_process(out: Path, data: Path, run_module) -> None:
    validated = json.loads((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])["val"]
    # the run validates on the 3 pairs of val/, 2 on rank 0 and 1 on rank 1 (nothing padded); a
    # one-process evaluation of the saved model must give the very same matrices, hence the same scores
    one = run_module("training.evaluate", "--checkpoint", out / "model.pt", "--data", data, "--json")
    assert one.returncode == 0, one.stderr[-2000:]
    evaluated = json.loads(one.stdout)
    assert evaluated["pairs"] == 3
    assert evaluated["per_date"] == validated["per_date"] and evaluated["from_to"] == validated["from_to"]


def test_two_process_torchrun_smoke_writes_model_pt_scored_like_one_process(
    small_second, write_config, run_module, tmp_path
):
    config = write_config(model="hrscd_str4", hparams={"encoder": "residual"}, data=str(small_second))
    out = tmp_path / "run"
    _torchrun(config, out, "--smoke")
    _, metadata = checkpoint.load(out / "model.pt")
    assert metadata["model"] == "hrscd_str4" and metadata["epochs"] == 1
    _scored_like_one_process(out, small_second, run_module)


def test_two_processes_loading_in_worker_processes_still_score_every_pixel_once(
    small_second, write_config, run_module, tmp_path
):
    settings = {"epochs": 1, "max_steps": 2, "batch_size": 2, "crop": 64, "workers": 1}
    config = write_config(model="hrscd_str4", hparams={"width": 2}, data=str(small_second), **settings)
    _torchrun(config, tmp_path / "run")
    assert "2 process(es) loading with 1 worker(s) each" in (tmp_path / "run" / "log.txt").read_text(encoding="utf-8")
    _scored_like_one_process(tmp_path / "run", small_second, run_module)
