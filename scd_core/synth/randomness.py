"""Random streams: every random draw of a scene comes from a stream of its own purpose.

A scene's streams derive from its seed with :class:`numpy.random.SeedSequence`, the purpose being the
spawn key: ``(0,)`` draws the plan (:func:`~scd_core.synth.plan.draw_plan`), ``(1, date, tile row,
tile column)`` the sensor noise of one tile of one date, ``(2,)`` the nodata footprints of a
georeferenced pair. Streams of different purposes are independent: asking for a nodata collar, say,
leaves the scene as it is.
"""

from __future__ import annotations

import math

import numpy as np


def random_stream(seed: int, *purpose: int) -> np.random.Generator:
    """The random stream of one purpose of one scene; streams of different purposes are independent."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=purpose))


def pair_seed(seed: int, index: int) -> int:
    """Seed of pair ``index`` of a data set drawn with ``seed`` (what :func:`~scd_core.synth.write_second` uses).

    Pairs get statistically independent seeds, so pair 3 of seed 0 is not pair 2 of seed 1.
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def sensor_noise(rng: np.random.Generator, shape: tuple[int, ...], amplitude: float, offset: np.ndarray) -> np.ndarray:
    """Uniform noise in [-amplitude, amplitude], plus ``offset``.

    One random byte per sample, drawn as 64-bit words: many times faster than float draws, and the
    noise is the largest random draw of a scene. At a few grey levels, uniform noise looks like a
    sensor's Gaussian noise.
    """
    count = math.prod(shape)
    words = rng.integers(0, 2**64 - 1, size=(count + 7) // 8, dtype=np.uint64, endpoint=True)
    noise = np.multiply(words.view(np.uint8)[:count].reshape(shape), np.float32(2 * amplitude / 255), dtype=np.float32)
    noise += offset - np.float32(amplitude)
    return noise
