"""``make gpu-check``: every path of scd that needs a GPU, in one run of at most 8 minutes; prints JSON.

On a machine without a CUDA device it prints ``{"gpu": null, ...}`` with the reason and exits 0, so
that CI and laptops can run it. On a GPU (the ``device`` machines lent now and then) it runs, each
step under its own time limit, and reports each step's outcome and figures:

* ``tests``: the tests marked ``gpu`` (AMP training steps, detection with AMP and pinned memory,
  ONNX Runtime's CUDA provider where it is installed), as pytest counts them;
* ``detect``: ``benchmarks/bench_detect.py --device cuda`` (megapixels per second, the GPU's busy
  share, the engine's overhead);
* ``training``: ``benchmarks/bench_training.py``'s timing of ASN at full width, 512² crops, batch 4
  (images per second and peak GPU memory come in its JSON);
* ``ddp``: one DistributedDataParallel smoke run under ``torchrun`` where there are two GPUs or more.

Commit the JSON under ``benchmarks/results/`` and put its figures in the README, naming the GPU.

    python benchmarks/gpu_check.py [--out benchmarks/results/gpu-check.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
#: Seconds each step may take, together under the 8 minutes of a lent GPU's check.
LIMITS = {"tests": 150, "detect": 120, "training": 120, "ddp": 60}


def _step(command: list[str], limit: int) -> dict:
    """Run ``command`` in the checkout; its outcome, seconds, and its last JSON object on stdout if any."""
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"ok": False, "seconds": limit, "error": f"stopped after {limit} s"}
    result: dict = {"ok": done.returncode == 0, "seconds": round(time.perf_counter() - started, 1)}
    start = done.stdout.find("{")
    if start >= 0:
        try:
            result["report"] = json.loads(done.stdout[start:])
        except json.JSONDecodeError:
            result["stdout_tail"] = done.stdout[-2000:]
    else:
        result["stdout_tail"] = done.stdout[-2000:]
    if done.returncode:
        result["stderr_tail"] = done.stderr[-2000:]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="also write the JSON here (on a GPU)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        report: dict = {
            "gpu": None,
            "reason": "no CUDA device: nothing to check here (exit 0)",
            "torch": torch.__version__,
        }
    else:
        python, work = sys.executable, tempfile.mkdtemp(prefix="scd-gpu-check-")
        count = torch.cuda.device_count()
        tests = [python, "-m", "pytest", "-q", "-m", "gpu", "tests/core"]
        detect = [python, "benchmarks/bench_detect.py", "--device", "cuda", "--size", "2048", "--big", "4096",
                  "--models", "asn", "--repeats", "2", "--workdir", f"{work}/detect"]  # fmt: skip
        training = [python, "benchmarks/bench_training.py", "--model", "asn", "--width", "8", "--size", "512",
                    "--crop", "512", "--batch", "4", "--workdir", f"{work}/training"]  # fmt: skip
        report = {
            "gpu": torch.cuda.get_device_name(0),
            "gpus": count,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "tests": _step(tests, LIMITS["tests"]),
            "detect": _step(detect, LIMITS["detect"]),
            "training": _step(training, LIMITS["training"]),  # ASN's full width is 8 (scd models)
        }
        if count >= 2:
            data = f"{work}/ddp-data"
            for split, seed in (("train", "1"), ("val", "2")):
                synth = [python, "-m", "scd_core", "synth", "second", f"{data}/{split}", "--pairs", "8", "--seed", seed]
                subprocess.run([*synth, "--size", "128"], cwd=REPO, check=True, capture_output=True)
            config = str(REPO / "training" / "configs" / "second_asn.yaml")
            ddp = ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "training.train", config, "--smoke",
                   "--data", data, "--out", f"{work}/ddp"]  # fmt: skip
            report["ddp"] = _step(ddp, LIMITS["ddp"])
    text = json.dumps(report, indent=2)
    if args.out and report["gpu"] is not None:  # a CPU's answer is no figure to keep
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
