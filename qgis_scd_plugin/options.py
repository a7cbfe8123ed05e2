"""The advanced options as an analyst types them, read and checked in the dialog's words.

The dialog hands BANDS over as a list of band numbers, but ``qgis_process`` and ``processing.run``
pass whatever was typed, such as the text ``3,2,1``, which QGIS's own reading of a band parameter
turns into band 0. So the plugin reads these values itself, and a value it cannot read is an
:class:`OptionError` whose message names the option as the dialog labels it. What a value may be
(choices, range, multiple) is the engine's option vocabulary's (:mod:`scd_core.vocabulary`, read
through :mod:`.shared`): :func:`check_option` asks it, in the dialog's words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .shared import vocabulary


class OptionError(ValueError):
    """A value the analyst gave that the run cannot use; the message is shown as it is."""


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and not value)


def parse_bands(value: Any, label: str = "Bands") -> list[int]:
    """Band numbers from the dialog's list or from typed text (``3,2,1``, ``3;2;1`` or ``3 2 1``);
    an empty value is an empty list (the model's own bands)."""
    if _is_empty(value):
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value).strip())
    bands = []
    for item in items:
        band = _band_number(item)
        if band is None:
            raise OptionError(f"{label}: {value!r} is not a list of band numbers such as 3,2,1.")
        if band < 1:
            raise OptionError(f"{label}: band numbers start at 1; got {band}.")
        bands.append(band)
    return bands


def parse_mask_values(value: Any, label: str = "Mask values") -> str | None:
    """MASK_VALUES as the engine's ``--mask-values`` text (``3,8,9,10``), from typed text (commas,
    semicolons or spaces) or a list; None when empty (every non-zero pixel of a mask is masked)."""
    if _is_empty(value) or (isinstance(value, str) and not value.strip()):
        return None
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value).strip())
    values = [_band_number(item) for item in items]
    if any(number is None for number in values):
        raise OptionError(f"{label}: {value!r} is not a list of whole numbers such as 3,8,9,10.")
    return ",".join(str(number) for number in values)


def _band_number(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    if isinstance(item, float):
        return int(item) if item.is_integer() else None
    text = str(item).strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else None


def check_bands(bands: Sequence[int], images: Sequence[tuple[str, str, int]], label: str = "Bands") -> None:
    """Refuse a band that one of the ``images`` (role, layer name, band count) does not have."""
    for role, name, count in images:
        missing = [band for band in bands if band > count]
        if missing:
            have = "1 band" if count == 1 else f"{count} bands"
            raise OptionError(
                f"{label}: the {role} image '{name}' has {have}, so band {missing[0]} does not exist; "
                f"choose bands from 1 to {count}."
            )


def parse_scale(value: Any, label: str = "Scale") -> str | None:
    """SCALE as the engine's ``--scale`` text: ``auto``, ``auto-per-date``, ``none`` or ``LOW,HIGH`` with LOW < HIGH;
    None when empty (the checkpoint's own scaling, else auto)."""
    if _is_empty(value) or not str(value).strip():
        return None
    text = str(value).strip().lower()
    if text in vocabulary.NAMED_SCALES:
        return text
    parts = [part.strip() for part in re.split(r"[,;]", text)]
    if len(parts) == 2:
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            pass
        else:
            if math.isfinite(low) and math.isfinite(high) and low < high:
                return f"{low!r},{high!r}"
    raise OptionError(
        f"{label}: type auto, auto-per-date, none, or the raw values that map to the model's range as LOW,HIGH with "
        f"LOW below HIGH; got {value!r}."
    )


def parse_number(value: Any, label: str, integer: bool) -> float | None:
    """A number as the dialog gives it or as typed (``9``, ``"9"``, ``"0.5"``); None when empty (the
    engine's default then applies). Text that is no number is refused: QGIS's own reading of it is 0,
    which would run silently with a value no one chose."""
    if _is_empty(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        number = math.nan
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
    if not math.isfinite(number) or (integer and not number.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise OptionError(f"{label}: type {kind} or leave it empty; got {value!r}.")
    return int(number) if integer else number


def check_option(value: Any, option: str, label: str) -> None:
    """Refuse a value the engine's option ``option`` does not take, in the dialog's words: the
    vocabulary's check, named by the parameter's ``label``."""
    problem = vocabulary.OPTIONS[option].problem(value)
    if problem:
        raise OptionError(f"{label}: {problem}.")


def parse_choice(value: Any, choices: Sequence[str], label: str) -> str:
    """The choice an enumeration's value picks: its index as the dialog gives it (0 for the first)
    or as typed; None or empty picks the first, the default."""
    if _is_empty(value):
        return choices[0]
    index = _band_number(value)
    if index is None or not 0 <= index < len(choices):
        listed = ", ".join(f"{number} ({choice})" for number, choice in enumerate(choices))
        raise OptionError(f"{label}: choose one of {listed}; got {value!r}.")
    return choices[index]


def check_overlap(tile: int | None, overlap: int | None, overlap_label: str) -> None:
    """An overlap of at most half the tile, the one rule that ties two options together."""
    if tile is not None and overlap is not None and overlap > tile // 2:
        raise OptionError(
            f"{overlap_label}: at most half the tile size ({tile // 2} pixels for tiles of {tile}); got {overlap}."
        )
