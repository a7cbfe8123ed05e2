"""SECOND's land-cover classes, their colours, from-to change codes and human names.

Everything that knows what a label value means lives here, so the metrics, the engine, training and the
plugin cannot disagree about it.

Two encodings of a per-date label map are read:

* **RGB** PNGs with SECOND's colours (white is "no change"), as the dataset ships them;
* **index** PNGs (one band, mode ``L``/``I``) holding 0 (no change), 1-6 (the classes) or 255 (ignore).

A palette PNG (mode ``P``) whose palette starts with SECOND's seven colours is read as an index PNG
(that is what :func:`write_label` writes); any other palette PNG is decoded by the colours a viewer
shows.

A colour or index that is not a SECOND class is an error naming the file, the value and its pixel
count. It is never mapped to "no change": that would silently inflate every score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from scd_core.errors import ScdInputError, UnknownColourError
from scd_core.legend import NO_CHANGE, SECOND_CLASSES, LandCover, change_type_names, split_change_code
from scd_core.tensors import is_torch_tensor

__all__ = [
    "CLASSES",
    "IGNORE",
    "NO_CHANGE",
    "NUM_CHANGE_TYPES",
    "NUM_CLASSES",
    "LandCover",
    "change_code",
    "change_type_name",
    "change_type_names",
    "class_name",
    "index_to_rgb",
    "read_label",
    "rgb_to_index",
    "split_change_code",
    "write_label",
]


#: SECOND's classes in the order used across the literature; index 0 is "no change".
CLASSES: tuple[LandCover, ...] = SECOND_CLASSES
#: Label value of pixels that are not scored and not trained on.
IGNORE = 255
#: Land-cover classes, without "no change".
NUM_CLASSES = len(CLASSES) - 1
#: From-to change-type codes: 0 (no change) and one per ordered (from, to) pair, same-class included.
NUM_CHANGE_TYPES = 1 + NUM_CLASSES * NUM_CLASSES

_UNKNOWN = 255
_RGB_TABLE = np.array([c.rgb for c in CLASSES], dtype=np.uint8)
_colour_lookup: np.ndarray | None = None


def _class_of_colour() -> np.ndarray:
    """Class index of every 24-bit colour (``_UNKNOWN`` for non-SECOND colours): a 16 MiB table,
    built on first use, that decodes a label with one gather instead of a search per pixel."""
    global _colour_lookup
    if _colour_lookup is None:
        table = np.full(1 << 24, _UNKNOWN, dtype=np.uint8)
        table[_pack(_RGB_TABLE)] = np.arange(len(CLASSES), dtype=np.uint8)
        _colour_lookup = table
    return _colour_lookup


def _pack(rgb: np.ndarray) -> np.ndarray:
    """24-bit keys ``r | g << 8 | b << 16`` of H×W×3 uint8 colours, via a zero-padded RGBX buffer read
    as little-endian uint32 (one copy, no per-channel arithmetic)."""
    rgbx = np.zeros((*rgb.shape[:-1], 4), dtype=np.uint8)
    rgbx[..., :3] = rgb
    return rgbx.view("<u4")[..., 0]


def class_name(index: int) -> str:
    """Name of class ``index`` (0 is "no change")."""
    return CLASSES[index].name


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


def change_type_name(code: int) -> str:
    """Human name of a SECOND from-to code, e.g. ``"low vegetation → building"``."""
    if not 0 <= code < NUM_CHANGE_TYPES:
        raise ValueError(f"change code {code} is outside 0..{NUM_CHANGE_TYPES - 1}")
    return change_type_names()[code]


def rgb_to_index(rgb: np.ndarray, source: str | Path = "<array>") -> np.ndarray:
    """Class indices of an H×W×3 uint8 SECOND colour image.

    Raises:
        UnknownColourError: naming ``source``, each unknown colour and how many pixels have it.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ScdInputError(f"expected an H×W×3 RGB label, got shape {rgb.shape}", source)
    packed = _pack(rgb)
    index = _class_of_colour()[packed]
    unknown = index == _UNKNOWN
    if unknown.any():
        values, counts = np.unique(packed[unknown], return_counts=True)
        listed = ", ".join(
            f"({v & 255},{v >> 8 & 255},{v >> 16 & 255}) × {n} px"
            for v, n in zip(values[:10], counts[:10], strict=True)
        )
        more = f" and {len(values) - 10} more" if len(values) > 10 else ""
        raise UnknownColourError(f"colours that are not SECOND classes: {listed}{more}", source)
    return index


def index_to_rgb(index: np.ndarray) -> np.ndarray:
    """SECOND colours of a class-index map (ignored pixels must be masked out before)."""
    return _RGB_TABLE[np.asarray(index)]


def _check_indices(index: np.ndarray, source: str | Path) -> np.ndarray:
    valid = (index <= NUM_CLASSES) | (index == IGNORE)
    if not valid.all():
        values, counts = np.unique(index[~valid], return_counts=True)
        listed = ", ".join(f"{v} × {n} px" for v, n in zip(values[:10], counts[:10], strict=True))
        raise UnknownColourError(f"values that are not SECOND class indices (0-6, 255): {listed}", source)
    return index.astype(np.uint8)


def _has_second_palette(image: Image.Image) -> bool:
    palette = image.getpalette() or []
    return len(palette) >= _RGB_TABLE.size and bytes(palette[: _RGB_TABLE.size]) == _RGB_TABLE.tobytes()


def read_label(path: str | Path) -> np.ndarray:
    """Read a per-date SECOND label PNG (RGB, palette or index) as an H×W uint8 class map."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError:
        raise ScdInputError("file not found", path) from None
    except OSError as error:
        raise ScdInputError(f"not a readable image ({error})", path) from None
    if image.mode in ("L", "I", "I;16"):
        return _check_indices(np.asarray(image), path)
    if image.mode == "P" and _has_second_palette(image):
        return _check_indices(np.asarray(image), path)
    if image.mode == "RGB":
        return rgb_to_index(np.asarray(image), path)
    if image.mode in ("RGBA", "P"):
        return rgb_to_index(np.asarray(image.convert("RGB")), path)
    raise ScdInputError(f"unsupported label image mode {image.mode!r}; use RGB or a one-band index PNG", path)


def write_label(path: str | Path, index: np.ndarray) -> None:
    """Write a class map as a palette PNG whose palette is SECOND's colours.

    Viewers show SECOND's colours (ignored pixels, 255, in black) and :func:`read_label` gives back
    the same indices, 255 included.
    """
    index = np.asarray(index, dtype=np.uint8)
    image = Image.fromarray(index, mode="P")
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(CLASSES)] = _RGB_TABLE
    image.putpalette(palette.ravel().tolist())
    image.save(path)
