"""Score a checkpoint on a dataset split, with the paper's test-time augmentation, and write its predictions.

    python -m training.evaluate --checkpoint C --data ROOT [--split NAME] [--tta plain|ms|ms_flip]
                                [--predictions DIR] [--json]

``--data ROOT`` is a dataset root (its ``val`` split, else its ``test`` split, or ``--split``) or a
SECOND-layout split folder itself. ``--tta`` chooses the column group of the ASN paper's tables
(:mod:`training.tta`: one pass, six scales, six scales with flips). Scores are printed in both metric
conventions with the categorical SeK of Table II, as ``scd evaluate`` prints them; ``--predictions``
writes each pair's per-date class maps as RGB label PNGs in SECOND's layout (``DIR/label1/NAME``,
``DIR/label2/NAME``), in the label set's colours, which ``scd evaluate DIR ROOT/test`` scores
identically. An existing non-empty ``DIR`` is only replaced with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from scd_core import checkpoint
from scd_core.atomic import atomic_write
from scd_core.cpu_memory import keep_freed_memory
from scd_core.devices import resolve_device
from scd_core.errors import OutputExistsError, ScdInputError
from scd_core.evaluation import report_data, report_text
from scd_core.labels import LABEL_SETS, LabelSet, index_to_rgb
from scd_core.metrics import SCDConfusion
from scd_core.trainer.distributed import Processes
from scd_core.trainer.loop import score
from scd_core.trainer.precision import Precision
from training.datasets import LAYOUTS, PairDataset, validation_split
from training.tta import GROUPS, predict, predictor


def label_set_of(metadata: dict[str, Any]) -> LabelSet:
    """The label set a checkpoint predicts (SECOND for checkpoints that name none)."""
    return LABEL_SETS[metadata.get("labels", "second")]


def _write_pair(folder: Path, name: str, pred1: np.ndarray, pred2: np.ndarray, labels: LabelSet) -> None:
    for sub, array in (("label1", pred1), ("label2", pred2)):
        with atomic_write(folder / sub / name, "wb") as handle:
            Image.fromarray(index_to_rgb(array, labels)).save(handle, format="PNG", compress_level=1)


def _prepare_predictions(folder: Path, overwrite: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise OutputExistsError("exists and is not empty (--overwrite replaces it)", folder)
        shutil.rmtree(folder)
    for sub in ("label1", "label2"):
        (folder / sub).mkdir(parents=True, exist_ok=True)


def evaluate_checkpoint(
    path: str | Path,
    data: str | Path,
    tta: str = "plain",
    split: str | None = None,
    predictions: str | Path | None = None,
    overwrite: bool = False,
    device: str = "auto",
    limit: int | None = None,
    progress: bool = False,
) -> tuple[SCDConfusion, int, dict[str, Any]]:
    """Both conventions' confusion matrices of the checkpoint at ``path`` on a split of ``data``.

    Returns them, the number of pairs scored and the checkpoint's metadata. ``limit`` scores only the
    first pairs (smoke runs).
    """
    model, metadata = checkpoint.load(path, "cpu")
    labels = label_set_of(dict(metadata))
    found = validation_split(LAYOUTS[labels.name], data, split)
    if found is None:
        raise ScdInputError("no val or test split to evaluate (or give --split)", data)
    processes = Processes(0, 1, resolve_device(device))
    precision = Precision.choose(processes.device, "off", None)
    model = precision.prepare(model).eval()
    dataset = PairDataset(found, dict(metadata["normalisation"]))
    count = len(dataset) if limit is None else min(limit, len(dataset))
    loader = DataLoader(torch.utils.data.Subset(dataset, range(count)), 1)
    threshold = float(metadata["threshold"])
    if predictions is None:
        batches = tqdm(loader, desc=f"scoring ({tta})", unit="pair", leave=False, disable=not progress)
        confusion = score(model, batches, labels.num_classes, precision, processes, threshold, predictor(tta)).confusion
        return confusion, count, dict(metadata)
    folder = Path(predictions)
    _prepare_predictions(folder, overwrite)
    confusion = SCDConfusion(labels.num_classes)
    with torch.no_grad():
        for batch in tqdm(loader, desc=f"predicting ({tta})", unit="pair", leave=False, disable=not progress):
            pred1, pred2 = predict(
                model, precision.inputs(batch["image1"]), precision.inputs(batch["image2"]), tta, threshold
            )
            confusion.update(pred1, pred2, batch["label1"].to(processes.device), batch["label2"].to(processes.device))
            name = found.names[int(batch["index"][0])]
            _write_pair(folder, name, pred1[0].cpu().numpy(), pred2[0].cpu().numpy(), labels)
    return confusion, count, dict(metadata)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a run's model.pt (or any scd checkpoint)")
    parser.add_argument("--data", required=True, help="dataset root, or a SECOND-layout split folder")
    parser.add_argument("--split", help="split to score (default: val, else test)")
    parser.add_argument("--tta", choices=GROUPS, default="plain", help="test-time augmentation (default: plain)")
    parser.add_argument("--predictions", help="write the predicted label PNGs here (SECOND layout)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --predictions folder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:i")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        confusion, pairs, metadata = evaluate_checkpoint(
            args.checkpoint,
            args.data,
            args.tta,
            args.split,
            args.predictions,
            args.overwrite,
            args.device,
            progress=True,
        )
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    labels = label_set_of(metadata)
    if args.json:
        head = {"checkpoint": str(args.checkpoint), "tta": args.tta, "threshold": metadata["threshold"], "pairs": pairs}
        print(json.dumps({**head, **report_data(confusion, labels)}))
    else:
        print(f"{args.checkpoint} ({metadata['model']}), tta {args.tta}, τ = {metadata['threshold']}: {pairs} pairs\n")
        print(report_text(confusion, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
