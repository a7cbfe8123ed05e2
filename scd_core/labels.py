"""Label sets (SECOND's, Landsat-SCD's): classes, colours, from-to change codes and human names.

Everything that knows what a label value means lives here, so the metrics, the engine, training and the
plugin cannot disagree about it. A :class:`LabelSet` is one dataset's classes, "no change" first;
:data:`SECOND` is the default everywhere, :data:`LANDSAT_SCD` the four-class set of Landsat-SCD
(Yuan et al. 2022) as LSAFNet and the SCanNet preprocessing it follows use it. The module-level
names (:data:`CLASSES`, :data:`NUM_CLASSES`, ...) are SECOND's.

Two encodings of a per-date label map are read:

* **RGB** PNGs with the label set's colours (white is "no change"), as the datasets ship them;
* **index** PNGs (one band, mode ``L``/``I``) holding 0 (no change), 1..N (the classes) or 255 (ignore).

A palette PNG (mode ``P``) whose palette starts with the label set's colours is read as an index PNG
(that is what :func:`write_label` writes); any other palette PNG is decoded by the colours a viewer
shows.

A colour or index that is not a class of the label set is an error naming the file, the value and its
pixel count. It is never mapped to "no change": that would silently inflate every score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from scd_core.atomic import atomic_write
from scd_core.errors import ScdInputError, UnknownColourError
from scd_core.legend import (
    NO_CHANGE,
    NO_CHANGE_NAME,
    SECOND_CLASSES,
    LandCover,
    change_type_names,
    land_covers,
    split_change_code,
)
from scd_core.tensors import is_torch_tensor

__all__ = [
    "CHANGED",
    "CLASSES",
    "IGNORE",
    "LABEL_SETS",
    "LANDSAT_SCD",
    "NO_CHANGE",
    "NUM_CHANGE_TYPES",
    "NUM_CLASSES",
    "SECOND",
    "LabelSet",
    "LandCover",
    "change_code",
    "change_type_name",
    "change_type_names",
    "class_name",
    "index_to_rgb",
    "label_set",
    "read_label",
    "rgb_to_index",
    "split_change_code",
    "write_label",
]

#: Label value of pixels that are not scored and not trained on.
IGNORE = 255
#: Label value of pixels known to have changed from and to classes nobody labelled: a binary change
#: label's "change". The change terms train on them, the semantic terms skip them.
CHANGED = 254
_UNKNOWN = 255


@dataclass(frozen=True)
class LabelSet:
    """One dataset's classes, "no change" (index 0) first, and how its label images colour them."""

    name: str
    classes: tuple[LandCover, ...]
    _lookup: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        """Land-cover classes, without "no change"."""
        return len(self.classes) - 1

    @property
    def num_change_types(self) -> int:
        """From-to codes: 0 (no change) and one per ordered (from, to) pair, same-class included."""
        return 1 + self.num_classes**2

    @property
    def rgb_table(self) -> np.ndarray:
        """(N+1)×3 uint8 label colours by class index."""
        return np.array([c.rgb for c in self.classes], dtype=np.uint8)

    def class_names(self) -> list[str]:
        """Names of classes 0..N."""
        return [c.name for c in self.classes]

    def class_of_colour(self) -> np.ndarray:
        """Class index of every 24-bit colour (255 for colours not in the set): a 16 MiB table, built on
        first use, that decodes a label with one gather instead of a search per pixel."""
        if "colour" not in self._lookup:
            table = np.full(1 << 24, _UNKNOWN, dtype=np.uint8)
            table[_pack(self.rgb_table)] = np.arange(len(self.classes), dtype=np.uint8)
            self._lookup["colour"] = table
        return self._lookup["colour"]


#: SECOND's classes in the order used across the literature.
SECOND = LabelSet("second", SECOND_CLASSES)
#: Landsat-SCD's classes and label colours as SCanNet's preprocessing (followed by LSAFNet) codes them:
#: 1 farmland, 2 desert, 3 building, 4 water.
LANDSAT_SCD = LabelSet(
    "landsat_scd",
    land_covers(
        [NO_CHANGE_NAME, "farmland", "desert", "building", "water"],
        [(255, 255, 255), (0, 155, 0), (255, 165, 0), (230, 30, 100), (0, 170, 240)],
    ),
)
#: Label sets by the name configs and ``scd evaluate --labels`` use.
LABEL_SETS = {s.name: s for s in (SECOND, LANDSAT_SCD)}

#: SECOND's classes; index 0 is "no change".
CLASSES: tuple[LandCover, ...] = SECOND.classes
#: SECOND's land-cover classes, without "no change".
NUM_CLASSES = SECOND.num_classes
#: SECOND's from-to change-type codes: 0 (no change) and one per ordered (from, to) pair.
NUM_CHANGE_TYPES = SECOND.num_change_types


def label_set(name: str) -> LabelSet:
    """The label set called ``name``; ``ValueError`` lists the known ones."""
    try:
        return LABEL_SETS[name]
    except KeyError:
        raise ValueError(f"unknown label set {name!r}; known: {', '.join(LABEL_SETS)}") from None


def _pack(rgb: np.ndarray) -> np.ndarray:
    """24-bit keys ``r | g << 8 | b << 16`` of H×W×3 uint8 colours, via a zero-padded RGBX buffer read
    as little-endian uint32 (one copy, no per-channel arithmetic)."""
    rgbx = np.zeros((*rgb.shape[:-1], 4), dtype=np.uint8)
    rgbx[..., :3] = rgb
    return rgbx.view("<u4")[..., 0]


