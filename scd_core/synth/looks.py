"""How each date looks: season, light and sensor, the pseudo-changes that are never labelled."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scd_core.synth.painting import rgb


def _mix(a: Sequence[float], b: Sequence[float], t: float) -> np.ndarray:
    return rgb(np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t)


@dataclass(frozen=True)
class Look:
    """Season, light and sensor of one date: everything that changes the image but not the land."""

    grass: np.ndarray
    lawn: np.ndarray
    canopy: np.ndarray
    soil: np.ndarray
    pavement: np.ndarray
    asphalt: np.ndarray
    water: np.ndarray
    sun: tuple[float, float]  # unit vector towards the sun in image coordinates
    shadow_length: float  # shadow length per unit of height: 1 / tan(sun elevation)
    shadow_tint: np.ndarray  # fraction of light removed in shadows, per channel (skylight is blue)
    gain: np.ndarray  # per-channel illumination gain, haze folded in
    offset: np.ndarray  # per-channel offset, haze folded in
    gradient: tuple[float, float]  # brightness slope across the scene, (along x, along y)
    noise: float  # amplitude of sensor noise, in grey levels

    def shadow(self, height: float) -> tuple[float, float]:
        """Offset of the shadow of something ``height`` pixels tall."""
        length = height * self.shadow_length
        return -self.sun[0] * length, -self.sun[1] * length


def draw_looks(rng: np.random.Generator) -> tuple[Look, Look]:
    """Both dates' looks. The sun stays in the same quarter of the sky, as for two daytime flights."""
    azimuth = math.radians(rng.uniform(110, 250))
    first = _draw_look(rng, azimuth + math.radians(rng.uniform(-35, 35)))
    second = _draw_look(rng, azimuth + math.radians(rng.uniform(-35, 35)))
    return first, second


def _draw_look(rng: np.random.Generator, azimuth: float) -> Look:
    greenness = rng.uniform(0, 1)  # season: dry/autumn 0 ... lush summer 1
    moisture = rng.uniform(0.85, 1.05)
    turbidity = rng.uniform(0, 1)
    elevation = math.radians(rng.uniform(35, 70))
    haze = rng.uniform(0, 0.12)
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.96, 1.04, 3)
    offset = rng.uniform(-8, 8, 3)
    return Look(
        grass=_mix((128, 124, 88), (78, 112, 60), greenness),
        lawn=_mix((132, 140, 90), (88, 138, 70), greenness),
        canopy=_mix((82, 88, 60), (40, 72, 42), greenness),
        soil=_mix((172, 150, 122), (150, 128, 100), rng.uniform(0, 1)) * np.float32(moisture),
        pavement=_mix((150, 148, 144), (176, 172, 165), rng.uniform(0, 1)),
        asphalt=_mix((82, 84, 88), (110, 110, 112), rng.uniform(0, 1)),
        water=_mix((34, 56, 72), (66, 86, 70), turbidity),
        sun=(math.sin(azimuth), -math.cos(azimuth)),
        shadow_length=1 / math.tan(elevation),
        shadow_tint=rgb(np.array((0.58, 0.54, 0.46)) * rng.uniform(0.85, 1.0)),
        gain=rgb(gain * (1 - haze)),
        offset=rgb(offset * (1 - haze) + haze * np.array((200, 205, 215))),
        gradient=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)),
        noise=rng.uniform(2, 5),
    )
