"""Which bands of a raster feed the model, in the order the checkpoint names them.

A checkpoint names its input bands (``["red", "green", "blue"]``); a raster may name its bands too,
by their colour interpretation (GDAL's ``red``, ``green``, ``blue``, ...) or their descriptions
(``"B04 red"``, ``"nir"``). The rule, in order:

1. ``--bands`` wins, as given;
2. a raster that names every band the model reads feeds them in the model's order, wherever they
   are stored: a file stored blue, green, red and tagged so is read as red, green, blue; a band
   also names itself by its whole description, so a model trained on bands described ``B05`` or
   ``B8A`` (Sentinel-2's 13, which ``scd train`` stores as described) finds them again;
3. a raster that names none of its bands, and has as many as the model reads, is read in the
   order it stores them, and the run says so (in its log and in run.json);
4. anything else is refused, naming what the file has and what the model reads.

A band's description wins over its colour interpretation: GDAL gives every 3-band 8-bit GeoTIFF the
interpretation red, green, blue unless told otherwise, while a description is written on purpose.
Descriptions are read word by word, with band codes as aliases where the satellites agree:
Sentinel-2's B02/B03/B04/B08 (blue, green, red, nir) and B2/B3/B4 (blue, green, red, as in Landsat
8/9). B5 and B8 are not aliases (Landsat 8's nir and panchromatic, Sentinel-2's red edge and nir),
and Landsat 4-7 number their bands otherwise (B3 is red there): describe such bands by name or choose
them with ``--bands``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.enums import ColorInterp

from scd_core.errors import BandMismatchError

#: Words of band descriptions and colour interpretations, and the band each names.
ALIASES = {
    "red": "red",
    "r": "red",
    "b04": "red",
    "b4": "red",
    "green": "green",
    "g": "green",
    "b03": "green",
    "b3": "green",
    "blue": "blue",
    "b": "blue",
    "b02": "blue",
    "b2": "blue",
    "nir": "nir",
    "nir1": "nir",
    "b08": "nir",
    "infrared": "nir",
    "gray": "gray",
    "grey": "gray",
    "pan": "gray",
    "panchromatic": "gray",
}
#: Colour interpretations that name a band (``gray`` only in a one-band raster: GDAL gives it to the
#: first band of any untagged multi-band file).
_INTERPRETATIONS = {ColorInterp.red: "red", ColorInterp.green: "green", ColorInterp.blue: "blue"}


@dataclass(frozen=True)
class BandChoice:
    """The 1-based bands read from one raster, and why these."""

    bands: tuple[int, ...]
    reason: str


def canonical(text: str) -> str | None:
    """The band a description or name stands for (``"B04 red"`` → ``"red"``), or None."""
    words = [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]
    if " ".join(words) in ("near infrared", "near-infrared"):
        return "nir"
    named = {ALIASES[w] for w in words if w in ALIASES}
    return named.pop() if len(named) == 1 else None


def band_names(dataset: rasterio.DatasetReader) -> list[str | None]:
    """The band each of the raster's bands says it is, by description first, else by colour
    interpretation; None where it says nothing."""
    names: list[str | None] = []
    for interp, description in zip(dataset.colorinterp, dataset.descriptions, strict=True):
        name = canonical(description) if description else None
        if name is None:
            name = _INTERPRETATIONS.get(interp, "gray" if interp == ColorInterp.gray and dataset.count == 1 else None)
        names.append(name)
    return names


def _listing(bands: Sequence[int], names: Sequence[str]) -> str:
    return ", ".join(f"{band} as {name}" for band, name in zip(bands, names, strict=True))


def _too_few(role: str, data_bands: Sequence[int], has: str, wanted: Sequence[str]) -> str:
    """Refusal of a raster with fewer bands than the model reads: no ``--bands`` choice gives them,
    short of repeating a band, which only a one-band (grey) raster has reason to do."""
    count = len(data_bands)
    message = (
        f"{role} has {count} band{'s' if count > 1 else ''} ({has}) and the model reads {len(wanted)} "
        f"({', '.join(wanted)}): use imagery with those bands"
    )
    if count == 1:
        repeated = ",".join([str(data_bands[0])] * len(wanted))
        message += f", or feed its one band as each with --bands {repeated} (a grey image, unlike the model's training)"
    return message


def select_bands(
    dataset: rasterio.DatasetReader, path: str | Path, wanted: Sequence[str], requested: Sequence[int] | None, role: str
) -> BandChoice:
    """The bands of ``dataset`` that feed a model reading ``wanted`` (see the module docstring)."""
    channels = len(wanted)
    if requested:
        if len(requested) != channels:
            raise BandMismatchError(
                f"--bands lists {len(requested)} bands but the model reads {channels} ({', '.join(wanted)})", path
            )
        missing = [b for b in requested if not 1 <= b <= dataset.count]
        if missing:
            raise BandMismatchError(f"{role} has {dataset.count} bands; --bands asks for {missing}", path)
        return BandChoice(tuple(requested), f"--bands: {_listing(requested, wanted)}")
    data_bands = [i + 1 for i, interp in enumerate(dataset.colorinterp) if interp != ColorInterp.alpha]
    names = band_names(dataset)
    described = [(d or "").strip().lower() for d in dataset.descriptions]
    found = [
        [b for b in data_bands if names[b - 1] == (canonical(w) or w.lower()) or described[b - 1] == w.strip().lower()]
        for w in wanted
    ]
    if all(len(bands) == 1 for bands in found):
        chosen = tuple(bands[0] for bands in found)
        return BandChoice(chosen, f"named by the file: {_listing(chosen, wanted)}")
    named = [b for b in data_bands if names[b - 1] is not None]
    if not named and len(data_bands) == channels:
        return BandChoice(
            tuple(data_bands), f"the file does not name its bands; read in stored order: {_listing(data_bands, wanted)}"
        )
    has = ", ".join(f"{b}: {names[b - 1] or 'unnamed'}" for b in data_bands)
    if len(data_bands) < channels:
        raise BandMismatchError(_too_few(role, data_bands, has, wanted), path)
    raise BandMismatchError(
        f"{role}'s bands ({has}) do not give the model's {channels} bands ({', '.join(wanted)}) one each; "
        "choose them with --bands, e.g. --bands " + ",".join(str(i) for i in range(1, channels + 1)),
        path,
    )
