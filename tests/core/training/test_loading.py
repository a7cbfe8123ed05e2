"""The trainer's loader: its default worker count, samples that do not depend on who makes them, and the
cache of decoded pairs, which returns what decoding gives and is shared with the loader's workers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from scd_core import checkpoint, synth
from scd_core.errors import InvalidOptionError
from scd_core.trainer import cache, loading
from scd_core.trainer import config as configs
from scd_core.trainer.cache import RecordCache
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
def test_default_workers_on_cuda_are_the_cores_at_most_eight_shared_among_torchrun_processes(
    monkeypatch, cores, local_processes, expected
):
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local_processes))
    assert default_workers(torch.device("cuda")) == expected
    assert default_workers(CPU) == 0  # the model's threads have the cores


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
    dataset = PairDataset(split_256, NORMALISATION, Augment(256, (0.5, 2.0), rotations=True), cache=False)
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


def test_the_cache_returns_what_decoding_gives_and_workers_fill_it_for_every_process(split_256):
    cached = PairDataset(split_256, NORMALISATION)
    plain = PairDataset(split_256, NORMALISATION, cache=False)
    assert cached.cache is not None and plain.cache is None
    assert all(cached.cache.get(i) is None for i in range(len(cached)))
    loader = make_loader(cached, 1, range(len(cached)), 2, CPU)
    from_workers = list(loader)  # decoded in the two worker processes
    for index, batch in enumerate(from_workers):
        record = cached.cache.get(index)  # filled by a worker, read here
        assert record is not None and np.array_equal(record, plain.decode(index))
        again, fresh = cached[index], plain[index]  # now from the cache
        assert all(torch.equal(again[key], fresh[key]) and torch.equal(batch[key][0], fresh[key]) for key in fresh)


def test_a_pair_of_another_size_is_decoded_every_time(tmp_path):
    synth.write_second(tmp_path / "train", n_pairs=2, size=64, seed=1)
    synth.write_second(tmp_path / "other", n_pairs=1, size=48, seed=2)
    for folder in ("im1", "im2", "label1", "label2"):  # a third pair, smaller than the first
        (tmp_path / "other" / folder / "00000.png").rename(tmp_path / "train" / folder / "99999.png")
    dataset = PairDataset(find_split(LAYOUTS["second"], tmp_path, "train"), NORMALISATION)
    assert dataset.cache is not None and dataset.cache.shape == (8, 64, 64)
    small = dataset.split.names.index("99999.png")
    assert tuple(dataset[small]["label1"].shape) == (48, 48)
    assert dataset.cache.get(small) is None


def test_the_cache_is_made_only_within_its_budget_shared_among_torchrun_processes(monkeypatch):
    monkeypatch.setattr(cache, "usable_memory", lambda: 16_000)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert cache.budget() == 2_000  # a quarter of the memory, halved
    assert RecordCache.fitting(10, (3, 4, 4)) is not None  # 10 · (48 + 1) bytes
    assert RecordCache.fitting(50, (3, 4, 4)) is None
    assert RecordCache.fitting(0, (3, 4, 4)) is None


def test_a_pickled_dataset_as_a_spawned_worker_gets_it_decodes_without_the_cache(split_256):
    dataset = PairDataset(split_256, NORMALISATION)
    before = dataset[0]
    spawned = pickle.loads(pickle.dumps(dataset))
    assert spawned.cache is not None and spawned.cache.get(0) is None  # filled here, not there
    after = spawned[0]
    assert all(torch.equal(before[key], after[key]) for key in before)
    spawned.cache.put(0, spawned.decode(0))  # a no-op without the memory
    assert spawned.cache.get(0) is None
