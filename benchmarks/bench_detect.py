"""Benchmark of the detection engine; prints one JSON object, every ratio measured in this one run.

* engine overhead: ``scd_core.detect``'s tiled loop against the model alone on the same tiles (already
  in memory, same batches), each timed ``--repeats`` times in turn, the fastest of each kept (timings on
  a shared 2-core machine vary by 10–30 % between identical runs); target ≤ 15 %;
* memory: peak RSS of a SIZE² pair against a BIG² pair (each run in its own process); target ≤ 1.25;
* megapixels per second on CPU for each model (ASN and a small baseline by default);
* the naive way (whole rasters in memory, one tile at a time, no batching): speed and memory ratios;
* with a GPU: megapixels per second with AMP, and the share of the loop the GPU was busy.

Usage: ``python benchmarks/bench_detect.py [--size 2048] [--big 8192] [--models asn,fc_siam_diff]``.
The speed models run untrained (weights do not change their compute) at threshold 0.99 (which changes
no compute either, and keeps their noise from becoming millions of polygons); the memory and naive
comparisons run the demo model, whose change maps look like real ones. Pairs come from
:mod:`scd_core.synth`. Every measurement runs in a fresh process set up as ``scd detect``'s is
(:func:`scd_core.cpu_memory.keep_freed_memory`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scd_core.cpu_memory import keep_freed_memory
from scd_core.resources import DEMO_MODEL


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_detect(args: argparse.Namespace) -> dict:
    import scd_core

    started = time.perf_counter()
    result = scd_core.detect(
        args.before,
        args.after,
        args.ckpt,
        args.out,
        tile=args.tile,
        overlap=args.overlap,
        batch=args.batch,
        device=args.device,
        threshold=args.threshold,
        runtime="torch",  # the model alone runs in torch too; benchmarks/bench_runtime.py compares runtimes
        overwrite=True,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "loop_seconds": result.timings["inference"],
        "model_seconds": result.timings["model"],
        "tiles": result.counts["tiles"],
        "features": result.counts["features"],
        "peak_rss_mb": peak_rss_mb(),
    }


def _tiles_in_memory(args: argparse.Namespace):
    """Every tile of the run, read and normalised up front, as the engine would feed them."""
    import rasterio
    import torch

    from scd_core import checkpoint
    from scd_core.geo.grid import TilePlan
    from scd_core.normalise import make_normaliser

    model, meta = checkpoint.load(args.ckpt, args.device)
    arrays = []
    for path in (args.before, args.after):
        with rasterio.open(path) as dataset:
            arrays.append(dataset.read().astype(np.float32))
    normaliser = make_normaliser(meta["normalisation"], "none", "uint8")
    arrays = [normaliser(a) for a in arrays]
    plan = TilePlan.build(arrays[0].shape[1], arrays[0].shape[2], args.tile, args.overlap)
    tiles = list({(t.row, t.col): t for t in plan.tiles()}.values())
    crops = [
        [torch.from_numpy(a[:, t.row : t.row + t.height, t.col : t.col + t.width].copy()) for t in tiles]
        for a in arrays
    ]
    return model, meta, plan, tiles, crops, arrays


def worker_model(args: argparse.Namespace) -> dict:
    """The model alone on the engine's tiles, in the engine's batches."""
    import torch

    from scd_core.geo.blending import tile_probabilities
    from scd_core.models.inference import forward_padded

    model, _, _, tiles, crops, _ = _tiles_in_memory(args)
    device = torch.device(args.device)
    seconds = 0.0
    with torch.inference_mode():
        for start in range(0, len(tiles), args.batch):
            x1 = torch.stack(crops[0][start : start + args.batch]).to(device)
            x2 = torch.stack(crops[1][start : start + args.batch]).to(device)
            began = time.perf_counter()
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda"):
                outputs = forward_padded(model, x1, x2)
            tile_probabilities(outputs).cpu()
            seconds += time.perf_counter() - began
    return {"seconds": seconds, "tiles": len(tiles)}


def worker_naive(args: argparse.Namespace) -> dict:
    """Whole rasters and whole-raster accumulators in memory, one tile at a time, no threads."""
    import rasterio
    import torch

    from scd_core.geo.blending import tile_probabilities
    from scd_core.geo.grid import blend_weights
    from scd_core.labels import change_code
    from scd_core.models.inference import forward_padded

    started = time.perf_counter()
    model, meta, plan, tiles, crops, _arrays = _tiles_in_memory(args)
    sums = np.zeros((13, plan.height, plan.width), np.float32)
    weights = np.zeros((plan.height, plan.width), np.float32)
    w = blend_weights(plan.tile_height, plan.tile_width, plan.overlap)
    with torch.inference_mode():
        for k, tile in enumerate(tiles):
            outputs = forward_padded(model, crops[0][k][None], crops[1][k][None])
            where = (slice(tile.row, tile.row + tile.height), slice(tile.col, tile.col + tile.width))
            sums[:, where[0], where[1]] += tile_probabilities(outputs)[0].numpy() * w
            weights[where] += w
    mean = sums / weights
    changed = mean[12] >= meta["threshold"]
    before, after = (
        ((mean[0:6].argmax(0) + 1) * changed).astype(np.uint8),
        ((mean[6:12].argmax(0) + 1) * changed).astype(np.uint8),
    )
    with rasterio.open(args.before) as source:
        profile = {**source.profile, "count": 1, "dtype": "uint8", "compress": "deflate", "tiled": True}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name, values in (
        ("change_type", change_code(before, after)),
        ("before_class", before),
        ("after_class", after),
        ("change_prob", np.round(mean[12] * 250).astype(np.uint8)),
    ):
        with rasterio.open(Path(args.out) / f"{name}.tif", "w", **profile) as dataset:
            dataset.write(values, 1)
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


WORKERS = {"detect": worker_detect, "model": worker_model, "naive": worker_naive}
#: Threshold of the untrained speed models' runs: it changes no compute of the loop, but keeps their
#: near-0.5 noise from becoming millions of one-pixel polygons whose vectorising would dwarf the model.
SPEED_RUN_THRESHOLD = 0.99


def geo_pair(root: Path, size: int) -> tuple[Path, Path]:
    """The synthetic SIZE² pair in ``root``, made once: an 8192² pair takes minutes, so later runs with
    the same ``--workdir`` reuse it."""
    from scd_core.synth import write_geo_pair

    folder = root / f"pair{size}"
    if not (folder / "after.tif").exists():
        write_geo_pair(folder, size, seed=1, keep_scene=False)
    return folder / "before.tif", folder / "after.tif"


def spawn(kind: str, **options) -> dict:
    """Run one measurement in a fresh process, so peak RSS is its own."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        *(f"--{k.replace('_', '-')}={v}" for k, v in options.items()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--big", type=int, default=8192)
    parser.add_argument("--models", default="asn,fc_siam_diff", help="registry names, run untrained for speed")
    parser.add_argument(
        "--memory-model",
        default=str(DEMO_MODEL),
        help="checkpoint for the memory and naive comparisons (default: the demo model); a trained model draws "
        "realistic change maps, where an untrained one draws noise whose millions of polygons would dominate",
    )
    parser.add_argument("--width", type=int, default=None, help="model width hparam (default: the model's)")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=128, help="the engine's default for 512-pixel tiles")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings of the engine and of the model alone, taken in turn"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default=None, help="folder for pairs and outputs; pairs already there are reused")
    parser.add_argument("--threshold", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    for name in ("before", "after", "ckpt", "out"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    return parser.parse_args()


def speed_of_model(name: str, args: argparse.Namespace, root: Path, pair: tuple[Path, Path], common: dict) -> dict:
    """The engine against the model alone on the same tiles, ``--repeats`` times each in turn."""
    import torch

    from scd_core import checkpoint
    from scd_core.models import build

    ckpt = root / f"{name}.ckpt"
    checkpoint.save(build(name, **({"width": args.width} if args.width else {})), ckpt, tile_size=args.tile)
    paths = {"before": pair[0], "after": pair[1], "ckpt": ckpt}
    engines, alones = [], []
    for _ in range(args.repeats):
        engines.append(
            spawn(
                "detect", **paths, out=root / f"out-{name}", device=args.device, threshold=SPEED_RUN_THRESHOLD, **common
            )
        )
        alones.append(spawn("model", **paths, out=root / "unused", device=args.device, **common))
    engine = min(engines, key=lambda run: run["loop_seconds"])
    alone = min(alones, key=lambda run: run["seconds"])
    megapixels = args.size**2 / 1e6
    entry = {
        "engine_loop_s": round(engine["loop_seconds"], 2),
        "engine_loop_s_runs": [round(run["loop_seconds"], 2) for run in engines],
        "engine_total_s": round(engine["seconds"], 2),
        "model_alone_s": round(alone["seconds"], 2),
        "model_alone_s_runs": [round(run["seconds"], 2) for run in alones],
        "engine_overhead": round(engine["loop_seconds"] / alone["seconds"] - 1, 3),
        "megapixels_per_s_cpu": round(megapixels / engine["seconds"], 3) if args.device == "cpu" else None,
        "features": engine["features"],
    }
    if torch.cuda.is_available():
        gpu = spawn(
            "detect",
            **paths,
            out=root / f"out-{name}-gpu",
            device="cuda",
            threshold=SPEED_RUN_THRESHOLD,
            **{**common, "batch": 8},
        )
        entry["megapixels_per_s_gpu_amp"] = round(megapixels / gpu["seconds"], 3)
        entry["gpu_busy_share"] = round(gpu["model_seconds"] / gpu["loop_seconds"], 3)
    return entry


def memory_and_naive(args: argparse.Namespace, root: Path, pairs: dict, common: dict) -> tuple[dict, dict]:
    """Peak memory of the engine at both sizes, and the naive way's time and memory beside it."""
    small = Path(args.memory_model)
    memory = {
        size: spawn(
            "detect", before=pair[0], after=pair[1], ckpt=small, out=root / f"mem{size}", device=args.device, **common
        )
        for size, pair in pairs.items()
    }
    naive, naive_big = (
        spawn(
            "naive",
            before=pairs[size][0],
            after=pairs[size][1],
            ckpt=small,
            out=root / out,
            device=args.device,
            **common,
        )
        for size, out in ((args.size, "naive"), (args.big, "naive-big"))
    )
    memory_report = {
        "model": small.name,
        f"peak_rss_mb_{args.size}": round(memory[args.size]["peak_rss_mb"], 1),
        f"peak_rss_mb_{args.big}": round(memory[args.big]["peak_rss_mb"], 1),
        "rss_ratio_big_over_small": round(memory[args.big]["peak_rss_mb"] / memory[args.size]["peak_rss_mb"], 3),
    }
    naive_report = {
        "model": small.name,
        f"naive_rasters_only_s_{args.size}": round(naive["seconds"], 2),
        f"engine_all_outputs_s_{args.size}": round(memory[args.size]["seconds"], 2),
        "speed_ratio_naive_over_engine": round(naive["seconds"] / memory[args.size]["seconds"], 3),
        f"naive_peak_rss_mb_{args.big}": round(naive_big["peak_rss_mb"], 1),
        "memory_ratio_naive_over_engine_big": round(naive_big["peak_rss_mb"] / memory[args.big]["peak_rss_mb"], 3),
    }
    return memory_report, naive_report


def main() -> None:
    args = parse_args()
    if args.worker:
        keep_freed_memory()
        print(json.dumps(WORKERS[args.worker](args)))
        return

    import torch

    root = Path(args.workdir or tempfile.mkdtemp(prefix="scd-bench-"))
    pairs = {size: geo_pair(root, size) for size in (args.size, args.big)}
    common = {"tile": args.tile, "overlap": args.overlap, "batch": args.batch}
    report: dict = {"size": args.size, "big": args.big, **common, "threads": torch.get_num_threads(), "models": {}}
    for name in args.models.split(","):
        entry = speed_of_model(name, args, root, pairs[args.size], common)
        report["models"][name] = entry
        print(json.dumps({name: entry}), file=sys.stderr, flush=True)  # partial results survive an interrupted run
    report["memory"], report["naive"] = memory_and_naive(args, root, pairs, common)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
