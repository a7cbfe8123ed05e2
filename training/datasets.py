"""SECOND-layout folders as a torch dataset: images normalised the way the checkpoint will say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from scd_core.errors import ScdInputError
from scd_core.geo.normalise import make_normaliser
from scd_core.labels import read_label
from scd_core.second_layout import IMAGE_FOLDERS, LABEL_FOLDERS, pair_names

Sample = dict[str, torch.Tensor]


class SecondDataset(Dataset):
    """``root/{im1,im2,label1,label2}/NAME.png``: 8-bit RGB image pairs with per-date SECOND labels.

    Each sample is ``{"image1", "image2"}`` (C×H×W float32, normalised by ``normalisation``, the
    checkpoint's dictionary) and ``{"label1", "label2"}`` (H×W int64: 0 no change, 1..6, 255 ignore).
    ``transform`` (e.g. :func:`training.transforms.augment`) is applied to the whole sample, so both
    dates and their labels move together.
    """

    def __init__(self, root: str | Path, normalisation: dict[str, Any], transform=None) -> None:
        self.root = Path(root)
        self.names = pair_names(self.root, IMAGE_FOLDERS + LABEL_FOLDERS)
        self.normalise = make_normaliser(normalisation, "none", "uint8")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.names)

    def _image(self, folder: str, name: str) -> torch.Tensor:
        path = self.root / folder / name
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        if len(self.normalise.mean) != pixels.shape[0]:
            raise ScdInputError(f"{pixels.shape[0]} bands, the model takes {len(self.normalise.mean)}", path)
        return torch.from_numpy(np.ascontiguousarray(self.normalise(pixels), dtype=np.float32))

    def __getitem__(self, index: int) -> Sample:
        name = self.names[index]
        sample = {
            "image1": self._image("im1", name),
            "image2": self._image("im2", name),
            "label1": torch.from_numpy(read_label(self.root / "label1" / name).astype(np.int64)),
            "label2": torch.from_numpy(read_label(self.root / "label2" / name).astype(np.int64)),
        }
        return self.transform(sample) if self.transform else sample
