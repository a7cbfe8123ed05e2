"""``scd train`` on real imagery: held-out F1 of change on OSCD's cities, beside a naive baseline.

Rotates through the cities of ``--root`` (folders ``<city>/{before,after,change}.tif``: OSCD's 11
Sentinel-2 cities in ``../shared/data/oscd``, 4 bands, binary urban-change labels): the cities fall
into ``--folds`` groups (sorted by name, every ``folds``-th city in one group); for each group,
``scd train`` with its defaults learns from the other cities' pairs (a PAIRS.csv with a ``change``
column, nothing else), then ``scd detect`` and ``scd score`` run the model on each held-out city. Every
city is scored once, by a model that never saw it.

Beside each score: **change-vector analysis** (CVA), the naive baseline: both dates read as the
engine reads them (AFTER warped onto BEFORE's grid, one 2-98 % stretch per band for both dates), the
Euclidean distance between them per pixel, thresholded by Otsu's method (the threshold that maximises
the between-class variance of the distances' histogram). And each fold's training time.

Target (issue 21): mean F1 of change ≥ 0.45 over the held-out cities, with each training ≤ 60 min on
2 CPU cores. Prints one JSON object. Options after ``--`` go to ``scd train`` as they are (the tests
run it tiny that way).

Usage: ``python benchmarks/bench_own_data.py [--root ../shared/data/oscd] [--folds 3] [--work DIR] [-- TRAIN OPTIONS]``
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_F1 = 0.45
TARGET_TRAIN_MINUTES = 60


def scd(*args: str) -> subprocess.CompletedProcess:
    """``scd ARGS`` in a fresh process, as an analyst runs it; its output kept."""
    done = subprocess.run([sys.executable, "-m", "scd_core", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"scd {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values``: the cut of their histogram with the largest between-class variance."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts).astype(np.float64)
    total = weight[-1]
    cumulative = np.cumsum(counts * centres)
    mean_low = cumulative / np.maximum(weight, 1)
    mean_high = (cumulative[-1] - cumulative) / np.maximum(total - weight, 1)
    between = weight * (total - weight) * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def f1_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of change (0-1)."""
    tp = int((predicted & truth).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    return {"precision": precision, "recall": recall, "F1": 2 * precision * recall / max(precision + recall, 1e-12)}


def change_vector_analysis(city: Path) -> dict[str, float]:
    """CVA with Otsu's threshold on ``city``'s pair, scored against its change.tif where it has data."""
    from scd_core.own_data.imagery import read_pair
    from scd_core.own_data.labels import read_raster
    from scd_core.own_data.source import SCALING
    from scd_core.own_data.table import TrainingPair

    before, after, change = (str(city / name) for name in ("before.tif", "after.tif", "change.tif"))
    pair = TrainingPair(city.name, before, after, None, "change", (change,), 0)
    imagery, _ = read_pair(pair, None, SCALING)
    labels = read_raster(change, imagery.grid, pair)
    scored = imagery.valid & (labels >= 0)
    distance = np.sqrt(((imagery.images[1] - imagery.images[0]) ** 2).sum(axis=0))
    threshold = otsu(distance[scored])
    return {**f1_scores(distance[scored] > threshold, labels[scored] > 0), "threshold": threshold}


def write_pairs(path: Path, cities: list[Path]) -> Path:
    """A PAIRS.csv of ``cities`` with their change rasters."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "before", "after", "change"])
        for city in cities:
            writer.writerow([city.name, city / "before.tif", city / "after.tif", city / "change.tif"])
    return path


def run_fold(number: int, training: list[Path], held_out: list[Path], work: Path, options: list[str]) -> dict:
    """Train on ``training``, score every city of ``held_out`` with the model and with CVA."""
    folder = work / f"fold{number}"
    folder.mkdir(parents=True, exist_ok=True)
    pairs = write_pairs(folder / "pairs.csv", training)
    started = time.perf_counter()
    scd("train", str(pairs), "-o", str(folder / "run"), "--progress", "none", *options)
    seconds = time.perf_counter() - started
    model = folder / "run" / "model.pt"
    cities = {}
    for city in held_out:
        out = folder / city.name
        scd(
            "detect",
            str(city / "before.tif"),
            str(city / "after.tif"),
            "--model",
            str(model),
            "-o",
            str(out),
            "--progress",
            "none",
        )
        score = json.loads(scd("score", str(out), str(city / "change.tif"), "--json").stdout)["binary"]
        cities[city.name] = {
            "fold": number,
            "F1": score["F1"] / 100,
            "precision": score["precision"] / 100,
            "recall": score["recall"] / 100,
            "cva": change_vector_analysis(city),
        }
    epochs = len((folder / "run" / "metrics.jsonl").read_text().splitlines())
    return {
        "fold": {
            "train": [c.name for c in training],
            "held_out": [c.name for c in held_out],
            "train_seconds": seconds,
            "epochs": epochs,
        },
        "cities": cities,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "data" / "oscd", help="city folders")
    parser.add_argument("--folds", type=int, default=3, help="groups of held-out cities (each trains once)")
    parser.add_argument(
        "--only-folds", type=int, nargs="*", help="run these folds only (1-based), e.g. to share runs out"
    )
    parser.add_argument("--work", type=Path, help="keep runs and outputs here (default: a temporary folder)")
    args, options = parser.parse_known_args()
    options = [o for o in options if o != "--"]
    cities = sorted(p for p in args.root.iterdir() if (p / "change.tif").is_file())
    if len(cities) < 2 or not 2 <= args.folds <= len(cities):
        raise SystemExit(f"{args.root}: needs at least 2 cities and 2 ≤ --folds ≤ cities")
    groups = [cities[i :: args.folds] for i in range(args.folds)]
    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        folds, scores = [], {}
        for number, held_out in enumerate(groups, 1):
            if args.only_folds and number not in args.only_folds:
                continue
            training = [c for c in cities if c not in held_out]
            result = run_fold(number, training, held_out, work, options)
            folds.append(result["fold"])
            scores.update(result["cities"])
    mean = float(np.mean([s["F1"] for s in scores.values()]))
    mean_cva = float(np.mean([s["cva"]["F1"] for s in scores.values()]))
    minutes = max(f["train_seconds"] for f in folds) / 60
    report = {
        "root": str(args.root),
        "train_options": options,
        "folds": folds,
        "cities": scores,
        "mean_F1": mean,
        "mean_cva_F1": mean_cva,
        "F1_over_cva": mean / mean_cva if mean_cva else None,
        "target_mean_F1": TARGET_F1,
        "longest_training_minutes": minutes,
        "target_training_minutes": TARGET_TRAIN_MINUTES,
        "met": mean >= TARGET_F1 and minutes <= TARGET_TRAIN_MINUTES,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
