"""Training: the trainer's speed against a bare torch loop, and what a small ASN learns, in one run.

    python benchmarks/bench_training.py [--model asn] [--width 4] [--pairs 64] [--size 128] [--crop 64]
        [--batch 8] [--steps 8] [--rounds 2] [--sek-epochs 32] [--sek-steps 8] [--sek-batch 8] [--workdir DIR]

Prints one JSON object:

``overhead``
    ``python -m training.train``'s loop (tqdm bar, schedule, loss read-backs, AMP and memory-format
    wrappers, the per-sample seeded sampler) against the bare loop every training script has: the same
    model from the same seed, the same data loader and batches, forward, loss, backward, SGD step. Both
    are timed per epoch of ``--steps`` steps after a warm-up epoch, ``--rounds`` times in turn; the
    fastest epoch of each counts (the machine is shared and noisy). ``overhead_ratio`` is the trainer's
    time over the bare loop's, minus one; the target is at most 0.10. The trainer runs as it does for
    users, deterministic algorithms included on the CPU.
``sek``
    ASN at ``--width`` (4: aSP/aRP multipliers {8, 16, 32}) trained by the trainer for ``--sek-epochs``
    epochs of ``--sek-steps`` Adam steps on synthetic scenes, then scored on held-out scenes at the
    paper's τ = 0.5: from_to and per_date SeK, IoU_c, and the largest change probability.
``gpu`` (where CUDA is available)
    ASN at its default width on 512² crops, batch 4, with AMP and channels_last: images/s of the
    trainer's epoch loop and the peak GPU memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # training/ runs from the checkout

from scd_core import checkpoint, synth
from scd_core.models import build
from scd_core.trainer import config as configs
from scd_core.trainer.sampling import EpochSampler
from scd_core.trainer.transforms import Augment
from training.datasets import LAYOUTS, PairDataset, training_splits
from training.train import train

NORMALISATION = checkpoint.default_metadata({"in_channels": 3})["normalisation"]


def _epoch_seconds(run: Path) -> list[float]:
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["seconds"] for line in lines]


def trainer_epochs(settings: dict[str, Any], out: Path) -> list[float]:
    """Seconds of each epoch of ``python -m training.train``'s loop (validation and writes excluded)."""
    train(configs.from_dict({**settings, "out": str(out)}), echo=lambda _: None)
    return _epoch_seconds(out)


def bare_epochs(settings: dict[str, Any], data: Path) -> list[float]:
    """Seconds of each epoch of the plain loop on the same model, loader and batches."""
    torch.manual_seed(settings["seed"])
    model = build(settings["model"], **settings["hparams"])
    optimiser = torch.optim.SGD(model.parameters(), lr=settings["learning_rate"], momentum=0.9, weight_decay=1e-4)
    train_split, _ = training_splits(LAYOUTS["second"], data)
    dataset = PairDataset(train_split, NORMALISATION, Augment(settings["crop"], tuple(settings["scale_range"])))
    sampler = EpochSampler(len(dataset), settings["batch_size"], settings["seed"], max_steps=settings["max_steps"])
    loader = DataLoader(dataset, settings["batch_size"], sampler=sampler, drop_last=True)
    seconds = []
    for epoch in range(1, settings["epochs"] + 1):
        sampler.set_epoch(epoch)
        model.train()
        started = time.perf_counter()
        for batch in loader:
            loss = model.loss(model(batch["image1"], batch["image2"]), batch["label1"], batch["label2"])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def overhead(args: argparse.Namespace, data: Path, work: Path) -> dict[str, Any]:
    settings = {
        "model": args.model, "hparams": {"width": args.width}, "data": str(data), "epochs": 3,
        "max_steps": args.steps, "batch_size": args.batch, "crop": args.crop, "scale_range": [0.75, 1.5],
        "learning_rate": 0.005, "seed": 0, "val_limit": 1,
    }  # fmt: skip
    trainer, bare = [], []
    for round_ in range(args.rounds):  # in turn, so that both meet the same load
        trainer += trainer_epochs(settings, work / f"overhead-{round_}")[1:]  # the first epoch warms up
        bare += bare_epochs(settings, data)[1:]
    images = args.steps * args.batch
    return {
        "model": args.model,
        "width": args.width,
        "crop": args.crop,
        "batch": args.batch,
        "steps_per_epoch": args.steps,
        "trainer_epoch_s_runs": [round(s, 3) for s in trainer],
        "bare_epoch_s_runs": [round(s, 3) for s in bare],
        "trainer_images_per_s": round(images / min(trainer), 2),
        "bare_images_per_s": round(images / min(bare), 2),
        "overhead_ratio": round(min(trainer) / min(bare) - 1, 4),
        "target": 0.10,
    }


