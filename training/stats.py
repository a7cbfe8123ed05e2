"""Per-date normalisation statistics of a dataset's training split, as a config's ``normalisation``.

    python -m training.stats ROOT [--dataset second|landsat_scd] [--split train] [--json]

Every pixel of every image of the split counts once: mean and standard deviation per band, on the
images' 0-255 values, for each date (SCanNet and LSAFNet normalise Landsat-SCD's dates with their own
statistics) and for both dates pooled. The YAML printed is the pooled one, ready for a config: a
checkpoint normalises both dates alike (:mod:`scd_core.checkpoint`), and ``scd detect`` must apply it
to rasters whose date order it does not know. The per-date figures are printed beside it as comments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image
from tqdm import tqdm

from scd_core.errors import ScdInputError
from training.datasets import LAYOUTS, Split, find_split


class _Moments:
    """Running per-band count, sum and sum of squares (float64: exact for any SECOND-sized split)."""

    def __init__(self) -> None:
        self.count = 0
        self.sum: np.ndarray | None = None
        self.squares: np.ndarray | None = None

    def add(self, pixels: np.ndarray) -> None:
        flat = pixels.reshape(-1, pixels.shape[-1]).astype(np.float64)
        self.count += flat.shape[0]
        self.sum = flat.sum(0) if self.sum is None else self.sum + flat.sum(0)
        squares = (flat * flat).sum(0)
        self.squares = squares if self.squares is None else self.squares + squares

    def __add__(self, other: _Moments) -> _Moments:
        both = _Moments()
        both.count = self.count + other.count
        both.sum, both.squares = self.sum + other.sum, self.squares + other.squares  # type: ignore[operator]
        return both

    def mean_std(self) -> tuple[list[float], list[float]]:
        assert self.sum is not None and self.squares is not None
        mean = self.sum / self.count
        std = np.sqrt(np.maximum(self.squares / self.count - mean * mean, 0.0))
        return [round(float(v), 3) for v in mean], [round(float(v), 3) for v in std]


def statistics(split: Split, progress: bool = False) -> dict[str, Any]:
    """``{"date1": {"mean", "std"}, "date2": {...}, "pooled": {...}, "pairs": n}`` of ``split``'s images."""
    dates = [_Moments(), _Moments()]
    names = tqdm(split.names, desc="statistics", unit="pair", leave=False, disable=not progress)
    for name in names:
        for moments, folder in zip(dates, split.layout.images, strict=True):
            path = split.root / folder / name
            try:
                with Image.open(path) as image:
                    moments.add(np.asarray(image.convert("RGB")))
            except OSError as error:
                raise ScdInputError(f"not a readable image ({error})", path) from None
    result: dict[str, Any] = {"pairs": len(split.names)}
    for key, moments in (("date1", dates[0]), ("date2", dates[1]), ("pooled", dates[0] + dates[1])):
        mean, std = moments.mean_std()
        result[key] = {"mean": mean, "std": std}
    return result


def as_config(stats: dict[str, Any], split: Split) -> str:
    """The YAML ``normalisation`` block of the pooled statistics, per-date figures as comments."""
    pooled = stats["pooled"]
    block = {
        "normalisation": {"value_range": [0.0, 255.0], "mean": pooled["mean"], "std": pooled["std"], "scale": "auto"}
    }
    head = [
        f"# {split.root}: {stats['pairs']} pairs, 0-255 values; both dates pooled below",
        *(f"# {key}: mean {stats[key]['mean']} std {stats[key]['std']}" for key in ("date1", "date2")),
    ]
    return "\n".join(head) + "\n" + yaml.safe_dump(block, sort_keys=False, default_flow_style=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.stats", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="dataset root")
    parser.add_argument("--dataset", choices=sorted(LAYOUTS), default="second", help="layout (default: second)")
    parser.add_argument("--split", default="train", help="split to measure (default: train)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    args = parser.parse_args(argv)
    try:
        split = find_split(LAYOUTS[args.dataset], Path(args.root), args.split)
        if split is None:
            raise ScdInputError(f"no {args.split} split", args.root)
        stats = statistics(split, progress=True)
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(stats) if args.json else as_config(stats, split), end="\n" if args.json else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
