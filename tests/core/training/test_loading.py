"""The trainer's loader: its default worker count, and samples that do not depend on who makes them."""

from __future__ import annotations

import pytest
import torch

from scd_core import checkpoint, synth
from scd_core.errors import InvalidOptionError
from scd_core.trainer import config as configs
from scd_core.trainer import loading
from scd_core.trainer.loading import default_workers, make_loader
from scd_core.trainer.sampling import EpochSampler
from scd_core.trainer.transforms import Augment
from training.datasets import LAYOUTS, PairDataset, find_split

NORMALISATION = checkpoint.default_metadata({"in_channels": 3})["normalisation"]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def split_256(tmp_path_factory):
    """Four 256² pairs: scaled up to 512², resampling is large enough for torch to split among threads."""
    root = tmp_path_factory.mktemp("pairs_256")
    synth.write_second(root / "train", n_pairs=4, size=256, seed=7)
    return find_split(LAYOUTS["second"], root, "train")


@pytest.mark.parametrize(
    ("cores", "local_processes", "expected"), [(2, 1, 2), (16, 1, 8), (16, 4, 4), (2, 4, 1), (1, 1, 1)]
)
def test_default_workers_are_the_cores_at_most_eight_shared_among_torchrun_processes(
    monkeypatch, cores, local_processes, expected
):
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local_processes))
    assert default_workers() == expected


def test_workers_default_to_none_smoke_runs_in_process_and_a_negative_count_is_refused():
    config = configs.from_dict({"model": "fc_siam_diff"})
    assert config.workers is None
    assert configs.smoke(config).workers == 0
    with pytest.raises(InvalidOptionError, match="workers"):
        configs.from_dict({"model": "fc_siam_diff", "workers": -1})


def _epochs(dataset, workers: int) -> list[dict[str, torch.Tensor]]:
    sampler = EpochSampler(len(dataset), 2, seed=5)
    loader = make_loader(dataset, 2, sampler, workers, CPU, drop_last=True)
    batches = []
    for epoch in (1, 2):
        sampler.set_epoch(epoch)
        batches += list(loader)
    return batches


def test_samples_are_the_same_bit_for_bit_with_0_and_2_workers(split_256):
    dataset = PairDataset(split_256, NORMALISATION, Augment(256, (0.5, 2.0), rotations=True))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the main process on two threads, each worker on one
    try:
        in_process = _epochs(dataset, 0)
    finally:
        torch.set_num_threads(threads)
    in_workers = _epochs(dataset, 2)
    assert len(in_process) == len(in_workers) == 4
    for a, b in zip(in_process, in_workers, strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