def sek_at_one_half(args: argparse.Namespace, data: Path, work: Path) -> dict[str, Any]:
    settings = {
        "model": "asn", "hparams": {"width": args.width}, "data": str(data), "out": str(work / "sek"),
        "epochs": args.sek_epochs, "max_steps": args.sek_steps, "batch_size": args.sek_batch, "optimizer": "adam",
        "learning_rate": 0.002, "crop": args.crop, "scale_range": [0.75, 1.5],
    }  # fmt: skip
    started = time.perf_counter()
    path = train(configs.from_dict(settings), echo=lambda _: None)
    seconds = time.perf_counter() - started
    model, metadata = checkpoint.load(path)
    _, val = training_splits(LAYOUTS["second"], data)
    assert val is not None
    dataset = PairDataset(val, NORMALISATION)
    with torch.no_grad():
        largest = max(
            float(torch.sigmoid(model(s["image1"][None], s["image2"][None])["change"]).max())
            for s in (dataset[i] for i in range(len(dataset)))
        )
    scores = json.loads((work / "sek" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])["val"]
    return {
        "model": "asn",
        "width": args.width,
        "optimiser_steps": args.sek_epochs * args.sek_steps,
        "batch": args.sek_batch,
        "crop": args.crop,
        "train_seconds": round(seconds, 1),
        "threshold": metadata["threshold"],
        "from_to_SeK": round(scores["from_to"]["SeK"], 2),
        "per_date_SeK": round(scores["per_date"]["SeK"], 2),
        "IoU_c": round(scores["from_to"]["IoU_c"], 2),
        "max_change_probability": round(largest, 3),
        "val_pairs": len(dataset),
    }


def gpu(work: Path) -> dict[str, Any]:
    if not torch.cuda.is_available():
        return {"available": False}
    data = work / "gpu-data"
    synth.write_second(data / "train", n_pairs=24, size=512, seed=5)
    torch.cuda.reset_peak_memory_stats()
    settings = {
        "model": "asn", "data": str(data), "out": str(work / "gpu"), "epochs": 2, "max_steps": 5,
        "batch_size": 4, "crop": 512, "amp": "auto", "device": "cuda",
    }  # fmt: skip
    train(configs.from_dict(settings), echo=lambda _: None)
    seconds = min(_epoch_seconds(work / "gpu")[1:])
    return {
        "available": True,
        "device": torch.cuda.get_device_name(),
        "amp": "bf16" if torch.cuda.is_bf16_supported() else "fp16",
        "images_per_s": round(5 * 4 / seconds, 2),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="asn")
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=64, help="training scenes (and an eighth as many held out)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=8, help="steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sek-epochs", type=int, default=32)
    parser.add_argument("--sek-steps", type=int, default=8)
    parser.add_argument("--sek-batch", type=int, default=8)
    parser.add_argument("--workdir", help="keep the data and runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        for previous in [*work.glob("overhead-*"), work / "sek", work / "gpu"]:  # runs of an earlier call
            shutil.rmtree(previous, ignore_errors=True)
        data = work / "data"
        if not (data / "train").is_dir():
            synth.write_second(data / "train", n_pairs=args.pairs, size=args.size, seed=1)
            synth.write_second(data / "val", n_pairs=max(2, args.pairs // 8), size=args.size, seed=2)
        report = {
            "cpu_cores": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "overhead": overhead(args, data, work),
            "sek": sek_at_one_half(args, data, work),
            "gpu": gpu(work),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
