"""Bitemporal label folders as torch datasets, in the two layouts the papers use.

``second`` (SECOND, and what :mod:`training.convert` writes)
    ``ROOT/<split>/{im1,im2,label1,label2}/NAME.png``: one folder per split (``train``, ``val`` or
    ``test``), 8-bit RGB images and per-date labels in SECOND's colours or as index PNGs.
``landsat_scd`` (Landsat-SCD as SCanNet's preprocessing leaves it, which LSAFNet follows)
    ``ROOT/{A,B,labelA,labelB}/NAME.png`` for every pair, and ``ROOT/<split>_list.txt`` naming the
    pairs of each split; labels in Landsat-SCD's colours or as index PNGs (0 no change, 1 farmland,
    2 desert, 3 building, 4 water). The original release's from-to coded ``label/`` folder becomes
    ``labelA/`` and ``labelB/`` with ``python -m training.convert`` (see there).

A missing file, two images of different sizes or a colour that is not a class of the label set is
an error naming the file (:class:`~scd_core.errors.ScdInputError`): a pair silently skipped or a colour
mapped to "no change" would change a score without anyone noticing.

Samples are keyed by ``(index, seed)``: the seed drives the pair's augmentation alone, so a sample
is the same whichever worker or process loads it, and a resumed run sees the very same batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from scd_core.errors import LabelMismatchError, ScdInputError
from scd_core.labels import LANDSAT_SCD, SECOND, LabelSet, read_label
from scd_core.normalise import make_normaliser
from scd_core.second_layout import listing, pair_names
from scd_core.trainer.cache import RecordCache

Sample = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Layout:
    """Where a dataset keeps each pair's four files, and how its splits are told apart."""

    name: str
    images: tuple[str, str]
    labels: tuple[str, str]
    label_set: LabelSet
    #: splits are listed in ``ROOT/<split>_list.txt`` (True) or are folders ``ROOT/<split>/`` (False)
    listed: bool


LAYOUTS = {
    "second": Layout("second", ("im1", "im2"), ("label1", "label2"), SECOND, listed=False),
    "landsat_scd": Layout("landsat_scd", ("A", "B"), ("labelA", "labelB"), LANDSAT_SCD, listed=True),
}


@dataclass(frozen=True)
class Split:
    """One split of a dataset: a root and the pair names in it."""

    root: Path
    names: tuple[str, ...]
    layout: Layout


def _listed_split(layout: Layout, root: Path, listed: Path) -> Split:
    names = tuple(line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip())
    if not names:
        raise ScdInputError("the split list names no pair", listed)
    for folder in layout.images + layout.labels:
        present = {p.name for p in (root / folder).iterdir()} if (root / folder).is_dir() else set()
        if missing := set(names) - present:
            raise LabelMismatchError(
                f"{len(missing)} pairs of {listed.name} missing: {listing(missing)}", root / folder
            )
    return Split(root, names, layout)


def find_split(layout: Layout, root: str | Path, split: str) -> Split | None:
    """Split ``split`` of the dataset at ``root``, or None where the dataset has no such split."""
    root = Path(root)
    if layout.listed:
        listed = root / f"{split}_list.txt"
        return _listed_split(layout, root, listed) if listed.is_file() else None
    folder = root / split
    if not folder.is_dir():
        return None
    return Split(folder, tuple(pair_names(folder, layout.images + layout.labels)), layout)


def validation_split(layout: Layout, root: str | Path, split: str | None = None) -> Split | None:
    """The split a model is scored on: ``split`` (an error where it is absent), else ``val``, else
    ``test``, else None. A SECOND-layout ``root`` that itself holds ``im1/`` is that split."""
    root = Path(root)
    if not layout.listed and (root / layout.images[0]).is_dir():
        return Split(root, tuple(pair_names(root, layout.images + layout.labels)), layout)
    if split is not None:
        found = find_split(layout, root, split)
        if found is None:
            raise ScdInputError(f"no {split} split", root)
        return found
    return find_split(layout, root, "val") or find_split(layout, root, "test")


def training_splits(layout: Layout, root: str | Path, val_split: str | None = None) -> tuple[Split, Split | None]:
    """The ``train`` split and the validation split of :func:`validation_split`."""
    train = find_split(layout, root, "train")
    if train is None:
        raise ScdInputError(f"no train split ({'train_list.txt' if layout.listed else 'train/'})", root)
    return train, validation_split(layout, root, val_split)


