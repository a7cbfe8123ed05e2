"""Datasets and augmentation: both layouts, seeded augmentation, files named in every error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from scd_core import checkpoint
from scd_core.errors import LabelMismatchError, ScdInputError, UnknownColourError
from scd_core.labels import IGNORE, LANDSAT_SCD, index_to_rgb
from scd_core.trainer.sampling import EpochSampler, ShardSampler, epoch_order
from scd_core.trainer.transforms import Augment, radiometric, random_crop, rescale, rotate, swap_dates
from training.datasets import LAYOUTS, PairDataset, find_split, training_splits, validation_split

NORMALISATION = checkpoint.default_metadata({"in_channels": 3})["normalisation"]
SECOND = LAYOUTS["second"]


def test_second_splits_and_samples(small_second):
    train, val = training_splits(SECOND, small_second)
    assert len(train.names) == 8 and val is not None and val.root == small_second / "val"
    sample = PairDataset(train, NORMALISATION)[0]
    assert sample["image1"].shape == (3, 64, 64) and sample["image1"].dtype == torch.float32
    assert float(sample["image1"].min()) >= 0.0 and float(sample["image2"].max()) <= 1.0  # mean 0, std 255
    assert sample["label1"].dtype == torch.int64 and int(sample["label1"].max()) <= 6
    assert torch.equal(sample["label1"] == 0, sample["label2"] == 0)
    assert validation_split(SECOND, small_second / "val").root == small_second / "val"  # a split folder itself
    with pytest.raises(ScdInputError, match="no test split"):
        validation_split(SECOND, small_second, "test")


def _sample_with_label_in_pixels(size: int = 40) -> dict[str, torch.Tensor]:
    label = torch.randint(0, 7, (size, size))
    image = label.float()[None].repeat(3, 1, 1)  # every pixel's value is its class
    return {"image1": image, "image2": image + 10, "label1": label, "label2": label}


def test_augmentation_moves_images_and_labels_together_and_repeats_from_its_seed():
    torch.manual_seed(0)
    augment = Augment(crop=32, scale_range=None, rotations=True)  # flips, crop, rotations: exact correspondence
    sample = _sample_with_label_in_pixels()
    for seed in range(6):
        out = augment(sample, torch.Generator().manual_seed(seed))
        assert out["label1"].shape == (32, 32) and out["image1"].shape == (3, 32, 32)
        assert torch.equal(out["image1"][0].long(), out["label1"])
        assert torch.equal(out["image2"][0].long() - 10, out["label2"])
        again = augment(sample, torch.Generator().manual_seed(seed))
        assert all(torch.equal(out[k], again[k]) for k in out)


def test_rotations_are_quarter_turns_of_every_key():
    sample = _sample_with_label_in_pixels(8)
    turns = [torch.rot90(sample["label1"], k).tolist() for k in range(4)]
    seen = set()
    for seed in range(40):
        out = rotate(sample, torch.Generator().manual_seed(seed))
        assert torch.equal(out["image1"][0].long(), out["label1"])
        seen.add(turns.index(out["label1"].tolist()))
    assert seen == {0, 1, 2, 3}  # 0, 90, 180 and 270 degrees all occur


def test_swapped_dates_carry_their_labels_and_half_the_draws_swap():
    sample = _sample_with_label_in_pixels(8)
    sample["label2"] = (sample["label1"] + 1) % 7  # tell the dates' labels apart
    swapped = 0
    for seed in range(40):
        out = swap_dates(sample, torch.Generator().manual_seed(seed))
        if torch.equal(out["image1"], sample["image2"]):
            swapped += 1
            assert torch.equal(out["image2"], sample["image1"]) and torch.equal(out["label1"], sample["label2"])
            assert torch.equal(out["label2"], sample["label1"])
        else:
            assert all(torch.equal(out[k], sample[k]) for k in sample)
    assert 10 <= swapped <= 30


def test_radiometric_jitter_is_an_affine_change_of_each_dates_bands_within_its_bounds():
    sample = {"image1": torch.randn(4, 16, 16), "image2": torch.randn(4, 16, 16)}
    sample |= {"label1": torch.zeros(16, 16, dtype=torch.long), "label2": torch.ones(16, 16, dtype=torch.long)}
    out = radiometric(sample, torch.Generator().manual_seed(3), gain=0.15, offset=0.2)
    assert torch.equal(out["label1"], sample["label1"]) and torch.equal(out["label2"], sample["label2"])
    scales = {}
    for key in ("image1", "image2"):
        for band in range(4):
            x, y = sample[key][band].flatten(), out[key][band].flatten()
            scale, shift = np.polyfit(x.numpy(), y.numpy(), 1)  # exactly affine per band
            assert torch.allclose(y, x * float(scale) + float(shift), atol=1e-5)
            assert 0.85 - 1e-6 <= scale <= 1.15 + 1e-6 and abs(shift) <= 0.2 + 1e-6
            scales[key, band] = round(float(scale), 6)
    assert len(set(scales.values())) == 8  # drawn per date and per band
    again = radiometric(sample, torch.Generator().manual_seed(3), gain=0.15, offset=0.2)
    assert all(torch.equal(out[k], again[k]) for k in out)


def test_rescale_keeps_labels_as_classes_and_crop_pads_with_ignore():
    sample = rescale(_sample_with_label_in_pixels(), 0.5)
    assert sample["label1"].shape == (20, 20) and set(sample["label1"].unique().tolist()) <= set(range(7))
    cropped = random_crop(sample, 32, torch.Generator().manual_seed(0))
    assert cropped["label1"].shape == (32, 32)
    assert (cropped["label1"][20:] == IGNORE).all() and (cropped["image1"][:, 20:] == 0).all()


def test_epoch_order_depends_on_seed_and_epoch_only_and_shards_partition_the_global_batches():
    assert np.array_equal(epoch_order(10, 1, 2), epoch_order(10, 1, 2))
    assert not np.array_equal(epoch_order(10, 1, 2), epoch_order(10, 1, 3))
    one = EpochSampler(10, 4, seed=5)
    ranks = [EpochSampler(10, 4, seed=5, rank=r, world_size=2) for r in range(2)]
    for sampler in (one, *ranks):
        sampler.set_epoch(3)
    whole = list(one)
    assert len(whole) == 8  # two global batches of 4; the last 2 pairs are dropped
    for step in range(2):
        batch = whole[4 * step : 4 * step + 4]
        shares = [list(r)[2 * step : 2 * step + 2] for r in ranks]
        assert sorted(batch) == sorted(shares[0] + shares[1])
    shards = [list(ShardSampler(5, r, 2)) for r in range(2)]
    assert shards == [[0, 2, 4], [1, 3]]  # every pair once, nothing padded


def _landsat(root, names=("a.png", "b.png"), size=16):
    for folder in ("A", "B", "labelA", "labelB"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        changed = rng.random((size, size)) < 0.5
        for folder in ("A", "B"):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / folder / name)
        for folder in ("labelA", "labelB"):
            label = (rng.integers(1, 5, (size, size)) * changed).astype(np.uint8)
            Image.fromarray(index_to_rgb(label, LANDSAT_SCD)).save(root / folder / name)
    (root / "train_list.txt").write_text("a.png\n")
    (root / "test_list.txt").write_text("b.png\n")
    return root


def test_landsat_scd_layout_reads_listed_splits_in_its_colours(tmp_path):
    root = _landsat(tmp_path / "landsat")
    layout = LAYOUTS["landsat_scd"]
    train, val = training_splits(layout, root)
    assert train.names == ("a.png",) and val is not None and val.names == ("b.png",)
    sample = PairDataset(val, NORMALISATION)[0]
    assert int(sample["label1"].max()) <= 4 and (sample["label1"] > 0).any()
    (root / "val_list.txt").write_text("a.png\nmissing.png\n")
    with pytest.raises(LabelMismatchError, match=r"missing\.png"):
        find_split(layout, root, "val")


def test_bad_files_are_named(small_second, tmp_path):
    root = tmp_path / "bad"
    for folder in ("im1", "im2", "label1", "label2"):
        (root / folder).mkdir(parents=True)
        for path in (small_second / "val" / folder).glob("*.png"):
            (root / folder / path.name).write_bytes(path.read_bytes())
    first = sorted((root / "im2").glob("*.png"))[0]
    Image.open(first).resize((32, 32)).save(first)
    dataset = PairDataset(validation_split(SECOND, root), NORMALISATION)
    with pytest.raises(LabelMismatchError, match=first.name):
        dataset[0]
    label = sorted((root / "label1").glob("*.png"))[1]
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(label)
    with pytest.raises(UnknownColourError, match=label.name):
        dataset[1]
