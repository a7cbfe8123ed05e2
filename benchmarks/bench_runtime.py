"""torch against ONNX Runtime on the CPU, measured side by side in one run; prints one JSON object.

* **The same tiles** (a batch of ``--batch`` pairs of ``--tile``² normalised tiles) through both
  runtimes, alternating A B A B ``--repeats`` times, the fastest of each kept: seconds per tile, the
  speed-up, the model's GFLOP/s (its MACs from ``scd models``' counter, two FLOPs each; and those
  of the taps on the image, without the padding's) against the peak of a large float32 matrix
  product measured in this run (the faster of torch's and ONNX Runtime's, at the start and the
  end), and the share of pixels whose decoded change type (eq. 1) agrees.
* **Precisions** (``--precisions``, :mod:`scd_core.geo.precision`): a batch of tiles of synthetic
  scenes through fp32 and int8 ONNX Runtime and bf16 torch, alternating: seconds per tile, the
  speed-up over fp32 ONNX Runtime, the share of pixels whose change type agrees with fp32's, the F1 of
  change against the scenes' truth, and the int8 guard's verdict on its calibration tiles.
* **A whole ``scd detect``** of a ``--size``² synthetic pair with each runtime, and with each of
  ``--whole-precisions``, each in a fresh process, alternating: the speed-ups of the whole command
  with every output.

Targets (issue 12): inference ≥ 1.5× faster with ONNX Runtime, the whole detect ≥ 1.25×, model
compute ≥ 75 % of the matrix-product peak. Issue 24: int8 ≥ 2× faster than fp32 ONNX Runtime with
≥ 99 % of change types agreeing.

    python benchmarks/bench_runtime.py [--models demo,fc_siam_diff,hrscd_str4,asn] [--size 2048]
        [--precisions fp32,int8,bf16] [--whole-precisions int8]

Models other than ``demo`` (the demo checkpoint) run untrained at their default width (weights do
not change compute); exports are cached in ``--workdir`` (``SCD_CACHE_DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from scd_core import checkpoint
from scd_core.cpu_memory import keep_freed_memory
from scd_core.models import build
from scd_core.models.summary import count
from scd_core.resources import DEMO_MODEL


def matmul_peaks(size: int = 2048, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of the fastest of ``repeats`` float32 ``size``² matrix products in torch (its BLAS)
    and in ONNX Runtime (its own GEMM, which is the faster of the two on some CPUs)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a, b = torch.randn(size, size), torch.randn(size, size)
    square = [size, size]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, square) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, square)],
    )  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"a": a.numpy(), "b": b.numpy()}
    calls = {"torch": lambda: torch.mm(a, b), "onnxruntime": lambda: session.run(None, feed)}
    best = {}
    for name, call in calls.items():
        call()
        best[name] = 2 * size**3 / min(_timed(call) for _ in range(repeats)) / 1e9
    return best


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


class _PaddingTaps(TorchFunctionMode):
    """Adds up, for every 2-D convolution called (a module's or a functional one), the MACs of its
    taps on the zero padding."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        if func is torch.conv2d:
            self.macs += self._on_padding(output, *args, **(kwargs or {}))
        return output

    @staticmethod
    def _on_padding(output, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> int:
        stride, dilation = _pair(stride), _pair(dilation)
        kernel = weight.shape[2:]
        if isinstance(padding, str):  # "same" or "valid"
            padding = tuple(d * (k - 1) // 2 if padding == "same" else 0 for d, k in zip(dilation, kernel, strict=True))
        padding = _pair(padding)
        taps = 1
        for axis in range(2):
            positions = (np.arange(output.shape[2 + axis])[:, None] * stride[axis] - padding[axis]
                         + np.arange(kernel[axis])[None, :] * dilation[axis])  # fmt: skip
            taps *= int(((positions >= 0) & (positions < x.shape[2 + axis])).sum())
        all_taps = output.shape[2] * output.shape[3] * kernel[0] * kernel[1]
        return (all_taps - taps) * weight.shape[0] * weight.shape[1] * output.shape[0]


def padding_macs(name: str, tile: int, **hparams) -> int:
    """MACs of the convolution taps that fall on the zero padding around a feature map, for one pair
    of ``tile``² images.

    Both runtimes skip them (oneDNN and ONNX Runtime's blocked convolutions clip each kernel to the
    map), so the MACs that are computed are the counted ones minus these. They matter for dilated
    convolutions: a 3×3 kernel of dilation 24 on a 64² map has 44 % of its taps on padding.
    """
    with torch.device("meta"):
        model = build(name, **hparams).eval()
        image = torch.empty(1, 3, tile, tile)
    with torch.no_grad(), _PaddingTaps() as counter:
        model(image, image)
    return counter.macs


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _checkpoint(name: str, root: Path, tile: int) -> Path:
    if name == "demo":
        return DEMO_MODEL
    path = root / f"{name}.pt"
    if not path.exists():
        torch.manual_seed(0)
        checkpoint.save(build(name), path, tile_size=tile)
    return path


def _codes(probabilities: torch.Tensor, num_classes: int, threshold: float) -> np.ndarray:
    n = num_classes
    changed = probabilities[:, 2 * n] >= threshold
    first, second = probabilities[:, :n].argmax(1), probabilities[:, n : 2 * n].argmax(1)
    return ((1 + n * first + second) * changed).numpy()


def compare_runtimes(name: str, args: argparse.Namespace, root: Path) -> dict:
    """One model's tiles through torch and ONNX Runtime, A B A B."""
    from scd_core.geo import runtimes
    from scd_core.geo.progress import RunLog, silent

    path = _checkpoint(name, root, args.tile)
    model, meta = checkpoint.load(path)
    cpu = torch.device("cpu")
    torch_runner = runtimes.TorchRunner(model, cpu, amp=False)
    exported = runtimes.cached_export(path, model, meta, RunLog(silent))
    if exported is None:
        return {"exports": False}
    onnx_runner = runtimes.OnnxRunner(exported, cpu)
    generator = torch.Generator().manual_seed(1)
    shape = (args.batch, len(meta["bands"]), args.tile, args.tile)
    x1, x2 = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    results = {"torch": [torch_runner(x1, x2)], "onnxruntime": [onnx_runner(x1, x2)]}  # warm-up
    seconds: dict[str, list[float]] = {"torch": [], "onnxruntime": []}
    for _ in range(args.repeats):
        for runtime, runner in (("torch", torch_runner), ("onnxruntime", onnx_runner)):
            started = time.perf_counter()
            results[runtime] = [runner(x1, x2)]
            seconds[runtime].append(time.perf_counter() - started)
    hparams = {k: v for k, v in meta["hparams"].items() if k not in ("in_channels", "num_classes")}
    _, macs = count(meta["model"], args.tile, **hparams)
    on_image = macs - padding_macs(meta["model"], args.tile, **hparams)
    n = len(meta["classes"]) - 1
    agree = np.mean(
        _codes(results["torch"][0], n, meta["threshold"]) == _codes(results["onnxruntime"][0], n, meta["threshold"])
    )
    per_tile = {runtime: min(values) / args.batch for runtime, values in seconds.items()}
    gflops = {runtime: 2 * macs / t / 1e9 for runtime, t in per_tile.items()}
    gflops_on_image = {runtime: 2 * on_image / t / 1e9 for runtime, t in per_tile.items()}
    return {
        "exports": True,
        "seconds_per_tile": {k: round(v, 4) for k, v in per_tile.items()},
        "seconds_per_tile_runs": {k: [round(v / args.batch, 4) for v in values] for k, values in seconds.items()},
        "speedup_onnxruntime_over_torch": round(per_tile["torch"] / per_tile["onnxruntime"], 3),
        "gflops": {k: round(v, 1) for k, v in gflops.items()},
        "macs_on_padding_share": round(1 - on_image / macs, 4),
        "gflops_on_image": {k: round(v, 1) for k, v in gflops_on_image.items()},
        "decoded_pixels_agreeing": round(float(agree), 6),
    }


def compare_precisions(name: str, args: argparse.Namespace, root: Path) -> dict:
    """One model's tiles of synthetic scenes in each of ``--precisions``, alternating."""
    from scd_core.geo import precision, runtimes
    from scd_core.geo.progress import RunLog, silent
    from scd_core.normalise import make_normaliser
    from scd_core.synth import make_scene

    path = _checkpoint(name, root, args.tile)
    model, meta = checkpoint.load(path)
    cpu, log = torch.device("cpu"), RunLog(silent)
    fp32 = runtimes.cached_export(path, model, meta, log)
    if fp32 is None:
        return {"exports": False}
    runners: dict = {"fp32": runtimes.OnnxRunner(fp32, cpu)}
    report: dict = {}
    if "int8" in args.precisions:
        guarded = precision.int8_export(fp32, fp32.with_suffix(""), meta, log)
        verdict = json.loads(fp32.with_name(f"{fp32.stem}-int8.json").read_text())
        report["int8_guard"] = {"agreement": round(verdict["agreement"], 6), "passes": guarded is not None}
        runners["int8"] = runtimes.OnnxRunner(fp32.with_name(f"{fp32.stem}-int8.onnx"), cpu, precision="int8")
    if "bf16" in args.precisions:
        runners["bf16"] = runtimes.TorchRunner(model.eval(), cpu, amp=False, precision="bf16")
    normaliser = make_normaliser(meta["normalisation"], "auto", "uint8")
    scenes = [make_scene(args.tile, 300 + i) for i in range(args.batch)]
    x1, x2 = (torch.from_numpy(np.stack([normaliser(getattr(s, f"image{d}").transpose(2, 0, 1)) for s in scenes]))
              for d in (1, 2))  # fmt: skip
    truth = np.stack([s.label1 != 0 for s in scenes])
    outputs = {k: runner(x1, x2) for k, runner in runners.items()}  # warm-up
    seconds: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(args.repeats):
        for key, runner in runners.items():
            started = time.perf_counter()
            outputs[key] = runner(x1, x2)
            seconds[key].append(time.perf_counter() - started)
    n = len(meta["classes"]) - 1
    codes = {k: _codes(v, n, meta["threshold"]) for k, v in outputs.items()}
    per_tile = {k: min(v) / args.batch for k, v in seconds.items()}

    def f1(changed: np.ndarray) -> float:
        hits = float((changed & truth).sum())
        return round(2 * hits / max(float(changed.sum() + truth.sum()), 1.0), 4)

    return {
        **report,
        "seconds_per_tile": {k: round(v, 4) for k, v in per_tile.items()},
        "speedup_over_fp32_onnxruntime": {k: round(per_tile["fp32"] / v, 3) for k, v in per_tile.items()},
        "change_types_agreeing_with_fp32": {k: round(float(np.mean(c == codes["fp32"])), 6) for k, c in codes.items()},
        "f1_of_change": {k: f1(c != 0) for k, c in codes.items()},
    }


def whole_detect(args: argparse.Namespace, root: Path) -> dict:
    """``scd detect`` of a ``--size``² pair with each runtime and reduced precision, fresh processes, A B A B."""
    from scd_core.synth import write_geo_pair

    pair = root / f"pair{args.size}"
    if not (pair / "after.tif").exists():
        write_geo_pair(pair, args.size, seed=3)
    variants = {"torch": ["--runtime", "torch"], "onnxruntime": ["--runtime", "onnxruntime"]}
    variants.update({p: ["--precision", p] for p in args.whole_precisions if p != "fp32"})
    seconds: dict[str, list[float]] = {key: [] for key in variants}
    for _ in range(args.repeats):
        for key, options in variants.items():
            inputs = [str(pair / "before.tif"), str(pair / "after.tif"), "-o", str(root / f"out-{key}")]
            command = [sys.executable, "-m", "scd_core", "detect", *inputs, "--overwrite", "--progress", "none",
                       *options]  # fmt: skip
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=os.environ)
            seconds[key].append(time.perf_counter() - started)
    best = {key: min(values) for key, values in seconds.items()}
    return {
        "size": args.size,
        "model": DEMO_MODEL.name,
        "seconds": {k: round(v, 2) for k, v in best.items()},
        "seconds_runs": {k: [round(v, 2) for v in values] for k, values in seconds.items()},
        "speedup_onnxruntime_over_torch": round(best["torch"] / best["onnxruntime"], 3),
        "speedup_over_fp32_onnxruntime": {k: round(best["onnxruntime"] / best[k], 3) for k in best if k != "torch"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="demo,fc_siam_diff,hrscd_str4,asn")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=2048, help="side of the pair of the whole-detect runs")
    parser.add_argument("--workdir", default=None, help="folder for checkpoints, exports and pairs (reused)")
    parser.add_argument("--precisions", default="fp32,int8,bf16", type=lambda t: t.split(","))
    parser.add_argument("--whole-precisions", default="int8", type=lambda t: t.split(","))
    args = parser.parse_args()
    keep_freed_memory()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="scd-bench-runtime-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SCD_CACHE_DIR", str(root / "cache"))
    first = matmul_peaks()
    report: dict = {"threads": torch.get_num_threads(), "tile": args.tile, "batch": args.batch, "models": {}}
    for name in args.models.split(","):
        report["models"][name] = compare_runtimes(name, args, root)
        if args.precisions != ["fp32"]:
            report["models"][name]["precisions"] = compare_precisions(name, args, root)
        print(json.dumps({name: report["models"][name]}), file=sys.stderr, flush=True)
    report["detect"] = whole_detect(args, root)
    # the peaks once more at the end; the best product is the machine's peak (a busy moment can
    # lower one measurement)
    last = matmul_peaks()
    report["matmul_peak_gflops_runs"] = {k: [round(first[k], 1), round(last[k], 1)] for k in first}
    peak = max(*first.values(), *last.values())
    report["matmul_peak_gflops"] = round(peak, 1)
    for result in report["models"].values():
        for share, gflops in (("share_of_matmul_peak", "gflops"), ("share_of_matmul_peak_on_image", "gflops_on_image")):
            if gflops in result:
                result[share] = {k: round(v / peak, 3) for k, v in result[gflops].items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
