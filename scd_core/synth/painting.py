"""Painting primitives: coverage from a signed distance, colours, blending a colour over an image."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def coverage(distance: np.ndarray, softness: float = 1.0) -> np.ndarray:
    """Coverage of a pixel by a shape from its signed distance (negative inside).

    Coverage ≥ 0.5 exactly where the distance is ≤ 0, which is where the label says the shape is: the
    image and its label never disagree about a pixel.
    """
    alpha = np.float32(0.5) - (distance if softness == 1 else distance * np.float32(1 / softness))
    return clamp(alpha, 0, 1)


def clamp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Clip a temporary in place: np.clip's Python wrapper costs more than the clipping on small arrays."""
    np.maximum(values, np.float32(low), out=values)
    return np.minimum(values, np.float32(high), out=values)


def rgb(colour: ArrayLike) -> np.ndarray:
    """A colour shaped (3, 1, 1), to broadcast over channel-first images.

    Images are rendered channel-first (3×H×W): an operation between an H×W map and a colour then runs
    along whole rows, where H×W×3 would run three values at a time, ten times slower.
    """
    return np.asarray(colour, np.float32).reshape(3, 1, 1)


def blend(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """Paint ``colour`` (a :func:`rgb` colour or a 3×H×W image) over ``image`` in place, with coverage
    ``alpha`` (H×W)."""
    image += (colour - image) * alpha
