"""From raw pixel values of any dtype to the values a model was trained on.

Two steps, both described by the checkpoint's ``normalisation``:

1. **Scaling** brings raw values into the checkpoint's ``value_range`` (e.g. 0-255 for a model trained
   on 8-bit aerial images). The choice, per run (``--scale``, else the checkpoint's ``scale``):

   * ``auto`` (default): 8-bit imagery is used as it is; any other dtype (uint16 reflectance, float)
     is stretched per band from its 2nd to its 98th percentile onto ``value_range``, **one stretch
     for both dates**: the percentiles are measured on the valid pixels of both dates together, over
     the whole overlap of the two rasters (a decimated read), never over the AOI. A separate stretch
     per date would turn a change of light or season into a change of land cover, and a stretch
     measured inside the AOI would make the same place's result depend on the AOI around it. Two
     dates of different dtypes are stretched one by one;
   * ``auto-per-date``: the same stretch measured on each date alone, for pairs whose sensors or
     processing levels differ;
   * ``none``: raw values are used as they are (for models trained on raw reflectance);
   * ``(low, high)``, ``--scale LOW,HIGH`` on the command line: the user's own linear scaling of
     every band from ``[low, high]`` onto ``value_range``, e.g. ``--scale 0,3000`` for Sentinel-2 L1C.

   Scaled values are clipped to ``value_range``.
2. **Standardisation**: ``(x - mean) / std`` per band.

Pixels that are nodata on either date become 0 after normalisation (the training mean), so they
disturb their valid neighbours as little as possible; their outputs are nodata anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scd_core.errors import InvalidOptionError

Scale = str | tuple[float, float]

STRETCH_PERCENTILES = (2.0, 98.0)


#: The named scalings (the others are ``(low, high)``).
NAMED_SCALES = ("auto", "auto-per-date", "none")


def parse_scale(text: str) -> Scale:
    """``auto``, ``auto-per-date``, ``none`` or ``LOW,HIGH`` (the ``--scale`` option) as a :data:`Scale`."""
    if text in NAMED_SCALES:
        return text
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidOptionError(
            f"--scale takes auto, auto-per-date, none or LOW,HIGH (e.g. 0,3000), got {text!r}"
        ) from None
    if not low < high:
        raise InvalidOptionError(f"--scale LOW,HIGH needs LOW < HIGH, got {text!r}")
    return (low, high)


@dataclass(frozen=True)
class Normaliser:
    """Maps raw C×H×W pixels to model inputs: optional linear scaling per band, then standardisation."""

    mean: np.ndarray
    std: np.ndarray
    value_range: tuple[float, float]
    #: per-band raw values that map to ``value_range``'s ends; ``None`` uses raw values as they are.
    raw_low: np.ndarray | None = None
    raw_high: np.ndarray | None = None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` (C×H×W, any dtype) as float32 model inputs."""
        x = raw.astype(np.float32, copy=False)
        if self.raw_low is not None:
            low, high = self.value_range
            span = (self.raw_high - self.raw_low)[:, None, None]
            x = low + (x - self.raw_low[:, None, None]) * ((high - low) / span)
            x = np.clip(x, low, high)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]

    def describe(self) -> str:
        """The scaling in words, for the run's log and run.json."""
        if self.raw_low is None or self.raw_high is None:
            return "raw values used as they are"
        ranges = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(self.raw_low, self.raw_high, strict=True))
        return f"bands scaled from {ranges} to [{self.value_range[0]:g}, {self.value_range[1]:g}]"


def percentile_range(samples: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-band 2nd and 98th percentiles of the valid pixels of C×H×W samples taken together
    (``(data, valid)`` pairs); ``high > low`` always."""
    low, high = [], []
    for band in range(len(samples[0][0])):
        values = np.concatenate([data[band][valid & np.isfinite(data[band])] for data, valid in samples])
        if values.size == 0:
            values = np.zeros(1, dtype=np.float32)
        p_low, p_high = np.percentile(values, STRETCH_PERCENTILES)
        low.append(float(p_low))
        high.append(float(p_high) if p_high > p_low else float(p_low) + 1.0)
    return np.array(low, dtype=np.float32), np.array(high, dtype=np.float32)


def _fixed(normalisation: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    mean = np.asarray(normalisation["mean"], dtype=np.float32)
    std = np.asarray(normalisation["std"], dtype=np.float32)
    low, high = (float(v) for v in normalisation["value_range"])
    return mean, std, (low, high)


def make_normaliser(normalisation: Mapping[str, Any], scale: Scale, dtype: str) -> Normaliser:
    """The normaliser of rasters of ``dtype`` whose scaling needs no sample: ``none``, ``(low,
    high)``, or ``auto`` on 8-bit imagery (the training sets' case)."""
    mean, std, value_range = _fixed(normalisation)
    if scale in ("auto", "auto-per-date") and np.dtype(dtype) == np.uint8:
        scale = (0.0, 255.0) if value_range != (0.0, 255.0) else "none"
    if scale == "none":
        return Normaliser(mean, std, value_range)
    if isinstance(scale, tuple):
        low, high = np.full(len(mean), scale[0], np.float32), np.full(len(mean), scale[1], np.float32)
        return Normaliser(mean, std, value_range, low, high)
    raise ValueError(f"the {scale!r} stretch of {dtype} imagery needs samples: use make_normalisers")


def make_normalisers(
    normalisation: Mapping[str, Any],
    scale: Scale,
    dtypes: tuple[str, str],
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[Normaliser, Normaliser]:
    """The normalisers of both dates; ``samples`` (``(data, valid)`` of each date over the overlap)
    feed the ``auto`` stretches (see the module docstring). One stretch for both dates is one
    :class:`Normaliser`, returned twice."""
    if scale not in ("auto", "auto-per-date") or all(np.dtype(d) == np.uint8 for d in dtypes):
        return make_normaliser(normalisation, scale, dtypes[0]), make_normaliser(normalisation, scale, dtypes[1])
    mean, std, value_range = _fixed(normalisation)
    if scale == "auto" and dtypes[0] == dtypes[1]:
        shared = Normaliser(mean, std, value_range, *percentile_range(samples))
        return shared, shared
    normalisers = []
    for dtype, sample in zip(dtypes, samples, strict=True):
        if np.dtype(dtype) == np.uint8:
            normalisers.append(make_normaliser(normalisation, scale, dtype))
        else:
            normalisers.append(Normaliser(mean, std, value_range, *percentile_range([sample])))
    return normalisers[0], normalisers[1]
