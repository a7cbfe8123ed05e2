"""The Dask path against the one-process path on the same pairs, on this machine; prints one JSON object.

* **Overhead**: ``scd batch`` over ``--pairs`` pairs in one process, against ``scd batch --cluster
  local:1`` (one worker with every core) on the same pairs, each run a fresh command, alternating A B
  ``--repeats`` times, the fastest of each kept; the time to start the embedded cluster is measured
  on its own and given with and without it. Target (issue 13): ≤ 10 %.
* **Throughput** with 1 and 2 workers (``local:1``, ``local:2``), in pairs per minute.
* **Per pair and per block**: seconds per pair in one process, and seconds per block of a split
  ``scd detect --cluster local:2`` of a ``--mosaic``² pair in ``--block``² blocks, the figures the
  README scales to 10,000 pairs and to a 200,000² mosaic on N machines.

    python benchmarks/bench_cluster.py [--pairs 8] [--size 1024] [--mosaic 2048] [--block 1024]

Runs the demo model (resources/models/demo.pt) with every output, as a user would.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scd_core.resources import DEMO_MODEL
from scd_core.synth import write_geo_pair


def _scd(*args: object) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scd_core", *map(str, args)], check=True, capture_output=True)
    return time.perf_counter() - started


def _pairs(root: Path, count: int, size: int) -> Path:
    csv = root / f"pairs-{count}x{size}.csv"
    rows = ["id,before,after"]
    for i in range(count):
        folder = root / f"pair{size}-{i}"
        if not (folder / "after.tif").exists():
            write_geo_pair(folder, size, seed=200 + i)
        rows.append(f"p{i},{folder / 'before.tif'},{folder / 'after.tif'}")
    csv.write_text("\n".join(rows) + "\n")
    return csv


def _batch(csv: Path, out: Path, cluster: str | None) -> float:
    """One whole ``scd batch`` into an empty ``out``: a re-run would skip the pairs it finds finished."""
    shutil.rmtree(out, ignore_errors=True)
    extra = [] if cluster is None else ["--cluster", cluster]
    seconds = _scd("batch", csv, "-o", out, "--model", DEMO_MODEL, "--progress", "none", *extra)
    expected = len(csv.read_text().splitlines()) - 1
    if len(list(out.glob("*/run.json"))) != expected:
        raise SystemExit(f"{out}: the batch did not write every pair's run.json")
    return seconds


def cluster_start_seconds() -> float:
    """Seconds to start and stop an embedded one-worker cluster with nothing to do."""
    code = "from scd_core.cluster.connect import connect\nwith connect('local:1') as client: client.wait_for_workers(1)"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--mosaic", type=int, default=2048)
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", default=None, help="folder for pairs and outputs (pairs are reused)")
    args = parser.parse_args()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="scd-bench-cluster-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SCD_CACHE_DIR", str(root / "cache"))
    csv = _pairs(root, args.pairs, args.size)
    _batch(csv, root / "warm", None)  # the ONNX export is cached once, outside every timing
    serial, dask1 = [], []
    for _ in range(args.repeats):
        serial.append(_batch(csv, root / "serial", None))
        dask1.append(_batch(csv, root / "dask1", "local:1"))
    dask2 = min(_batch(csv, root / "dask2", "local:2") for _ in range(args.repeats))
    start = min(cluster_start_seconds() for _ in range(args.repeats))
    one, on_one, on_two = min(serial), min(dask1), dask2
    folder = root / f"mosaic{args.mosaic}"
    if not (folder / "after.tif").exists():
        write_geo_pair(folder, args.mosaic, seed=300)
    inputs = (folder / "before.tif", folder / "after.tif", "-o", root / "split", "--model", DEMO_MODEL)
    split = _scd(
        "detect", *inputs, "--progress", "none", "--overwrite", "--cluster", "local:2", "--block-size", args.block
    )
    blocks = math.ceil(args.mosaic / args.block) ** 2
    report = {
        "pairs": args.pairs,
        "size": args.size,
        "cores": os.cpu_count(),
        "one_process_s": round(one, 2),
        "one_process_s_runs": [round(t, 2) for t in serial],
        "cluster_local1_s": round(on_one, 2),
        "cluster_local1_s_runs": [round(t, 2) for t in dask1],
        "cluster_start_s": round(start, 2),
        "overhead": round(on_one / one - 1, 3),
        "overhead_without_start": round((on_one - start) / one - 1, 3),
        "pairs_per_minute": {
            "one_process": round(60 * args.pairs / one, 2),
            "local1": round(60 * args.pairs / on_one, 2),
            "local2": round(60 * args.pairs / on_two, 2),
        },
        "seconds_per_pair": round(one / args.pairs, 3),
        "split_detect": {
            "mosaic": args.mosaic,
            "block": args.block,
            "blocks": blocks,
            "seconds": round(split, 2),
            "seconds_per_block_2_workers": round(split / blocks, 3),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