def class_name(index: int, labels: LabelSet = SECOND) -> str:
    """Name of class ``index`` (0 is "no change")."""
    return labels.classes[index].name


def change_code(before: Any, after: Any, num_classes: int = NUM_CLASSES) -> Any:
    """From-to change-type codes of two per-date class maps (numpy arrays or torch tensors).

    The array form of :func:`scd_core.legend.change_code`: 0 where both dates say "no change",
    otherwise ``1 + N·(c1-1) + (c2-1)`` for ``N = num_classes``. numpy input gives uint8 codes; torch
    input gives int64 codes on the input's device.

    Raises:
        ValueError: a pixel is "no change" on one date and a class on the other; such a pixel has no
            from-to type. Ignored pixels (255) must be masked out before.
    """
    if is_torch_tensor(before):
        before, after = before.long(), after.long()
    else:
        before, after = np.asarray(before, dtype=np.int64), np.asarray(after, dtype=np.int64)
    unchanged = before == NO_CHANGE
    inconsistent = unchanged != (after == NO_CHANGE)
    if bool(inconsistent.any()):
        raise ValueError(
            f"{int(inconsistent.sum())} pixels are 'no change' on one date but a class on the other; "
            "a changed pixel needs a class on both dates"
        )
    codes = (1 + num_classes * (before - 1) + (after - 1)) * ~unchanged
    return codes if is_torch_tensor(codes) else codes.astype(np.uint8)


def change_type_name(code: int, labels: LabelSet = SECOND) -> str:
    """Human name of a from-to code, e.g. ``"low vegetation → building"``."""
    if not 0 <= code < labels.num_change_types:
        raise ValueError(f"change code {code} is outside 0..{labels.num_change_types - 1}")
    return change_type_names(labels.classes)[code]


def rgb_to_index(rgb: np.ndarray, source: str | Path = "<array>", labels: LabelSet = SECOND) -> np.ndarray:
    """Class indices of an H×W×3 uint8 label image in the colours of ``labels``.

    Raises:
        UnknownColourError: naming ``source``, each unknown colour and how many pixels have it.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ScdInputError(f"expected an H×W×3 RGB label, got shape {rgb.shape}", source)
    packed = _pack(rgb)
    index = labels.class_of_colour()[packed]
    unknown = index == _UNKNOWN
    if unknown.any():
        values, counts = np.unique(packed[unknown], return_counts=True)
        listed = ", ".join(
            f"({v & 255},{v >> 8 & 255},{v >> 16 & 255}) × {n} px"
            for v, n in zip(values[:10], counts[:10], strict=True)
        )
        more = f" and {len(values) - 10} more" if len(values) > 10 else ""
        raise UnknownColourError(f"colours that are not {labels.name} classes: {listed}{more}", source)
    return index


def index_to_rgb(index: np.ndarray, labels: LabelSet = SECOND) -> np.ndarray:
    """Label colours of a class-index map (ignored pixels must be masked out before)."""
    return labels.rgb_table[np.asarray(index)]


def _check_indices(index: np.ndarray, source: str | Path, labels: LabelSet) -> np.ndarray:
    valid = (index <= labels.num_classes) | (index == IGNORE)
    if not valid.all():
        values, counts = np.unique(index[~valid], return_counts=True)
        listed = ", ".join(f"{v} × {n} px" for v, n in zip(values[:10], counts[:10], strict=True))
        raise UnknownColourError(
            f"values that are not {labels.name} class indices (0-{labels.num_classes}, 255): {listed}", source
        )
    return index.astype(np.uint8)


def _has_palette_of(image: Image.Image, labels: LabelSet) -> bool:
    palette = image.getpalette() or []
    table = labels.rgb_table
    return len(palette) >= table.size and bytes(palette[: table.size]) == table.tobytes()


def read_label(path: str | Path, labels: LabelSet = SECOND) -> np.ndarray:
    """Read a per-date label PNG (RGB, palette or index) as an H×W uint8 class map of ``labels``."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError:
        raise ScdInputError("file not found", path) from None
    except OSError as error:
        raise ScdInputError(f"not a readable image ({error})", path) from None
    if image.mode in ("L", "I", "I;16"):
        return _check_indices(np.asarray(image), path, labels)
    if image.mode == "P" and _has_palette_of(image, labels):
        return _check_indices(np.asarray(image), path, labels)
    if image.mode == "RGB":
        return rgb_to_index(np.asarray(image), path, labels)
    if image.mode in ("RGBA", "P"):
        return rgb_to_index(np.asarray(image.convert("RGB")), path, labels)
    raise ScdInputError(f"unsupported label image mode {image.mode!r}; use RGB or a one-band index PNG", path)


def write_label(path: str | Path, index: np.ndarray, labels: LabelSet = SECOND) -> None:
    """Write a class map as a palette PNG whose palette is the label set's colours, atomically.

    Viewers show the label colours (ignored pixels, 255, in black) and :func:`read_label` gives back
    the same indices, 255 included.
    """
    index = np.asarray(index, dtype=np.uint8)
    image = Image.fromarray(index, mode="P")
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(labels.classes)] = labels.rgb_table
    image.putpalette(palette.ravel().tolist())
    with atomic_write(path, "wb") as handle:
        image.save(handle, format="PNG")