class PairDataset(Dataset):
    """The pairs of a :class:`Split`: ``{"image1", "image2"}`` (C×H×W float32, normalised as the
    checkpoint will say), ``{"label1", "label2"}`` (H×W int64: 0 no change, 1..N, 255 ignore) and
    ``"index"``.

    ``transform(sample, generator)`` (e.g. :class:`scd_core.trainer.transforms.Augment`) is applied to the
    whole sample with a generator seeded from the key, so both dates and labels move together.

    With ``cache`` each pair is decoded once and its 8-bit pixels and class maps kept for the next
    epochs, where the split fits the memory budget (:mod:`scd_core.trainer.cache`: pairs of the first
    pair's size; another size is decoded every time). Normalisation and augmentation still run on
    every load: they are cheap, or random.
    """

    def __init__(
        self,
        split: Split,
        normalisation: dict[str, Any],
        transform: Callable[[Sample, torch.Generator], Sample] | None = None,
        cache: bool = True,
    ) -> None:
        self.split = split
        self.normalise = make_normaliser(normalisation, "none", "uint8")
        self.transform = transform
        self.cache = self._make_cache() if cache and split.names else None

    def __len__(self) -> int:
        return len(self.split.names)

    def path(self, folder: str, index: int) -> Path:
        return self.split.root / folder / self.split.names[index]

    def _make_cache(self) -> RecordCache | None:
        with _opened(self.path(self.split.layout.images[0], 0)) as image:
            width, height = image.size
        bands = len(self.normalise.mean)
        return RecordCache.fitting(len(self), (2 * bands + 2, height, width))

    def _pixels(self, path: Path) -> np.ndarray:
        with _opened(path) as image:
            pixels = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        if len(self.normalise.mean) != pixels.shape[0]:
            raise ScdInputError(f"{pixels.shape[0]} bands, the model takes {len(self.normalise.mean)}", path)
        return pixels

    def decode(self, index: int) -> np.ndarray:
        """Pair ``index``'s files as one uint8 array: both images' bands, then both class maps."""
        layout = self.split.layout
        paths = [self.path(folder, index) for folder in layout.images + layout.labels]
        planes = [self._pixels(paths[0]), self._pixels(paths[1])]
        planes += [read_label(path, layout.label_set)[None] for path in paths[2:]]
        for path, plane in zip(paths, planes, strict=True):
            if plane.shape[-2:] != planes[0].shape[-2:]:
                raise LabelMismatchError(f"size {plane.shape[-1]}×{plane.shape[-2]} differs from {paths[0]}", path)
        return np.concatenate(planes)

    def load(self, index: int) -> Sample:
        """Pair ``index`` as stored, checked for matching sizes (from the cache once decoded)."""
        decoded = self.cache.get(index) if self.cache is not None else None
        if decoded is None:
            decoded = self.decode(index)
            if self.cache is not None:
                self.cache.put(index, decoded)
        bands = len(self.normalise.mean)
        images = [decoded[:bands], decoded[bands : 2 * bands]]
        return {
            "image1": torch.from_numpy(np.ascontiguousarray(self.normalise(images[0]), dtype=np.float32)),
            "image2": torch.from_numpy(np.ascontiguousarray(self.normalise(images[1]), dtype=np.float32)),
            "label1": torch.from_numpy(decoded[2 * bands].astype(np.int64)),
            "label2": torch.from_numpy(decoded[2 * bands + 1].astype(np.int64)),
        }

    def __getitem__(self, key: int | tuple[int, int]) -> Sample:
        index, seed = key if isinstance(key, tuple) else (key, None)
        sample = self.load(index)
        if self.transform is not None and seed is not None:
            sample = self.transform(sample, torch.Generator().manual_seed(seed))
        sample["index"] = torch.tensor(index)
        return sample


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """The image at ``path``, a missing or unreadable file an error naming it."""
    try:
        with Image.open(path) as image:
            yield image
    except FileNotFoundError:
        raise ScdInputError("file not found", path) from None
    except OSError as error:
        raise ScdInputError(f"not a readable image ({error})", path) from None
