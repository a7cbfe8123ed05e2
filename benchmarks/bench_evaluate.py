"""Speed of `scd evaluate` on SECOND-sized folders, against the naive way, measured in one run.

The naive way is what common SECOND scripts do: one pair after another, each RGB label decoded by
comparing it with every class colour in turn. Both score the same files; the script checks that
they agree and prints one JSON object:

    python benchmarks/bench_evaluate.py [--pairs 1000] [--distinct 100] [--size 512]

Generating a scene costs more than scoring it, so ``--distinct`` scenes are generated and hard-linked
under further names up to ``--pairs`` files per folder: every file is still decoded and scored.
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
from PIL import Image

from scd_core import synth
from scd_core.labels import CLASSES
from scd_core.metrics import SCDConfusion


def naive_read(path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    index = np.zeros(rgb.shape[:2], np.uint8)
    for land_cover in CLASSES:
        index[np.all(rgb == land_cover.rgb, axis=-1)] = land_cover.index
    return index


def naive_evaluate(pred_root: Path, gt_root: Path) -> dict:
    confusion = SCDConfusion()
    for path in sorted((gt_root / "label1").glob("*.png")):
        maps = [
            naive_read(root / folder / path.name) for root in (pred_root, gt_root) for folder in ("label1", "label2")
        ]
        confusion.update(*maps)
    return confusion.scores()


def link_copies(root: Path, pairs: int) -> None:
    """Hard-link the generated pairs under new names until each folder holds ``pairs`` files."""
    folders = ("label1", "label2")
    generated = sorted(p.name for p in (root / "label1").glob("*.png"))
    for index in range(len(generated), pairs):
        source = generated[index % len(generated)]
        for folder in folders:
            os.link(root / folder / source, root / folder / f"copy{index:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=100, help="scenes generated; the rest are links to them")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "second"
        started = time.perf_counter()
        synth.write_second(root, n_pairs=min(args.distinct, args.pairs), size=args.size, seed=0)
        generated = time.perf_counter() - started
        link_copies(root, args.pairs)

        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "scd_core", "evaluate", str(root), str(root), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        ours_seconds = time.perf_counter() - started
        ours = json.loads(done.stdout)

        started = time.perf_counter()
        naive = naive_evaluate(root, root)
        naive_seconds = time.perf_counter() - started

    assert ours["from_to"] == naive["from_to"] and ours["per_date"] == naive["per_date"]
    print(
        json.dumps(
            {
                "pairs": args.pairs,
                "distinct_scenes": min(args.distinct, args.pairs),
                "size": args.size,
                "cpu_cores": os.cpu_count(),
                "generate_seconds": round(generated, 2),
                "scd_evaluate_seconds": round(ours_seconds, 2),
                "scd_evaluate_pairs_per_second": round(args.pairs / ours_seconds, 1),
                "naive_seconds": round(naive_seconds, 2),
                "speedup_vs_naive": round(naive_seconds / ours_seconds, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
