"""torchrun: two CPU processes over gloo train one model; their all-reduced validation scores are a
one-process evaluation of the saved model, every pixel counted once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scd_core import checkpoint

REPO = Path(__file__).resolve().parents[3]


def test_two_process_torchrun_smoke_writes_model_pt_scored_like_one_process(
    small_second, write_config, run_module, tmp_path
):
    config = write_config(model="hrscd_str4", hparams={"encoder": "residual"}, data=str(small_second))
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "training.train", str(config), "--smoke", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines() == [str(out / "model.pt")]  # rank 0 alone prints and writes
    assert "2 process(es)" in (out / "log.txt").read_text(encoding="utf-8")
    _, metadata = checkpoint.load(out / "model.pt")
    assert metadata["model"] == "hrscd_str4" and metadata["epochs"] == 1

    validated = json.loads((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])["val"]
    # the smoke run validates on the 3 pairs of val/, 2 on rank 0 and 1 on rank 1 (nothing padded); a
    # one-process evaluation of the saved model must give the very same matrices, hence the same scores
    one = run_module("training.evaluate", "--checkpoint", out / "model.pt", "--data", small_second, "--json")
    assert one.returncode == 0, one.stderr[-2000:]
    evaluated = json.loads(one.stdout)
    assert evaluated["pairs"] == 3
    assert evaluated["per_date"] == validated["per_date"] and evaluated["from_to"] == validated["from_to"]
