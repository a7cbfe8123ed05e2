"""Training: the trainer's speed against a bare torch loop, its loader's cost, and what a small ASN learns.

    python benchmarks/bench_training.py [--model asn] [--width 4] [--pairs 64] [--size 128] [--crop 64]
        [--batch 8] [--steps 8] [--rounds 2] [--loader-model fc_siam_diff] [--loader-size 128]
        [--loader-steps 12] [--loader-workers N] [--sek-epochs 32] [--sek-steps 8] [--sek-batch 8]
        [--workdir DIR]

Prints one JSON object:

``overhead``
    ``python -m training.train``'s loop (tqdm bar, schedule, loss read-backs, AMP and memory-format
    wrappers, the per-sample seeded sampler) against the bare loop every training script has: the same
    model from the same seed, the same data loader (in the process, so that only the loop differs) and
    batches, forward, loss, backward, SGD step. Both are timed per epoch of ``--steps`` steps after a
    warm-up epoch, ``--rounds`` times in turn; the fastest epoch of each counts (the machine is shared
    and noisy). ``overhead_ratio`` is the trainer's time over the bare loop's, minus one; the target is
    at most 0.10. The trainer runs as it does for users, deterministic algorithms included on the CPU.
``loader``
    The data loader's cost: ``--loader-model`` at its full width trained by the trainer on
    ``--loader-size``² synthetic PNG pairs in SECOND's layout at the recipe's batch (4) and augmentation
    (flips, scales in [0.5, 2], crops of the image's size), once reading the folder with the trainer's
    loader (its default workers, or ``--loader-workers``; decoded pairs kept) and once fed the very same
    samples, made beforehand and held in memory. ``before`` is the loader as it was: in the process,
    every pair decoded every epoch. Each run is two epochs of ``--loader-steps`` steps, the first
    (workers starting, the cache filling) reported apart; ``--rounds`` times in turn, the fastest second
    epoch of each counts. ``loader_cost`` is the loader's time over the memory-fed run's, minus one; the
    target is at most 0.10.
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
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # training/ runs from the checkout

from scd_core import checkpoint, synth
from scd_core.devices import resolve_device
from scd_core.models import build
from scd_core.trainer import config as configs
from scd_core.trainer import run
from scd_core.trainer.data import TrainingData
from scd_core.trainer.initialise import Initial
from scd_core.trainer.loading import default_workers
from scd_core.trainer.run import DataSource
from scd_core.trainer.sampling import EpochSampler
from scd_core.trainer.transforms import Augment
from training.datasets import LAYOUTS, PairDataset, training_splits
from training.train import folder_data, train

NORMALISATION = checkpoint.default_metadata({"in_channels": 3})["normalisation"]
#: The papers' recipes' batch (ASN, LSAFNet; CdSC's release).
RECIPE_BATCH = 4


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
        "learning_rate": 0.005, "seed": 0, "val_limit": 1, "workers": 0,
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
        "trainer_epoch_s_runs": [round(s, 6) for s in trainer],
        "bare_epoch_s_runs": [round(s, 6) for s in bare],
        "trainer_images_per_s": round(images / min(trainer), 2),
        "bare_images_per_s": round(images / min(bare), 2),
        "overhead_ratio": round(min(trainer) / min(bare) - 1, 4),
        "target": 0.10,
    }


class Preloaded(Dataset):
    """Samples made beforehand, by their ``(index, seed)`` key: the model fed from memory."""

    def __init__(self, samples: dict[tuple[int, int], dict[str, torch.Tensor]], size: int) -> None:
        self.samples, self.size = samples, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        return self.samples[key]


def preloaded_source(config: configs.TrainConfig) -> DataSource:
    """The folder's data with every sample ``config``'s epochs draw made now and held in memory."""
    data = folder_data(config, None)
    size = len(data.train)  # type: ignore[arg-type]
    samples = {}
    for epoch in range(1, config.epochs + 1):
        sampler = EpochSampler(size, config.batch_size, config.seed, max_steps=config.max_steps)
        sampler.set_epoch(epoch)
        samples.update({key: data.train[key] for key in sampler})
    memory = replace(data, train=Preloaded(samples, size))
    return lambda _config, _initial: memory


def uncached_source(config: configs.TrainConfig, initial: Initial | None) -> TrainingData:
    """The folder's data as the loader read it before the cache: every pair decoded every epoch."""
    data = folder_data(config, initial)
    train = cast(PairDataset, data.train)
    return replace(data, train=PairDataset(train.split, data.normalisation, train.transform, cache=False))


def loader_cost(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = work / "loader-data"
    pairs = args.loader_steps * RECIPE_BATCH
    if not (data / "train").is_dir():
        synth.write_second(data / "train", n_pairs=pairs, size=args.loader_size, seed=3)
    config = configs.from_dict({
        "model": args.loader_model, "data": str(data), "epochs": 2, "max_steps": args.loader_steps,
        "batch_size": RECIPE_BATCH, "crop": args.loader_size, "seed": 0,
    })  # fmt: skip
    memory = preloaded_source(config)
    runs: dict[str, list[float]] = {"loader": [], "memory": [], "before": []}
    for round_ in range(args.rounds):  # in turn, so that all meet the same load
        for name, source, workers in (
            ("loader", folder_data, args.loader_workers), ("memory", memory, 0), ("before", uncached_source, 0)
        ):  # fmt: skip
            out = work / f"loader-{name}-{round_}"
            run.train(replace(config, out=str(out), workers=workers), source, echo=lambda _: None, bar=False)
            runs[name] += _epoch_seconds(out)
    images = args.loader_steps * RECIPE_BATCH
    fastest = {name: min(seconds[1::2]) for name, seconds in runs.items()}  # each run's second epoch
    return {
        "model": args.loader_model,
        "size": args.loader_size,
        "batch": RECIPE_BATCH,
        "steps_per_epoch": args.loader_steps,
        "workers": default_workers(resolve_device("auto")) if args.loader_workers is None else args.loader_workers,
        "cached": folder_data(config, None).train.cache is not None,  # type: ignore[attr-defined]
        **{f"{name}_epoch_s_runs": [round(s, 6) for s in seconds] for name, seconds in runs.items()},
        **{f"{name}_images_per_s": round(images / fastest[name], 2) for name in runs},
        "loader_cost": round(fastest["loader"] / fastest["memory"] - 1, 4),
        "before_cost": round(fastest["before"] / fastest["memory"] - 1, 4),
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
    parser.add_argument("--loader-model", default="fc_siam_diff")
    parser.add_argument("--loader-size", type=int, default=128, help="side of the loader's pairs and crops")
    parser.add_argument("--loader-steps", type=int, default=12, help="steps per epoch of the loader's runs")
    parser.add_argument("--loader-workers", type=int, help="the loader's workers (default: the trainer's)")
    parser.add_argument("--sek-epochs", type=int, default=32)
    parser.add_argument("--sek-steps", type=int, default=8)
    parser.add_argument("--sek-batch", type=int, default=8)
    parser.add_argument("--workdir", help="keep the data and runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        for previous in [*work.glob("overhead-*"), *work.glob("loader-*-*"), work / "sek", work / "gpu"]:  # old runs
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
            "loader": loader_cost(args, work),
            "sek": sek_at_one_half(args, data, work),
            "gpu": gpu(work),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
