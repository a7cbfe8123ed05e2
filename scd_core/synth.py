"""Synthetic SECOND-style bitemporal scenes: the test and benchmark data of the whole project.

SECOND itself cannot ship with the project, yet the metrics, the detection engine, training and the
QGIS plugin all need image pairs whose truth is known. This module makes them from a seed:

* :func:`make_scene` — one pair of RGB images with SECOND's per-date labels, in memory;
* :func:`write_second` — a folder in SECOND's layout (``im1/``, ``im2/``, ``label1/``, ``label2/``);
* :func:`write_geo_pair` — georeferenced GeoTIFFs, optionally with nodata collars and with the AFTER
  image on another grid, as real acquisitions come. Large rasters are written a block row at a time.

**How a scene is made.** A *plan* is drawn first, from the seed alone: a rotated grid of parcels between
roads, perhaps a meandering river, and in each parcel buildings (rectangles that cast shadows away
from the sun), a tree clump (overlapping dome-shaded crowns), sports courts with lines, a pond, a bare
construction site, or just the ground, which is textured bare soil and pavement or low vegetation
after a smooth random field. Some parcels are then changed for the second date, as cities change:
vegetation built over, ponds dug and filled, trees cleared, buildings demolished or demolished and
rebuilt, courts laid out or built over. The plan is then *rendered* for each date: every shape is a
signed distance, so edges are anti-aliased and a sub-pixel misregistration of the second image is only
a shift of the coordinates.

**What is labelled.** As in SECOND, only the changes: ``label1``/``label2`` hold the class (1-6) of
each date where the land cover changed and 0 ("no change") elsewhere, on both dates alike. A building
demolished and rebuilt is a change although its class stays (5 → 5). The full land cover of each
date, which SECOND does not annotate, is in :attr:`Scene.cover1`/:attr:`Scene.cover2`.

**Pseudo-changes, never labelled**, because a detector must learn to ignore them: a global
illumination and colour shift with haze and a brightness gradient, the season (colour of grass, trees
and water, moisture of soil), the sun's direction and elevation (so shadows move and roof facets
change brightness), independent sensor noise, and a misregistration of the second image by 0.3-1.8 px.

**Determinism.** Everything random comes from one :class:`numpy.random.Generator` stream per purpose,
derived from the seed with :class:`numpy.random.SeedSequence`; rendering uses only arithmetic that
numpy computes exactly whatever the array size (no transcendental functions on arrays, no BLAS). A
scene is rendered in 256×256 tiles, each pixel from its own coordinates, with sensor noise drawn per
tile: the same seed and size give byte-identical arrays, in memory (:func:`make_scene`) or on disk
(:func:`write_geo_pair` holds the very same scene).

**Speed**, measured on the development machine (two vCPUs of an AMD EPYC virtual machine, shared with
other jobs, load ≈ 2.5): ``make_scene(512, seed)`` takes a median of 45 ms (10th percentile 38 ms;
best of three runs for each of seeds 0-49, one thread), above the 30 ms aimed at. About half is
per-pixel work on the ground, light and noise; half is the shapes, where numpy's cost per call on
small windows dominates. Writing an 8192×8192 pair takes 22 s and 175 MB of memory with
``keep_scene=False``, 46 s and 1.1 GB keeping the arrays and reprojecting AFTER to EPSG:4326.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from scd_core.labels import CLASSES, IGNORE, NO_CHANGE, change_code, index_to_rgb

__all__ = ["GeoPair", "Scene", "make_scene", "pair_seed", "write_geo_pair", "write_second"]

# SECOND class indices, named once from scd_core.labels so that nothing here can disagree with it.
WATER, GROUND, LOW_VEGETATION, TREE, BUILDING, PLAYGROUND = (c.index for c in CLASSES[1:])

#: Side of the square tiles a scene is rendered in: small enough for a tile's temporaries to stay in
#: the CPU's cache and memory to stay bounded on large scenes, large enough that few shapes straddle
#: tiles. Fixed, because each tile's sensor noise has its own random stream.
_TILE = 256
#: Bytes of one block allocated and freed before rendering: see :func:`_reuse_freed_memory`.
_ALLOCATOR_WARM_UP = 8 << 20
#: Scene area, in pixels, for which the counts of guaranteed parcel uses below are meant.
_REFERENCE_AREA = 512 * 512

Size = int | tuple[int, int]


# --------------------------------------------------------------------------------------------------
# Public results
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Scene:
    """A bitemporal pair and its truth, SECOND's way.

    Attributes:
        image1, image2: H×W×3 uint8 RGB images of the two dates.
        label1, label2: H×W uint8 per-date class maps: the class (1-6) where the land cover changed,
            0 elsewhere, on both dates alike. In a :class:`GeoPair`, also 255 (ignore) where an image
            has no data.
        cover1, cover2: H×W uint8 land cover of each date everywhere (1-6): what SECOND does not
            annotate, for semantic segmentation and for checking the generator.
        misregistration: (dx, dy) in pixels by which the ground under ``image2`` is shifted with
            respect to ``image1`` and the labels (a pseudo-change).
    """

    image1: np.ndarray
    image2: np.ndarray
    label1: np.ndarray
    label2: np.ndarray
    cover1: np.ndarray
    cover2: np.ndarray
    misregistration: tuple[float, float]

    def __repr__(self) -> str:
        height, width = self.label1.shape
        dx, dy = self.misregistration
        return (
            f"Scene({height}×{width}, {self.change_mask.mean():.1%} changed, misregistration ({dx:+.2f}, {dy:+.2f}) px)"
        )

    @property
    def change_mask(self) -> np.ndarray:
        """True where the land cover changed (SECOND's binary change truth)."""
        return (self.label1 != NO_CHANGE) & (self.label1 != IGNORE)

    @property
    def change_type(self) -> np.ndarray:
        """From-to codes of :func:`scd_core.labels.change_code` (255 where ignored)."""
        ignored = self.label1 == IGNORE
        codes = change_code(np.where(ignored, 0, self.label1), np.where(ignored, 0, self.label2))
        codes[ignored] = IGNORE
        return codes


@dataclass(frozen=True, eq=False)
class GeoPair:
    """Files written by :func:`write_geo_pair`, and the scene they hold.

    ``label1``, ``label2`` and ``change_type`` are on BEFORE's grid; ``after`` is on its own grid when
    one was asked for. ``scene`` holds the arrays on BEFORE's grid (AFTER's image before it was
    regridded) with nodata as 0 in the images and 255 in the labels, or None if not kept.
    """

    before: Path
    after: Path
    label1: Path
    label2: Path
    change_type: Path
    scene: Scene | None


# --------------------------------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------------------------------
def _rng(seed: int, *purpose: int) -> np.random.Generator:
    """The random stream of one purpose of one scene; streams of different purposes are independent."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=purpose))


def pair_seed(seed: int, index: int) -> int:
    """Seed of pair ``index`` of a data set drawn with ``seed`` (what :func:`write_second` uses).

    Pairs get statistically independent seeds, so pair 3 of seed 0 is not pair 2 of seed 1.
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def _sensor_noise(rng: np.random.Generator, shape: tuple[int, ...], amplitude: float, offset: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------------
# Smooth random fields
# --------------------------------------------------------------------------------------------------
#: Pixels beyond the scene's edges that smooth fields cover: parcels straddle the edges and shapes
#: reach a little beyond them.
_MARGIN = 64


def _cells(coords: np.ndarray, spacing: float, origin: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice cell of each coordinate and its smoothstep weight; the lattice's node 0 is at ``origin``."""
    position = (coords - np.float32(origin)) * np.float32(1 / spacing)
    cell = np.floor(position)
    weight = position - cell
    return cell.astype(np.intp), weight * weight * (np.float32(3) - np.float32(2) * weight)


@dataclass(frozen=True)
class _Lattice:
    """Value noise: random values on a square lattice, smoothly interpolated; values in [-1, 1].

    The lattice covers the scene and :data:`_MARGIN` pixels around it.
    """

    values: np.ndarray
    spacing: float

    @classmethod
    def draw(cls, rng: np.random.Generator, height: float, width: float, spacing: float) -> _Lattice:
        shape = (int((height + 2 * _MARGIN) / spacing) + 3, int((width + 2 * _MARGIN) / spacing) + 3)
        return cls(rng.uniform(-1.0, 1.0, shape).astype(np.float32), spacing)

    def nodes(self, axis: int) -> np.ndarray:
        """Coordinates of the lattice's nodes along ``axis`` (0: y, 1: x)."""
        return np.arange(self.values.shape[axis], dtype=np.float32) * np.float32(self.spacing) - np.float32(_MARGIN)

    def grid(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Field on the grid of rows ``ys`` × columns ``xs``: separable, so cheap.

        Columns are interpolated on the small lattice first, then whole rows are gathered: the result
        is C-ordered (a column gather on the full grid would give an F-ordered array, and every
        later operation mixing it with C-ordered ones would run strided, several times slower).
        """
        row, row_weight = _cells(ys, self.spacing, -_MARGIN)
        col, col_weight = _cells(xs, self.spacing, -_MARGIN)
        left = self.values[:, col]
        columns = np.ascontiguousarray(left + (self.values[:, col + 1] - left) * col_weight)
        top = columns[row]
        return top + (columns[row + 1] - top) * row_weight[:, None]

    def at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Field at points ``(ys[i], xs[i])`` (for planning, a few thousand points)."""
        row, row_weight = _cells(np.asarray(ys, np.float32), self.spacing, -_MARGIN)
        col, col_weight = _cells(np.asarray(xs, np.float32), self.spacing, -_MARGIN)
        top = self.values[row, col] + (self.values[row, col + 1] - self.values[row, col]) * col_weight
        bottom = self.values[row + 1, col] + (self.values[row + 1, col + 1] - self.values[row + 1, col]) * col_weight
        return top + (bottom - top) * row_weight


@dataclass(frozen=True)
class _Profile:
    """One-dimensional value noise over [-reach, reach]: a river's meander."""

    values: np.ndarray
    spacing: float
    reach: float

    def at(self, t: np.ndarray) -> np.ndarray:
        cell, weight = _cells(t, self.spacing, -self.reach)
        left = self.values[cell]
        return left + (self.values[cell + 1] - left) * weight


def _triangle_wave(t: np.ndarray) -> np.ndarray:
    """Period-1 triangle wave in [-1, 1]: stripes (tilled soil, mown lawns, ribbed roofs) without sin."""
    return np.abs((t - np.floor(t)) * np.float32(4) - np.float32(2)) - np.float32(1)


# --------------------------------------------------------------------------------------------------
# Where things are drawn
# --------------------------------------------------------------------------------------------------
Extent = tuple[float, float, float, float]  # top, bottom, left, right in scene pixels


@dataclass(frozen=True)
class _View:
    """A rectangle of the scene as pixel-centre coordinates, x to the right and y down.

    ``shift`` moves the ground under the view: the second date is rendered through a shifted view,
    which is exactly a misregistration. A pixel's coordinates depend only on its indices and the shift,
    so any two views give bit-identical values for the pixels they share.
    """

    row0: int
    col0: int
    ys: np.ndarray
    xs: np.ndarray
    shift: tuple[float, float]

    @classmethod
    def of(cls, row0: int, row1: int, col0: int, col1: int, shift: tuple[float, float] = (0.0, 0.0)) -> _View:
        ys = np.arange(row0, row1, dtype=np.float32) + np.float32(0.5 + shift[1])
        xs = np.arange(col0, col1, dtype=np.float32) + np.float32(0.5 + shift[0])
        return cls(row0, col0, ys, xs, shift)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys), len(self.xs)

    def window(self, extent: Extent) -> tuple[int, int, int, int]:
        """Pixel indices (row0, row1, col0, col1) of the scene whose centres may fall in ``extent``."""
        top, bottom, left, right = extent
        dx, dy = self.shift
        return (
            math.floor(top - dy - 0.5),
            math.ceil(bottom - dy + 0.5),
            math.floor(left - dx - 0.5),
            math.ceil(right - dx + 0.5),
        )

    def part(self, extent: Extent) -> tuple[slice, slice] | None:
        """Slices of this view covering ``extent``, or None if they do not meet."""
        row0, row1, col0, col1 = self.window(extent)
        row0, row1 = max(row0 - self.row0, 0), min(row1 - self.row0, len(self.ys))
        col0, col1 = max(col0 - self.col0, 0), min(col1 - self.col0, len(self.xs))
        if row0 >= row1 or col0 >= col1:
            return None
        return slice(row0, row1), slice(col0, col1)

    def extent(self) -> Extent:
        return float(self.ys[0]) - 0.5, float(self.ys[-1]) + 0.5, float(self.xs[0]) - 0.5, float(self.xs[-1]) + 0.5

    def around(self, extent: Extent) -> _View:
        """A view with the same shift covering ``extent`` whole, even beyond this view."""
        row0, row1, col0, col1 = self.window(extent)
        return _View.of(row0, row1, col0, col1, self.shift)

    def overlap(self, other: _View) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """Matching slices of this view and ``other`` (same shift) where they share pixels."""
        row0, col0 = max(self.row0, other.row0), max(self.col0, other.col0)
        row1 = min(self.row0 + self.shape[0], other.row0 + other.shape[0])
        col1 = min(self.col0 + self.shape[1], other.col0 + other.shape[1])
        if row0 >= row1 or col0 >= col1:
            return None
        mine = slice(row0 - self.row0, row1 - self.row0), slice(col0 - self.col0, col1 - self.col0)
        theirs = slice(row0 - other.row0, row1 - other.row0), slice(col0 - other.col0, col1 - other.col0)
        return mine, theirs


def _alpha(distance: np.ndarray, softness: float = 1.0) -> np.ndarray:
    """Coverage of a pixel by a shape from its signed distance (negative inside).

    Coverage ≥ 0.5 exactly where the distance is ≤ 0, which is where the label says the shape is: the
    image and its label never disagree about a pixel.
    """
    alpha = np.float32(0.5) - (distance if softness == 1 else distance * np.float32(1 / softness))
    return _clamp(alpha, 0, 1)


def _clamp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Clip a temporary in place: np.clip's Python wrapper costs more than the clipping on small arrays."""
    np.maximum(values, np.float32(low), out=values)
    return np.minimum(values, np.float32(high), out=values)


def _rgb(colour: Sequence[float]) -> np.ndarray:
    """A colour shaped (3, 1, 1), to broadcast over channel-first images.

    Images are rendered channel-first (3×H×W): an operation between an H×W map and a colour then runs
    along whole rows, where H×W×3 would run three values at a time, ten times slower.
    """
    return np.asarray(colour, np.float32).reshape(3, 1, 1)


def _blend(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """Paint ``colour`` (a :func:`_rgb` colour or a 3×H×W image) over ``image`` in place, with coverage
    ``alpha`` (H×W)."""
    image += (colour - image) * alpha


@dataclass(frozen=True)
class _Box:
    """A rectangle of half-sizes ``half_length`` (along u) × ``half_width`` (along v), rotated so that u
    points along (cos, sin): parcels, buildings, courts, patches."""

    cx: float
    cy: float
    half_length: float
    half_width: float
    cos: float
    sin: float

    def local(self, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The box's (u, v) coordinates of the grid ``ys`` × ``xs``."""
        dx = xs - np.float32(self.cx)
        dy = ys - np.float32(self.cy)
        u = dx[None, :] * np.float32(self.cos) + (dy * np.float32(self.sin))[:, None]
        v = (dy * np.float32(self.cos))[:, None] - dx[None, :] * np.float32(self.sin)
        return u, v

    def distance(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Signed distance (outside the corners, a slight underestimate: fine for coverage)."""
        return np.maximum(np.abs(u) - np.float32(self.half_length), np.abs(v) - np.float32(self.half_width))

    def extent(self, margin: float = 0.0) -> Extent:
        reach_x = self.half_length * abs(self.cos) + self.half_width * abs(self.sin) + margin
        reach_y = self.half_length * abs(self.sin) + self.half_width * abs(self.cos) + margin
        return self.cy - reach_y, self.cy + reach_y, self.cx - reach_x, self.cx + reach_x

    def sub(self, along: float, across: float, half_length: float, half_width: float) -> _Box:
        """A box with the same orientation, centred at (along, across) in this box's frame."""
        cx = self.cx + along * self.cos - across * self.sin
        cy = self.cy + along * self.sin + across * self.cos
        return _Box(cx, cy, half_length, half_width, self.cos, self.sin)


# --------------------------------------------------------------------------------------------------
# How each date looks: the pseudo-changes
# --------------------------------------------------------------------------------------------------
def _mix(a: Sequence[float], b: Sequence[float], t: float) -> np.ndarray:
    return _rgb(np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t)


@dataclass(frozen=True)
class _Look:
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


def _draw_looks(rng: np.random.Generator) -> tuple[_Look, _Look]:
    """Both dates' looks. The sun stays in the same quarter of the sky, as for two daytime flights."""
    azimuth = math.radians(rng.uniform(110, 250))
    return tuple(_draw_look(rng, azimuth + math.radians(rng.uniform(-35, 35))) for _ in range(2))


def _draw_look(rng: np.random.Generator, azimuth: float) -> _Look:
    greenness = rng.uniform(0, 1)  # season: dry/autumn 0 ... lush summer 1
    moisture = rng.uniform(0.85, 1.05)
    turbidity = rng.uniform(0, 1)
    elevation = math.radians(rng.uniform(35, 70))
    haze = rng.uniform(0, 0.12)
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.96, 1.04, 3)
    offset = rng.uniform(-8, 8, 3)
    return _Look(
        grass=_mix((128, 124, 88), (78, 112, 60), greenness),
        lawn=_mix((132, 140, 90), (88, 138, 70), greenness),
        canopy=_mix((82, 88, 60), (40, 72, 42), greenness),
        soil=_mix((172, 150, 122), (150, 128, 100), rng.uniform(0, 1)) * np.float32(moisture),
        pavement=_mix((150, 148, 144), (176, 172, 165), rng.uniform(0, 1)),
        asphalt=_mix((82, 84, 88), (110, 110, 112), rng.uniform(0, 1)),
        water=_mix((34, 56, 72), (66, 86, 70), turbidity),
        sun=(math.sin(azimuth), -math.cos(azimuth)),
        shadow_length=1 / math.tan(elevation),
        shadow_tint=_rgb(np.array((0.58, 0.54, 0.46)) * rng.uniform(0.85, 1.0)),
        gain=_rgb(gain * (1 - haze)),
        offset=_rgb(offset * (1 - haze) + haze * np.array((200, 205, 215))),
        gradient=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)),
        noise=rng.uniform(2, 5),
    )


# --------------------------------------------------------------------------------------------------
# The ground under everything: vegetation field, roads, rivers
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ground:
    """Smooth random fields shared by both dates: the unchanged background of the scene."""

    vegetation: _Lattice  # low vegetation where ≥ 0, ground elsewhere
    shore: _Lattice  # wobble of pond shores
    soil: _Lattice  # pavement ↔ bare soil, and mid-scale mottling
    grain: _Lattice  # fine mottling of every surface
    urban: _Lattice  # how built-up a parcel tends to be

    def vegetated_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return self.vegetation.at(ys, xs) >= 0


def _draw_ground(rng: np.random.Generator, height: int, width: int) -> _Ground:
    """Fields of the ground. Vegetation patches are a coarse field plus detail, baked into one lattice
    at the detail's spacing: one evaluation per tile instead of two."""
    coarse = _Lattice.draw(rng, height, width, rng.uniform(70, 130))
    detail = _Lattice.draw(rng, height, width, rng.uniform(18, 30))
    field = coarse.grid(detail.nodes(0), detail.nodes(1)) + np.float32(0.35) * detail.values
    # The threshold is a quantile of the field itself, so that both ground and low vegetation occur
    # whatever the draw, in proportions that vary from scene to scene.
    threshold = np.quantile(field, rng.uniform(0.3, 0.65)).astype(np.float32)
    return _Ground(
        vegetation=_Lattice(field - threshold, detail.spacing),
        shore=detail,
        soil=_Lattice.draw(rng, height, width, rng.uniform(30, 60)),
        grain=_Lattice.draw(rng, height, width, rng.uniform(3.5, 6)),
        urban=_Lattice.draw(rng, height, width, 256),
    )


@dataclass(frozen=True)
class _Roads:
    """Straight roads on every few lines of the parcel grid, in both directions: along u at
    ``phase_u + k * period_u`` and along v likewise."""

    cos: float
    sin: float
    period_u: float
    period_v: float
    phase_u: float
    phase_v: float
    half_width: float

    def distance(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        across_u = self._to_lines(ys, xs, self.cos, self.sin, self.phase_u, self.period_u)
        across_v = self._to_lines(ys, xs, -self.sin, self.cos, self.phase_v, self.period_v)
        return np.minimum(across_u, across_v, out=across_u)

    def _to_lines(
        self, ys: np.ndarray, xs: np.ndarray, along_x: float, along_y: float, phase: float, period: float
    ) -> np.ndarray:
        """Signed distance to the nearest of the lines where x·along_x + y·along_y = phase + k·period.

        Worked in periods: the position is offset by half a period, so that a line sits in the middle
        of each period and the distance to it is how far the fraction is from one half.
        """
        position = np.add.outer(
            ys * np.float32(along_y / period), xs * np.float32(along_x / period) + np.float32(0.5 - phase / period)
        )
        position -= np.floor(position)  # np.mod is ten times slower
        position -= np.float32(0.5)
        np.abs(position, out=position)
        position -= np.float32(self.half_width / period)
        position *= np.float32(period)
        return position


@dataclass(frozen=True)
class _River:
    """A river: a band around a meandering centre line through (cx, cy) along (cos, sin)."""

    cx: float
    cy: float
    cos: float
    sin: float
    meander: _Profile
    amplitude: float
    half_width: float

    def distance(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Signed distance on the grid ``ys`` × ``xs``."""
        dx = xs - np.float32(self.cx)
        dy = ys - np.float32(self.cy)
        u = dx[None, :] * np.float32(self.cos) + (dy * np.float32(self.sin))[:, None]
        v = (dy * np.float32(self.cos))[:, None] - dx[None, :] * np.float32(self.sin)
        return self._from_axis(u, v)

    def reaches(self, extent: Extent) -> bool:
        """Whether the river may come into ``extent``: its meanders stay within a band along its axis."""
        top, bottom, left, right = extent
        across = [(y - self.cy) * self.cos - (x - self.cx) * self.sin for y in (top, bottom) for x in (left, right)]
        reach = self.amplitude + self.half_width + 2
        return min(across) < reach and max(across) > -reach

    def distance_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Signed distance at points ``(ys[i], xs[i])``."""
        dx, dy = xs - np.float32(self.cx), ys - np.float32(self.cy)
        return self._from_axis(
            dx * np.float32(self.cos) + dy * np.float32(self.sin), dy * np.float32(self.cos) - dx * np.float32(self.sin)
        )

    def _from_axis(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Signed distance from coordinates along (u) and across (v) the river's axis."""
        return np.abs(v - np.float32(self.amplitude) * self.meander.at(u)) - np.float32(self.half_width)


def _draw_river(rng: np.random.Generator, height: int, width: int) -> _River:
    angle = rng.uniform(0, math.pi)
    reach = math.hypot(height, width) + _MARGIN
    spacing = rng.uniform(90, 170)
    values = rng.uniform(-1, 1, int(2 * reach / spacing) + 3).astype(np.float32)
    return _River(
        cx=rng.uniform(0.15, 0.85) * width,
        cy=rng.uniform(0.15, 0.85) * height,
        cos=math.cos(angle),
        sin=math.sin(angle),
        meander=_Profile(values, spacing, reach),
        amplitude=rng.uniform(8, 50),
        half_width=rng.uniform(7, 20),
    )


# --------------------------------------------------------------------------------------------------
# Things in parcels
# --------------------------------------------------------------------------------------------------
@dataclass
class _Canvas:
    """What an item paints into: the land cover, the image, or both (first date: one pass for both)."""

    view: _View
    date: int
    look: _Look
    image: np.ndarray | None
    cover: np.ndarray | None
    grain: np.ndarray | None
    canopies: dict | None  # shaded tree clumps, by (clump, date)

    def pixels(self, part: tuple[slice, slice]) -> np.ndarray:
        """The image (3×h×w) under ``part``, a view to paint into."""
        return self.image[:, part[0], part[1]]

    def box_footprint(
        self, box: _Box, land_cover: int
    ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray, np.ndarray] | None:
        """Record ``land_cover`` inside ``box`` in the cover, and give what an image painter shades with:
        the view's part within 3 px of the box, box-local coordinates ``u``, ``v`` and the signed distance
        to its edge. None when the box misses the view or no image is painted."""
        part = self.view.part(box.extent(3))
        if part is None:
            return None
        u, v = box.local(self.view.ys[part[0]], self.view.xs[part[1]])
        distance = box.distance(u, v)
        if self.cover is not None:
            self.cover[part][distance <= 0] = land_cover
        if self.image is None:
            return None
        return part, u, v, distance


@dataclass(frozen=True)
class _Patch:
    """A bare construction site or tilled field (ground), or a mown lawn (low vegetation)."""

    box: _Box
    lawn: bool

    def extent(self, shadow_reach: float) -> Extent:
        return self.box.extent(3)

    def paint(self, canvas: _Canvas) -> None:
        footprint = canvas.box_footprint(self.box, LOW_VEGETATION if self.lawn else GROUND)
        if footprint is None:
            return
        part, u, v, distance = footprint
        grain = canvas.grain[part]
        if self.lawn:
            shade = 1 + np.float32(0.05) * np.sign(_triangle_wave(v * np.float32(1 / 9))) + np.float32(0.05) * grain
            colour = canvas.look.lawn
        else:
            shade = 1 + np.float32(0.05) * _triangle_wave(u * np.float32(1 / 5)) + np.float32(0.16) * grain
            colour = canvas.look.soil
        _blend(canvas.pixels(part), colour * shade, _alpha(distance, 2.0))


@dataclass(frozen=True)
class _Pond:
    """A pond: an ellipse with a wobbly shore."""

    box: _Box  # the ellipse's half-axes and orientation
    shore: _Lattice
    wobble: float

    def extent(self, shadow_reach: float) -> Extent:
        return self.box.extent(self.wobble + 3)

    def paint(self, canvas: _Canvas) -> None:
        part = canvas.view.part(self.extent(0))
        if part is None:
            return
        ys, xs = canvas.view.ys[part[0]], canvas.view.xs[part[1]]
        u, v = self.box.local(ys, xs)
        u *= np.float32(1 / self.box.half_length)
        v *= np.float32(1 / self.box.half_width)
        radius = min(self.box.half_length, self.box.half_width)
        distance = (np.sqrt(u * u + v * v) - np.float32(1)) * np.float32(radius)
        distance += np.float32(self.wobble) * self.shore.grid(ys, xs)
        if canvas.cover is not None:
            canvas.cover[part][distance <= 0] = WATER
        if canvas.image is not None:
            depth = 1 - np.float32(0.15) * np.clip(distance * np.float32(-1 / 8), 0, 1)
            _blend(canvas.pixels(part), canvas.look.water * depth, _alpha(distance, 1.5))


_WHITE = _rgb((232, 232, 226))


@dataclass(frozen=True)
class _Court:
    """A sports court or pitch: a surface within a surround, white lines, a centre circle on pitches."""

    box: _Box
    surface: tuple[float, float, float]
    surround: tuple[float, float, float]
    margin: float
    circle: float  # radius of the centre circle, 0 for none

    def extent(self, shadow_reach: float) -> Extent:
        return self.box.extent(3)

    def paint(self, canvas: _Canvas) -> None:
        footprint = canvas.box_footprint(self.box, PLAYGROUND)
        if footprint is None:
            return
        part, u, v, distance = footprint
        inner = distance + np.float32(self.margin)
        surround = _rgb(self.surround)
        surface = surround + (_rgb(self.surface) - surround) * _alpha(inner)
        lines = np.maximum(_alpha(np.abs(inner) - 0.7), _alpha(np.abs(u) - 0.7) * (inner <= 0))
        if self.circle:
            lines = np.maximum(lines, _alpha(np.abs(np.sqrt(u * u + v * v) - np.float32(self.circle)) - 0.7))
        _blend(surface, _WHITE, lines)
        surface *= 1 + np.float32(0.03) * canvas.grain[part]
        _blend(canvas.pixels(part), surface, _alpha(distance))


@dataclass(frozen=True)
class _Clump:
    """Trees: overlapping crowns, each a paraboloid dome; the canopy is their upper envelope."""

    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    height: float  # of the trees, for their shadows

    def crowns_extent(self) -> Extent:
        return (
            float((self.cy - self.radius).min()) - 1,
            float((self.cy + self.radius).max()) + 1,
            float((self.cx - self.radius).min()) - 1,
            float((self.cx + self.radius).max()) + 1,
        )

    def extent(self, shadow_reach: float) -> Extent:
        top, bottom, left, right = self.crowns_extent()
        reach = self.height * shadow_reach + 2
        return top - reach, bottom + reach, left - reach, right + reach

    def canopy(self, view: _View) -> np.ndarray:
        """Height of the canopy over ``view``, in pixels; negative (down to -1) off the crowns.

        Each crown is r²-d² over 2r: it is ≈ r-d near the edge, a signed distance like every shape.
        """
        canopy = np.full(view.shape, -1.0, np.float32)
        height, width = view.shape
        shift_x, shift_y = view.shift
        reach = self.radius + 1
        # Each crown's window in the view, as view.part would give it, for all crowns at once ...
        rows0 = np.clip(np.floor(self.cy - reach - shift_y - 0.5).astype(int) - view.row0, 0, height)
        rows1 = np.clip(np.ceil(self.cy + reach - shift_y + 0.5).astype(int) - view.row0, 0, height)
        cols0 = np.clip(np.floor(self.cx - reach - shift_x - 0.5).astype(int) - view.col0, 0, width)
        cols1 = np.clip(np.ceil(self.cx + reach - shift_x + 0.5).astype(int) - view.col0, 0, width)
        # ... and the dome separated, r²-dy²-dx² over 2r = rise(dy) - fall(dx), for all crowns at once,
        # so that each crown costs two operations on its window.
        half_inverse = (np.float32(0.5) / self.radius)[:, None]
        dy = (
            view.ys[np.minimum(rows0[:, None] + np.arange(max(int((rows1 - rows0).max()), 1)), height - 1)]
            - self.cy[:, None]
        )
        dx = (
            view.xs[np.minimum(cols0[:, None] + np.arange(max(int((cols1 - cols0).max()), 1)), width - 1)]
            - self.cx[:, None]
        )
        rise = ((self.radius * self.radius)[:, None] - dy * dy) * half_inverse
        fall = dx * dx * half_inverse
        for crown, (row0, row1, col0, col1) in enumerate(
            zip(rows0.tolist(), rows1.tolist(), cols0.tolist(), cols1.tolist())
        ):
            if row0 < row1 and col0 < col1:
                window = canopy[row0:row1, col0:col1]
                np.maximum(window, rise[crown, : row1 - row0, None] - fall[crown, None, : col1 - col0], out=window)
        return canopy

    def paint(self, canvas: _Canvas) -> None:
        if canvas.image is None:
            part = canvas.view.part(self.crowns_extent())
            if part is not None:
                canvas.cover[part][self.canopy(_sub_view(canvas.view, part)) >= 0] = TREE
            return
        crowns, canopy, coverage, shade = self._shaded(canvas)
        self._paint_shadow(canvas, crowns, coverage)
        shared = canvas.view.overlap(crowns)
        if shared is None:
            return
        mine, theirs = shared
        if canvas.cover is not None:
            canvas.cover[mine][canopy[theirs] >= 0] = TREE
        shade = shade[theirs] * (1 + np.float32(0.14) * canvas.grain[mine])
        _blend(canvas.pixels(mine), canvas.look.canopy * shade, coverage[theirs])

    def _shaded(self, canvas: _Canvas) -> tuple[_View, np.ndarray, np.ndarray, np.ndarray]:
        """The clump on its own view: canopy height, coverage and shading (lit slopes, dark gaps).

        Drawn on its own view, so that the shading (a gradient) and the shadow (a shifted copy) are
        the same whichever tile is being rendered; cached for the other tiles it spans.
        """
        key = (id(self), canvas.date)
        if canvas.canopies is not None and key in canvas.canopies:
            return canvas.canopies[key]
        crowns = canvas.view.around(self.crowns_extent())
        canopy = self.canopy(crowns)
        slope_y, slope_x = np.gradient(canopy)
        sun_x, sun_y = canvas.look.sun
        lit = _clamp(slope_x * np.float32(-sun_x) - slope_y * np.float32(sun_y), -1, 1)
        shade = (1 + np.float32(0.35) * lit) * (
            np.float32(0.75) + np.float32(0.25) * _clamp(canopy * np.float32(0.3), 0, 1)
        )
        shaded = crowns, canopy, _alpha(-canopy), shade
        if canvas.canopies is not None:
            canvas.canopies[key] = shaded
        return shaded

    def _paint_shadow(self, canvas: _Canvas, crowns: _View, coverage: np.ndarray) -> None:
        dx, dy = canvas.look.shadow(self.height)
        cast = _View(crowns.row0 + round(dy), crowns.col0 + round(dx), crowns.ys, crowns.xs, crowns.shift)
        shared = canvas.view.overlap(cast)
        if shared is not None:
            mine, theirs = shared
            canvas.pixels(mine)[...] *= 1 - coverage[theirs] * canvas.look.shadow_tint


def _sub_view(view: _View, part: tuple[slice, slice]) -> _View:
    return _View(view.row0 + part[0].start, view.col0 + part[1].start, view.ys[part[0]], view.xs[part[1]], view.shift)


@dataclass(frozen=True)
class _Building:
    """A building: a roof (flat with a parapet, gabled, or ribbed metal) casting a shadow."""

    box: _Box
    height: float  # pixels
    roof: tuple[float, float, float]
    style: str  # "flat", "gabled" or "ribbed"

    def extent(self, shadow_reach: float) -> Extent:
        return self.box.extent(self.height * shadow_reach + 3)

    def paint_shadow(self, canvas: _Canvas) -> None:
        """Darken the ground under the roof swept along the shadow (roofs are painted later).

        The swept roof is a hexagon, the Minkowski sum of the box and the shadow segment: the
        intersection of three slabs around the sweep's middle, along u, along v and across the sweep.
        """
        dx, dy = canvas.look.shadow(self.height)
        top, bottom, left, right = self.box.extent(2)
        part = canvas.view.part((top + min(dy, 0), bottom + max(dy, 0), left + min(dx, 0), right + max(dx, 0)))
        if part is None:
            return
        box = self.box
        du, dv = dx * box.cos + dy * box.sin, dy * box.cos - dx * box.sin
        u, v = box.local(canvas.view.ys[part[0]] - np.float32(dy / 2), canvas.view.xs[part[1]] - np.float32(dx / 2))
        distance = np.maximum(
            np.abs(u) - np.float32(box.half_length + abs(du) / 2), np.abs(v) - np.float32(box.half_width + abs(dv) / 2)
        )
        length = math.hypot(du, dv)
        if length > 1e-3:
            across_u, across_v = -dv / length, du / length
            across = np.abs(u * np.float32(across_u) + v * np.float32(across_v))
            np.maximum(
                distance,
                across - np.float32(box.half_length * abs(across_u) + box.half_width * abs(across_v)),
                out=distance,
            )
        canvas.pixels(part)[...] *= 1 - _alpha(distance) * canvas.look.shadow_tint

    def paint(self, canvas: _Canvas) -> None:
        footprint = canvas.box_footprint(self.box, BUILDING)
        if footprint is None:
            return
        part, u, v, distance = footprint
        if self.style == "gabled":
            sun_x, sun_y = canvas.look.sun
            facing = sun_y * self.box.cos - sun_x * self.box.sin  # sun along the roof's v axis
            shade = 1 + np.float32(0.22 * facing) * _clamp(v * np.float32(1.5), -1, 1)
        else:
            shade = 1 - np.float32(0.18) * _clamp(distance + np.float32(2.5), 0, 1)  # parapet
            if self.style == "ribbed":
                shade *= 1 + np.float32(0.06) * _triangle_wave(u * np.float32(1 / 3))
        shade *= 1 + np.float32(0.04) * canvas.grain[part]
        _blend(canvas.pixels(part), _rgb(self.roof) * shade, _alpha(distance))


# --------------------------------------------------------------------------------------------------
# Filling parcels
# --------------------------------------------------------------------------------------------------
_ROOFS = (
    (158, 156, 150),
    (196, 194, 188),
    (120, 122, 126),
    (176, 88, 74),
    (196, 102, 92),
    (84, 118, 158),
    (118, 150, 176),
    (206, 210, 214),
    (150, 120, 96),
)
_COURT_COLOURS = (  # (surface, surround)
    ((172, 78, 64), (72, 128, 86)),
    ((70, 136, 92), (166, 86, 66)),
    ((62, 98, 150), (76, 134, 96)),
    ((92, 146, 88), (92, 146, 88)),
)


def _roof(rng: np.random.Generator) -> tuple[float, float, float]:
    base = np.asarray(_ROOFS[rng.integers(len(_ROOFS))], np.float64) * rng.uniform(0.9, 1.1)
    return tuple(float(c) for c in np.clip(base + rng.uniform(-8, 8, 3), 20, 250))


def _buildings(rng: np.random.Generator, parcel: _Box) -> list[_Building]:
    """Residential slabs, an industrial hall or a few houses, aligned with the parcel."""
    length, width = parcel.half_length, parcel.half_width
    style = rng.choice(("slabs", "hall", "houses"), p=(0.45, 0.3, 0.25))
    if style == "hall":
        box = parcel.sub(
            rng.uniform(-2, 2), rng.uniform(-2, 2), length * rng.uniform(0.7, 0.95), width * rng.uniform(0.55, 0.92)
        )
        return [_Building(box, rng.uniform(10, 24), _roof(rng), str(rng.choice(("ribbed", "flat", "gabled"))))]
    if style == "slabs":
        count = max(1, min(4, int(2 * width / rng.uniform(18, 30))))
        pitch = 2 * width / count
        half_length = length * rng.uniform(0.6, 0.92)
        half_width = min(pitch * rng.uniform(0.25, 0.38), 14)
        roof, height = _roof(rng), rng.uniform(16, 40)
        return [
            _Building(parcel.sub(0, -width + pitch * (k + 0.5), half_length, half_width), height, roof, "flat")
            for k in range(count)
        ]
    columns, rows = max(1, int(length / 14)), max(1, int(width / 14))
    result = []
    for i in range(columns):
        for j in range(rows):
            if rng.random() < 0.25:
                continue
            along = -length + (2 * length / columns) * (i + 0.5)
            across = -width + (2 * width / rows) * (j + 0.5)
            size = min(length / columns, width / rows)
            box = parcel.sub(along, across, size * rng.uniform(0.55, 0.8), size * rng.uniform(0.45, 0.7))
            result.append(_Building(box, rng.uniform(8, 16), _roof(rng), str(rng.choice(("gabled", "flat")))))
    return result


def _trees(rng: np.random.Generator, parcel: _Box, density: float, radii: tuple[float, float]) -> list[_Clump]:
    """Crowns scattered over the parcel, kept inside it so that changing a parcel changes only it."""
    area = 4 * parcel.half_length * parcel.half_width
    count = max(1, int(area * density / (math.pi * (sum(radii) / 2) ** 2)))
    radius = rng.uniform(*radii, count)
    along = rng.uniform(-1, 1, count) * np.maximum(parcel.half_length - radius, 0)
    across = rng.uniform(-1, 1, count) * np.maximum(parcel.half_width - radius, 0)
    cx = parcel.cx + along * parcel.cos - across * parcel.sin
    cy = parcel.cy + along * parcel.sin + across * parcel.cos
    height = float(radius.mean()) * rng.uniform(1.8, 2.6)
    return [_Clump(cx.astype(np.float32), cy.astype(np.float32), radius.astype(np.float32), height)]


def _grove(rng: np.random.Generator, parcel: _Box) -> list[_Clump]:
    inner = parcel.sub(0, 0, parcel.half_length * rng.uniform(0.7, 1), parcel.half_width * rng.uniform(0.7, 1))
    return _trees(rng, inner, rng.uniform(0.9, 1.3), (5.0, 10.0))


def _young_trees(rng: np.random.Generator, parcel: _Box) -> list[_Clump]:
    return _trees(rng, parcel, rng.uniform(0.5, 0.8), (3.5, 5.5))


def _courts(rng: np.random.Generator, parcel: _Box) -> list[_Court]:
    """One pitch, or up to three courts side by side."""
    surface, surround = _COURT_COLOURS[rng.integers(len(_COURT_COLOURS))]
    if rng.random() < 0.35:
        box = parcel.sub(0, 0, parcel.half_length * 0.92, parcel.half_width * 0.88)
        return [_Court(box, surface, surround, 3.0, min(box.half_width * 0.3, 9))]
    count = int(rng.integers(1, 4))
    pitch = 2 * parcel.half_length / count
    half_width = min(parcel.half_width * rng.uniform(0.6, 0.9), 16)
    return [
        _Court(
            parcel.sub(-parcel.half_length + pitch * (k + 0.5), 0, pitch * 0.45, half_width),
            surface,
            surround,
            3.0,
            0.0,
        )
        for k in range(count)
    ]


def _pond(rng: np.random.Generator, parcel: _Box, shore: _Lattice) -> list[_Pond]:
    box = parcel.sub(
        rng.uniform(-3, 3),
        rng.uniform(-3, 3),
        parcel.half_length * rng.uniform(0.55, 0.8),
        parcel.half_width * rng.uniform(0.55, 0.8),
    )
    return [_Pond(box, shore, min(box.half_width, box.half_length) * 0.18)]


def _patch(rng: np.random.Generator, parcel: _Box, lawn: bool) -> list[_Patch]:
    return [
        _Patch(
            parcel.sub(0, 0, parcel.half_length * rng.uniform(0.75, 1), parcel.half_width * rng.uniform(0.75, 1)), lawn
        )
    ]


def _scattered_trees(rng: np.random.Generator, parcel: _Box) -> list[_Clump]:
    return _trees(rng, parcel, rng.uniform(0.05, 0.2), (4.0, 8.0)) if rng.random() < 0.5 else []


# --------------------------------------------------------------------------------------------------
# The plan of a scene
# --------------------------------------------------------------------------------------------------
@dataclass
class _Parcel:
    """A cell of the street grid and what it holds on each date."""

    box: _Box
    use: str
    vegetated: bool  # is the ground at its centre low vegetation
    inside: bool  # is its centre inside the scene
    items: list
    items_after: list
    rebuilt: list[_Box] = field(default_factory=list)
    changed: bool = False


class _Index:
    """Things bucketed by their extents, so that a tile finds the few it meets among thousands."""

    BUCKET = 128

    def __init__(self, items: Sequence, extents: Sequence[Extent]) -> None:
        self.items = items
        self.extents = extents
        self.buckets: dict[tuple[int, int], list[int]] = {}
        for number, (top, bottom, left, right) in enumerate(self.extents):
            for row in range(math.floor(top / self.BUCKET), math.floor(bottom / self.BUCKET) + 1):
                for col in range(math.floor(left / self.BUCKET), math.floor(right / self.BUCKET) + 1):
                    self.buckets.setdefault((row, col), []).append(number)

    def query(self, extent: Extent) -> list:
        """Items whose extents meet ``extent``, in their original order (the painting order)."""
        top, bottom, left, right = extent
        found: set[int] = set()
        for row in range(math.floor(top / self.BUCKET), math.floor(bottom / self.BUCKET) + 1):
            for col in range(math.floor(left / self.BUCKET), math.floor(right / self.BUCKET) + 1):
                found.update(self.buckets.get((row, col), ()))
        return [
            self.items[number]
            for number in sorted(found)
            if self.extents[number][0] < bottom
            and self.extents[number][1] > top
            and self.extents[number][2] < right
            and self.extents[number][3] > left
        ]


_PAINT_ORDER = (_Patch, _Pond, _Court, _Clump, _Building)


def _item_index(items: list, shadow_reach: float) -> _Index:
    """One date's items in painting order, indexed by their extents (shadows included)."""
    items = sorted(items, key=lambda item: _PAINT_ORDER.index(type(item)))
    return _Index(items, [item.extent(shadow_reach) for item in items])


@dataclass(frozen=True)
class _Plan:
    """Everything random about a scene, drawn before a single pixel is rendered."""

    seed: int
    height: int
    width: int
    looks: tuple[_Look, _Look]
    misregistration: tuple[float, float]
    ground: _Ground
    roads: _Roads
    rivers: tuple[_River, ...]
    indexes: tuple[_Index, _Index]
    changed: _Index  # extents of the changed parcels: the second date's land cover differs only there
    rebuilt: _Index  # footprints of buildings demolished and rebuilt (5 → 5)


def _plan(height: int, width: int, seed: int) -> _Plan:
    rng = _rng(seed, 0)
    looks = _draw_looks(rng)
    angle = rng.uniform(0, 2 * math.pi)
    magnitude = rng.uniform(0.3, 1.8)
    misregistration = (magnitude * math.cos(angle), magnitude * math.sin(angle))
    ground = _draw_ground(rng, height, width)
    roads, parcels = _draw_street_grid(rng, height, width)
    area_scale = height * width / _REFERENCE_AREA
    rivers = tuple(_draw_river(rng, height, width) for _ in range(rng.poisson(0.55 * math.sqrt(area_scale))))
    parcels = _away_from(rivers, parcels)
    parcels = _furnish(rng, parcels, ground, (height, width), has_river=bool(rivers))
    _change(rng, parcels, ground, has_river=bool(rivers), area_scale=area_scale)
    shadow_reach = max(look.shadow_length for look in looks)
    first = [item for parcel in parcels for item in parcel.items]
    second = [item for parcel in parcels for item in parcel.items_after]
    changed = [parcel.box.extent(3) for parcel in parcels if parcel.changed]
    rebuilt = [box for parcel in parcels for box in parcel.rebuilt]
    return _Plan(
        seed=seed,
        height=height,
        width=width,
        looks=looks,
        misregistration=misregistration,
        ground=ground,
        roads=roads,
        rivers=rivers,
        indexes=(_item_index(first, shadow_reach), _item_index(second, shadow_reach)),
        changed=_Index(changed, changed),
        rebuilt=_Index(rebuilt, [box.extent(1) for box in rebuilt]),
    )


def _away_from(rivers: Sequence[_River], parcels: list[_Box]) -> list[_Box]:
    """Parcels clear of every river: a river runs through open land."""
    if not rivers or not parcels:
        return parcels
    ys = np.array([p.cy for p in parcels], np.float32)
    xs = np.array([p.cx for p in parcels], np.float32)
    reach = np.array([math.hypot(p.half_length, p.half_width) + 4 for p in parcels], np.float32)
    clear = np.logical_and.reduce([river.distance_at(ys, xs) > reach for river in rivers])
    return [parcel for parcel, keep in zip(parcels, clear.tolist()) if keep]


def _draw_street_grid(rng: np.random.Generator, height: int, width: int) -> tuple[_Roads, list[_Box]]:
    """Roads every 2-3 parcels in both directions of a rotated grid, and the parcels' usable boxes."""
    angle = rng.uniform(0, math.pi / 2)
    cos, sin = math.cos(angle), math.sin(angle)
    pitch_u, pitch_v = rng.uniform(56, 92, 2)
    every_u, every_v = rng.integers(2, 4, 2)
    phase_u, phase_v = rng.uniform(0, pitch_u), rng.uniform(0, pitch_v)
    half_width = rng.uniform(3.5, 7)
    roads = _Roads(cos, sin, pitch_u * every_u, pitch_v * every_v, phase_u, phase_v, half_width)
    corners_u = [x * cos + y * sin for x in (0, width) for y in (0, height)]
    corners_v = [y * cos - x * sin for x in (0, width) for y in (0, height)]
    inset = half_width + 2.5
    parcels = []
    for i in range(math.floor((min(corners_u) - phase_u) / pitch_u), math.ceil((max(corners_u) - phase_u) / pitch_u)):
        for j in range(
            math.floor((min(corners_v) - phase_v) / pitch_v), math.ceil((max(corners_v) - phase_v) / pitch_v)
        ):
            u, v = phase_u + (i + 0.5) * pitch_u, phase_v + (j + 0.5) * pitch_v
            x, y = u * cos - v * sin, u * sin + v * cos
            if -pitch_u / 3 < x < width + pitch_u / 3 and -pitch_v / 3 < y < height + pitch_v / 3:
                parcels.append(_Box(x, y, pitch_u / 2 - inset, pitch_v / 2 - inset, cos, sin))
    return roads, parcels


#: Parcel uses guaranteed per 512×512 of scene (before the random rest), so that every class and every
#: change has something to act on.
_GUARANTEED_USES = (("buildings", 3), ("trees", 2), ("courts", 1), ("bare", 2), ("open", 3))


def _furnish(
    rng: np.random.Generator, boxes: list[_Box], ground: _Ground, size: tuple[int, int], has_river: bool
) -> list[_Parcel]:
    """Decide each parcel's use on the first date and fill it."""
    height, width = size
    area_scale = height * width / _REFERENCE_AREA
    # Guaranteed uses go to parcels centred inside the scene first, so that they are seen.
    inside = np.array([0 <= b.cx < width and 0 <= b.cy < height for b in boxes], bool)
    order = np.concatenate([rng.permutation(np.flatnonzero(inside)), rng.permutation(np.flatnonzero(~inside))])
    guaranteed = [use for use, count in _GUARANTEED_USES for _ in range(math.ceil(count * area_scale))]
    guaranteed += ["pond"] * math.ceil((0 if has_river else 1) * area_scale)
    guaranteed += ["courts"] * int(rng.random() < 0.5)
    uses: dict[int, str] = dict(zip(order.tolist(), guaranteed))
    centres_y = np.array([b.cy for b in boxes], np.float32)
    centres_x = np.array([b.cx for b in boxes], np.float32)
    urban = 0.5 + 0.5 * ground.urban.at(centres_y, centres_x) if boxes else np.zeros(0)
    vegetated = ground.vegetated_at(centres_y, centres_x) if boxes else np.zeros(0, bool)
    # The rest at random, built-up where the urban field is high, open where it is low.
    kinds = ("buildings", "trees", "open", "bare", "courts", "pond")
    weights = np.stack(
        [0.15 + 0.6 * urban, np.full_like(urban, 0.15), 0.1 + 0.3 * (1 - urban)]
        + [np.full_like(urban, w) for w in (0.1, 0.02, 0.03)],
        axis=1,
    )
    cumulative = np.cumsum(weights, axis=1)
    drawn = (cumulative < rng.uniform(0, 1, (len(boxes), 1)) * cumulative[:, -1:]).sum(axis=1)
    for number, kind in enumerate(drawn.tolist()):
        uses.setdefault(number, kinds[kind])
    parcels = []
    for number, box in enumerate(boxes):
        items = _contents(rng, uses[number], box, ground)
        parcels.append(_Parcel(box, uses[number], bool(vegetated[number]), bool(inside[number]), items, items))
    return parcels


def _contents(rng: np.random.Generator, use: str, box: _Box, ground: _Ground) -> list:
    if use == "buildings":
        return _buildings(rng, box)
    if use == "trees":
        return _grove(rng, box)
    if use == "courts":
        return _courts(rng, box)
    if use == "pond":
        return _pond(rng, box, ground.shore)
    if use == "bare":
        return _patch(rng, box, lawn=False)
    return _scattered_trees(rng, box)


# --------------------------------------------------------------------------------------------------
# Changes between the dates
# --------------------------------------------------------------------------------------------------
def _new_building(rng, parcel, ground):  # low vegetation (or a construction site) → building
    return _buildings(rng, parcel.box)


def _rebuild(rng, parcel, ground):  # building → building: SECOND labels it although the class stays
    parcel.rebuilt = [b.box for b in parcel.items]
    return _buildings(rng, parcel.box)


def _dig_pond(rng, parcel, ground):  # ground → water, in a construction site or open ground (trees felled)
    return [item for item in parcel.items if isinstance(item, _Patch)] + _pond(rng, parcel.box, ground.shore)


def _to_bare_ground(rng, parcel, ground):  # demolition, clearing trees or vegetation, filling a pond
    return _patch(rng, parcel.box, lawn=False)


def _green(rng, parcel, ground):  # ground → low vegetation
    return _patch(rng, parcel.box, lawn=True)


def _plant(rng, parcel, ground):  # low vegetation → tree
    return _young_trees(rng, parcel.box)


def _lay_out_courts(rng, parcel, ground):  # ground / low vegetation → playground
    return _courts(rng, parcel.box)


@dataclass(frozen=True)
class _ChangeKind:
    """A kind of change: what it makes of a parcel, and which first-date parcels, as (use, vegetated)
    pairs with None matching either, it may act on."""

    make: Callable
    sources: tuple[tuple[str, bool | None], ...]


_CHANGES = (
    _ChangeKind(_new_building, (("open", True), ("bare", None))),
    _ChangeKind(_rebuild, (("buildings", None),)),
    _ChangeKind(_to_bare_ground, (("buildings", None),)),
    _ChangeKind(_to_bare_ground, (("trees", None),)),
    _ChangeKind(_dig_pond, (("bare", None), ("open", False))),
    _ChangeKind(_to_bare_ground, (("pond", None),)),
    _ChangeKind(_green, (("bare", None),)),
    _ChangeKind(_plant, (("open", True),)),
    _ChangeKind(_lay_out_courts, (("bare", None), ("open", None))),
    _ChangeKind(_new_building, (("courts", None),)),
    _ChangeKind(_to_bare_ground, (("open", True),)),
)


def _change(
    rng: np.random.Generator, parcels: list[_Parcel], ground: _Ground, has_river: bool, area_scale: float
) -> None:
    """Change 18-32 % of the parcels (at least a few per 512×512), cycling through every kind of change.

    Parcels centred inside the scene are changed first, so that changes are seen even in small
    scenes. The last unchanged parcel inside the scene of trees, of courts and (without a river) of
    ponds is never taken, so that every class still occurs on the second date.
    """
    pools: dict[tuple[str, bool, bool], list[_Parcel]] = {}
    for parcel in parcels:
        pools.setdefault((parcel.use, parcel.vegetated, parcel.inside), []).append(parcel)
    protected = {"trees", "courts"} | (set() if has_river else {"pond"})
    wanted = max(math.ceil(6 * area_scale), round(len(parcels) * rng.uniform(0.18, 0.32)))
    done = 0
    while done < wanted:
        before = done
        for position in rng.permutation(len(_CHANGES)):
            kind = _CHANGES[position]
            use = kind.sources[0][0]
            if use in protected and len(pools.get((use, True, True), [])) + len(pools.get((use, False, True), [])) <= 1:
                continue
            parcel = _take(rng, _eligible(pools, kind, inside=True)) or _take(rng, _eligible(pools, kind, inside=False))
            if parcel is None:
                continue
            parcel.items_after = kind.make(rng, parcel, ground)
            parcel.changed = True
            done += 1
            if done >= wanted:
                return
        if done == before:
            return


def _eligible(pools: dict, kind: _ChangeKind, inside: bool) -> list[list[_Parcel]]:
    """The pools of unchanged parcels that ``kind`` may act on, inside the scene or not."""
    return [
        pools.get((use, wet, inside), [])
        for use, vegetated in kind.sources
        for wet in (True, False)
        if vegetated in (None, wet)
    ]


def _take(rng: np.random.Generator, pools: list[list[_Parcel]]) -> _Parcel | None:
    """Remove and return a random parcel of ``pools`` (None if all are empty)."""
    pick = int(rng.integers(sum(len(pool) for pool in pools) or 1))
    for pool in pools:
        if pick < len(pool):
            pool[pick], pool[-1] = pool[-1], pool[pick]
            return pool.pop()
        pick -= len(pool)
    return None


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------
@dataclass
class _Tile:
    """One rendered tile of a scene."""

    rows: slice
    cols: slice
    image1: np.ndarray  # 3×h×w float grey levels, 0-255 before quantisation
    image2: np.ndarray
    cover1: np.ndarray
    cover2: np.ndarray
    changed: np.ndarray

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """SECOND's per-date labels: the class where the land cover changed, 0 elsewhere."""
        no_change = np.uint8(NO_CHANGE)
        return np.where(self.changed, self.cover1, no_change), np.where(self.changed, self.cover2, no_change)


def _reuse_freed_memory() -> None:
    """Make the C allocator keep freed tile-sized blocks for reuse.

    glibc maps each large block afresh and unmaps it when freed, until freeing a mapped block raises
    its thresholds to that block's size (mallopt(3), dynamic mmap threshold): blocks up to that size
    then come from, and go back to, the heap. Rendering allocates and frees tile-sized temporaries by
    the thousand, and faulting a fresh mapping in page by page costs more than the arithmetic on it.
    One block larger than any temporary, allocated and freed here, raises the thresholds once; on
    other allocators it is merely an allocation.
    """
    np.empty(_ALLOCATOR_WARM_UP, np.uint8)


def _render(plan: _Plan) -> Iterator[_Tile]:
    """Render the scene tile by tile, row by row: both images, both land covers, where they changed."""
    _reuse_freed_memory()
    canopies: dict = {}  # a tree clump spans tiles: shade it once, keep it while rows still need it
    for row0 in range(0, plan.height, _TILE):
        for key in [key for key, shaded in canopies.items() if shaded[0].row0 + shaded[0].shape[0] < row0]:
            del canopies[key]
        for col0 in range(0, plan.width, _TILE):
            rows = slice(row0, min(row0 + _TILE, plan.height))
            cols = slice(col0, min(col0 + _TILE, plan.width))
            here = _View.of(rows.start, rows.stop, cols.start, cols.stop)
            there = _View.of(rows.start, rows.stop, cols.start, cols.stop, plan.misregistration)
            layout = _Layout.of(plan, here)
            ground = layout.cover()
            image1, cover1 = _paint(plan, 0, here, layout, canopies, ground.copy())
            image2, _ = _paint(plan, 1, there, _Layout.of(plan, there), canopies, None)
            cover2 = _second_cover(plan, here, cover1, ground)
            changed = cover1 != cover2
            _mark_rebuilt(plan, here, changed)
            yield _Tile(
                rows, cols, _finish(plan, 0, here, image1), _finish(plan, 1, here, image2), cover1, cover2, changed
            )


def _paint(
    plan: _Plan, date: int, view: _View, layout: _Layout, canopies: dict | None, cover: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Image of one date over ``view`` and, if given the ground ``cover`` to paint on, its land cover:
    ground, rivers, roads, then the parcels' contents."""
    look = plan.looks[date]
    grain = plan.ground.grain.grid(view.ys, view.xs)
    image = _ground_image(plan, look, view, layout, grain)
    canvas = _Canvas(view, date, look, image, cover, grain, canopies)
    _paint_items(plan.indexes[date].query(view.extent()), canvas)
    return image, cover


def _paint_items(items: list, canvas: _Canvas) -> None:
    """Courts, ponds and patches; building shadows (on images); tree clumps; roofs."""
    buildings = [item for item in items if isinstance(item, _Building)]
    for item in items:
        if not isinstance(item, (_Clump, _Building)):
            item.paint(canvas)
    if canvas.image is not None:
        for building in buildings:
            building.paint_shadow(canvas)
    for item in items:
        if isinstance(item, _Clump):
            item.paint(canvas)
    for building in buildings:
        building.paint(canvas)


@dataclass(frozen=True)
class _Layout:
    """Signed distances that decide the ground's classes over a view, the same on both dates: to low
    vegetation, to the nearest river (None if none is near) and to the nearest road."""

    vegetation: np.ndarray
    water: np.ndarray | None
    roads: np.ndarray

    @classmethod
    def of(cls, plan: _Plan, view: _View) -> _Layout:
        extent = view.extent()
        rivers = [river.distance(view.ys, view.xs) for river in plan.rivers if river.reaches(extent)]
        water = None if not rivers else rivers[0] if len(rivers) == 1 else np.minimum.reduce(rivers)
        if water is not None and water.min() >= 1.5:  # near, but not in, this view
            water = None
        return cls(-plan.ground.vegetation.grid(view.ys, view.xs), water, plan.roads.distance(view.ys, view.xs))

    def cover(self) -> np.ndarray:
        """Land cover under the parcels' contents."""
        cover = np.where(self.vegetation <= 0, np.uint8(LOW_VEGETATION), np.uint8(GROUND))
        if self.water is not None:
            cover[self.water <= 0] = WATER
        cover[self.roads <= 0] = GROUND  # roads bridge rivers
        return cover


def _ground_image(plan: _Plan, look: _Look, view: _View, layout: _Layout, grain: np.ndarray) -> np.ndarray:
    """Pavement and bare soil mottled at two scales, grass where vegetated, then rivers and roads."""
    mottle = plan.ground.soil.grid(view.ys, view.xs)
    image = look.pavement + (look.soil - look.pavement) * (np.float32(0.5) + np.float32(0.5) * mottle)
    image *= 1 + np.float32(0.05) * mottle + np.float32(0.1) * grain
    grass = look.grass * (1 + np.float32(0.1) * mottle + np.float32(0.08) * grain)
    _blend(image, grass, _alpha(layout.vegetation, 1 / 30))
    if layout.water is not None:
        _blend(image, look.water * (1 + np.float32(0.05) * mottle), _alpha(layout.water, 1.5))
    if layout.roads.min() < 0.5:  # else no road reaches this tile
        _blend(image, look.asphalt * (1 + np.float32(0.04) * grain), _alpha(layout.roads))
    return image


def _second_cover(plan: _Plan, view: _View, cover1: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Second date's land cover: the first date's, repainted on the ground only where a parcel changed."""
    cover2 = cover1.copy()
    for extent in plan.changed.query(view.extent()):
        part = view.part(extent)
        if part is not None:
            cover2[part] = ground[part]
            window = _sub_view(view, part)
            _paint_items(
                plan.indexes[1].query(window.extent()),
                _Canvas(window, 1, plan.looks[1], None, cover2[part], None, None),
            )
    return cover2


def _mark_rebuilt(plan: _Plan, view: _View, changed: np.ndarray) -> None:
    """Buildings demolished and rebuilt are changes even where the class is the same on both dates."""
    for box in plan.rebuilt.query(view.extent()):
        part = view.part(box.extent(1))
        if part is not None:
            u, v = box.local(view.ys[part[0]], view.xs[part[1]])
            changed[part] |= box.distance(u, v) <= 0


def _finish(plan: _Plan, date: int, view: _View, image: np.ndarray) -> np.ndarray:
    """Light, haze, a brightness gradient across the scene and sensor noise: per date, never labelled."""
    look = plan.looks[date]
    slope_x, slope_y = look.gradient
    across = (np.float32(slope_x / plan.width) * (view.xs - np.float32(plan.width / 2)))[None, :]
    down = (np.float32(slope_y / plan.height) * (view.ys - np.float32(plan.height / 2)))[:, None]
    image *= (1 + across + down) * look.gain
    rng = _rng(plan.seed, 1, date, view.row0 // _TILE, view.col0 // _TILE)
    image += _sensor_noise(rng, (3, *view.shape), look.noise, look.offset)
    return image


def _quantise(image: np.ndarray) -> np.ndarray:
    """A rendered 3×H×W image (consumed) as 3×H×W uint8 grey levels 1-255: 0 is kept free for nodata,
    so that valid pixels never read as nodata. Still band-first: the uint8 copy into H×W×3 arrays is
    where the layout changes, on a third of the bytes."""
    np.clip(image, 1, 255, out=image)
    image += np.float32(0.5)
    return image.astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# Public API: in memory
# --------------------------------------------------------------------------------------------------
def _size(size: Size) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"scene size must be positive, got {size!r}")
    return int(height), int(width)


def make_scene(size: Size = 512, seed: int = 0) -> Scene:
    """Draw one bitemporal scene of ``size`` (an int for a square, or ``(height, width)``).

    The same ``seed`` and ``size`` always give byte-identical arrays. Objects keep their size in pixels
    (about SECOND's 0.5 m), so a scene's content scales with its area: from about 256×256 up every
    class occurs on both dates, while a scene of a few dozen pixels may show one parcel, or only a
    river, and no change at all. About 45 ms for 512×512 on one core (see the module's notes).
    """
    height, width = _size(size)
    plan = _plan(height, width, seed)
    image1 = np.empty((height, width, 3), np.uint8)
    image2 = np.empty((height, width, 3), np.uint8)
    label1, label2, cover1, cover2 = (np.empty((height, width), np.uint8) for _ in range(4))
    for tile in _render(plan):
        where = tile.rows, tile.cols
        image1[where] = _quantise(tile.image1).transpose(1, 2, 0)
        image2[where] = _quantise(tile.image2).transpose(1, 2, 0)
        cover1[where], cover2[where] = tile.cover1, tile.cover2
        label1[where], label2[where] = tile.labels()
    return Scene(image1, image2, label1, label2, cover1, cover2, plan.misregistration)


# --------------------------------------------------------------------------------------------------
# Public API: SECOND's folder layout
# --------------------------------------------------------------------------------------------------
def write_second(root: str | Path, n_pairs: int, size: Size = 512, seed: int = 0) -> list[Path]:
    """Write ``n_pairs`` scenes in SECOND's layout: ``root/{im1,im2,label1,label2}/00000.png`` ...

    Labels are RGB PNGs in SECOND's colours (white is "no change"), as the dataset ships them. Pair
    ``i`` is :func:`make_scene` with seed :func:`pair_seed` ``(seed, i)``. PNGs are written with light
    compression: writing, not generating, would otherwise dominate.

    Returns:
        The ``im1`` path of each pair; the other three folders hold files of the same name.
    """
    root = Path(root)
    folders = {name: root / name for name in ("im1", "im2", "label1", "label2")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(n_pairs - 1)))
    written = []
    for index in range(n_pairs):
        scene = make_scene(size, pair_seed(seed, index))
        name = f"{index:0{digits}d}.png"
        arrays = {
            "im1": scene.image1,
            "im2": scene.image2,
            "label1": index_to_rgb(scene.label1),
            "label2": index_to_rgb(scene.label2),
        }
        for folder, array in arrays.items():
            Image.fromarray(array, mode="RGB").save(folders[folder] / name, compress_level=1)
        written.append(folders["im1"] / name)
    return written


# --------------------------------------------------------------------------------------------------
# Public API: georeferenced pairs
# --------------------------------------------------------------------------------------------------
# rasterio and pyproj are imported by the functions that georeference: scenes and SECOND folders need
# neither, and importing this module stays cheap for training workers.
#: Where scenes are put when no origin is given: Berlin, inside the default CRS (UTM 33N).
_DEFAULT_PLACE = (13.40, 52.52)  # longitude, latitude
_METRES_PER_DEGREE = 111_320.0
#: Grey level 0-255 to reflectance: grey level 255 is reflectance 0.5 (Sentinel-2 scale ×10000 for uint16).
_REFLECTANCE_PER_LEVEL = 0.5 / 255
_NODATA = 0
_BAND_NAMES = {1: ("panchromatic",), 3: ("red", "green", "blue"), 4: ("red", "green", "blue", "nir")}


@dataclass(frozen=True)
class _Footprint:
    """Where a satellite scene has data: a slightly rotated rectangle with ragged edges, inside a nodata
    collar at least one pixel wide all round, as an orthorectified scene's footprint."""

    box: _Box
    edge: _Lattice
    raggedness: float
    height: int
    width: int

    def valid(self, view: _View) -> np.ndarray:
        u, v = self.box.local(view.ys, view.xs)
        valid = self.box.distance(u, v) + np.float32(self.raggedness) * self.edge.grid(view.ys, view.xs) <= 0
        if view.row0 == 0:
            valid[0] = False
        if view.row0 + view.shape[0] == self.height:
            valid[-1] = False
        if view.col0 == 0:
            valid[:, 0] = False
        if view.col0 + view.shape[1] == self.width:
            valid[:, -1] = False
        return valid


def _draw_footprint(rng: np.random.Generator, height: int, width: int, collar: int) -> _Footprint:
    """A footprint whose rotated edges come no closer than ``collar`` px (minus raggedness) to the border."""
    free_x, free_y = max(width / 2 - collar, 1), max(height / 2 - collar, 1)
    # Rotation small enough that the rectangle still fits: tan(angle) below free_y / free_x (and vice versa).
    angle = rng.uniform(0.3, 1) * min(math.radians(8), 0.5 * math.atan(min(free_x, free_y) / max(free_x, free_y)))
    angle *= rng.choice((-1, 1))
    cos, sin = math.cos(angle), abs(math.sin(angle))
    determinant = cos * cos - sin * sin
    half_length = (cos * free_x - sin * free_y) / determinant
    half_width = (cos * free_y - sin * free_x) / determinant
    box = _Box(width / 2, height / 2, max(half_length, 1), max(half_width, 1), math.cos(angle), math.sin(angle))
    raggedness = min(collar / 2, 12)
    return _Footprint(box, _Lattice.draw(rng, height, width, rng.uniform(12, 40)), raggedness, height, width)


def _encode(image: np.ndarray, dtype: str, bands: int) -> np.ndarray:
    """Grey levels (3×H×W float) to the file's bands and dtype, band-first as rasterio writes."""
    image = np.clip(image, 1, 255)
    if bands == 1:
        planes = [image[0] * np.float32(0.299) + image[1] * np.float32(0.587) + image[2] * np.float32(0.114)]
    else:
        planes = list(image)
    if bands == 4:
        # Near infrared as vegetation shows it: bright where green stands above red and blue.
        red, green, blue = planes
        excess_green = np.maximum(green - (red + blue) * np.float32(0.5), 0)
        planes.append(
            np.clip(
                red * np.float32(0.6) + green * np.float32(0.3) + blue * np.float32(0.1) + excess_green * np.float32(3),
                1,
                255,
            )
        )
    stack = np.stack(planes)
    if dtype == "uint8":
        return (stack + np.float32(0.5)).astype(np.uint8)
    if dtype == "uint16":
        return (stack * np.float32(_REFLECTANCE_PER_LEVEL * 10_000) + np.float32(0.5)).astype(np.uint16)
    return stack * np.float32(_REFLECTANCE_PER_LEVEL)


def _default_resolution(crs) -> float:
    """Half a metre, in the CRS's units: SECOND's finest resolution."""
    if crs.is_geographic:
        return 0.5 / _METRES_PER_DEGREE
    if not crs.is_projected:
        raise ValueError(f"CRS {crs} is neither projected nor geographic; give a projected or geographic CRS")
    return 0.5 / crs.linear_units_factor[1]


def _default_origin(crs, resolution: float) -> tuple[float, float]:
    """Upper-left corner: Berlin when the CRS is meant for it, else the middle of the CRS's area of use,
    snapped to the pixel grid as products are."""
    import pyproj
    from rasterio.warp import transform

    longitude, latitude = _DEFAULT_PLACE
    area = pyproj.CRS.from_user_input(crs.to_wkt()).area_of_use
    if area is not None and not (area.west <= longitude <= area.east and area.south <= latitude <= area.north):
        east = area.east if area.east >= area.west else area.east + 360
        longitude = (area.west + east) / 2
        longitude = longitude - 360 if longitude > 180 else longitude
        latitude = (area.south + area.north) / 2
    xs, ys = transform("EPSG:4326", crs, [longitude], [latitude])
    return math.floor(xs[0] / resolution) * resolution, math.floor(ys[0] / resolution) * resolution


def _after_grid(crs, transform, height: int, width: int, after_crs, after_resolution, after_shift):
    """AFTER's CRS, transform and size: covering BEFORE's whole footprint, on its own pixel grid."""
    from rasterio.transform import array_bounds, from_origin
    from rasterio.warp import calculate_default_transform

    if after_crs == crs:
        resolution = after_resolution or transform.a
        after_transform = from_origin(transform.c, transform.f, resolution, resolution)
        after_width = math.ceil(width * transform.a / resolution - 1e-9)
        after_height = math.ceil(height * -transform.e / resolution - 1e-9)
    else:
        left, bottom, right, top = array_bounds(height, width, transform)
        after_transform, after_width, after_height = calculate_default_transform(
            crs, after_crs, width, height, left=left, bottom=bottom, right=right, top=top, resolution=after_resolution
        )
    if after_shift:
        after_transform, after_width, after_height = _shifted(after_transform, after_width, after_height, after_shift)
    return after_transform, after_width, after_height


def _shifted(transform, width: int, height: int, shift: tuple[float, float]):
    """Move a grid's lines by ``shift`` (x east, y north, CRS units), growing it to keep its coverage."""
    from rasterio.transform import from_origin

    dx, dy = shift
    size_x, size_y = transform.a, -transform.e
    extra_x, extra_y = math.ceil(abs(dx) / size_x), math.ceil(abs(dy) / size_y)
    left = transform.c + dx - (extra_x * size_x if dx > 0 else 0)
    top = transform.f + dy + (extra_y * size_y if dy < 0 else 0)
    return from_origin(left, top, size_x, size_y), width + extra_x, height + extra_y


def _image_profile(crs, transform, height: int, width: int, dtype: str, bands: int, nodata: int | None) -> dict:
    return {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": bands,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3 if dtype == "float32" else 2,
        "BIGTIFF": "IF_SAFER",
    }


def _label_profile(crs, transform, height: int, width: int) -> dict:
    return {**_image_profile(crs, transform, height, width, "uint8", 1, IGNORE), "predictor": 1}


def _describe_bands(dataset, bands: int) -> None:
    from rasterio.enums import ColorInterp

    interpretation = {
        "panchromatic": ColorInterp.gray,
        "red": ColorInterp.red,
        "green": ColorInterp.green,
        "blue": ColorInterp.blue,
        "nir": ColorInterp.undefined,
    }
    names = _BAND_NAMES[bands]
    dataset.colorinterp = [interpretation[name] for name in names]
    for number, name in enumerate(names, start=1):
        dataset.set_band_description(number, name)


def write_geo_pair(
    out_dir: str | Path,
    size: Size = 512,
    seed: int = 0,
    crs: str = "EPSG:32633",
    resolution: float | None = None,
    origin: tuple[float, float] | None = None,
    dtype: str = "uint8",
    nodata_collar: int = 0,
    after_crs: str | None = None,
    after_resolution: float | None = None,
    after_shift: tuple[float, float] | None = None,
    bands: int = 3,
    keep_scene: bool = True,
) -> GeoPair:
    """Write a georeferenced pair: ``before.tif``, ``after.tif``, and the truth on BEFORE's grid.

    The scene is :func:`make_scene` ``(size, seed)``, rendered tile by tile into tiled,
    deflate-compressed GeoTIFFs, a row of blocks at a time: writing 8192×8192 takes about 160 MB of
    memory, plus 8 bytes per pixel for the arrays if ``keep_scene``. Truth files:
    ``label1.tif``/``label2.tif`` (class indices as in SECOND, with SECOND's colour table) and
    ``change_type.tif`` (from-to codes of :func:`scd_core.labels.change_code`); 255 marks pixels
    without data on either date, declared as their nodata.

    Args:
        size: an int for a square, or ``(height, width)`` in pixels.
        crs: any CRS rasterio understands; a geographic one (EPSG:4326) works in degrees.
        resolution: pixel size in CRS units; default half a metre (≈4.5e-6° in a geographic CRS).
        origin: upper-left corner in CRS units; default Berlin, or the middle of the CRS's area of use.
        dtype: ``"uint8"`` (grey levels 1-255), ``"uint16"`` (reflectance ×10000, as Sentinel-2 ships,
            up to 5000) or ``"float32"`` (reflectance, up to 0.5). 0 is never a valid value.
        nodata_collar: if > 0, each image gets a ragged nodata border at least about this many pixels
            wide, with nodata 0 declared, like the footprint of a slightly rotated satellite scene.
        after_crs, after_resolution, after_shift: put AFTER on its own grid: another CRS, pixel size
            (AFTER CRS units) and/or grid lines moved by ``(dx, dy)`` (CRS units, x east, y north). The
            same ground is resampled onto it (bilinear) with :func:`rasterio.warp.reproject`; the grid
            covers BEFORE's whole footprint, with nodata 0 declared where it has none.
        bands: 3 (RGB), 4 (RGB and a near-infrared band) or 1 (panchromatic).
        keep_scene: keep the arrays in :attr:`GeoPair.scene` (set False for very large pairs).
    """
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    if dtype not in ("uint8", "uint16", "float32"):
        raise ValueError(f"dtype must be uint8, uint16 or float32, got {dtype!r}")
    if bands not in _BAND_NAMES:
        raise ValueError(f"bands must be 1, 3 or 4, got {bands!r}")
    if nodata_collar < 0:
        raise ValueError(f"nodata_collar must be ≥ 0, got {nodata_collar}")
    for name, value in (("resolution", resolution), ("after_resolution", after_resolution)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    height, width = _size(size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    before_crs = CRS.from_user_input(crs)
    resolution = resolution or _default_resolution(before_crs)
    origin = origin or _default_origin(before_crs, resolution)
    transform = from_origin(origin[0], origin[1], resolution, resolution)
    after_crs = CRS.from_user_input(after_crs) if after_crs else before_crs
    after_grid = _after_grid(before_crs, transform, height, width, after_crs, after_resolution, after_shift)
    regrid = after_crs != before_crs or after_grid != (transform, width, height)

    plan = _plan(height, width, seed)
    footprints = _draw_footprints(seed, height, width, nodata_collar) if nodata_collar else None
    paths = {name: out_dir / f"{name}.tif" for name in ("before", "after", "label1", "label2", "change_type")}
    image_nodata = _NODATA if nodata_collar else None
    arrays = _SceneArrays(height, width, plan.misregistration) if keep_scene else None

    with ExitStack() as stack:
        after_path = paths["after"]
        if regrid:  # AFTER is first written on BEFORE's grid, then reprojected
            staging = stack.enter_context(tempfile.TemporaryDirectory(dir=out_dir, prefix=".after-"))
            after_path = Path(staging) / "after.tif"
        rasters = {**paths, "after": after_path}
        image_profile = _image_profile(before_crs, transform, height, width, dtype, bands, image_nodata)
        after_profile = {**image_profile, "nodata": _NODATA if regrid else image_nodata}
        datasets = _open_rasters(
            stack, rasters, image_profile, after_profile, _label_profile(before_crs, transform, height, width), bands
        )
        blocks = _RowBlocks(datasets, width)
        for tile in _render(plan):
            encoded, scene_part = _geo_tile(tile, footprints, dtype, bands)
            blocks.put(tile.rows, tile.cols, encoded)
            if arrays is not None:
                arrays.put(tile, *scene_part)
            if tile.cols.stop == width and (tile.rows.stop % _BLOCK == 0 or tile.rows.stop == height):
                blocks.flush(tile.rows.stop)
        if regrid:
            datasets[1].close()
            _regrid(after_path, paths["after"], after_crs, after_grid, dtype, bands)
    return GeoPair(**paths, scene=arrays.scene() if arrays is not None else None)


def _open_rasters(
    stack: ExitStack, paths: dict, image_profile: dict, after_profile: dict, label_profile: dict, bands: int
) -> list:
    """Open the five rasters for writing, in the order before, after, label1, label2, change_type."""
    import rasterio

    profiles = {"before": image_profile, "after": after_profile}
    names = ("before", "after", "label1", "label2", "change_type")
    datasets = [
        stack.enter_context(rasterio.open(paths[name], "w", **profiles.get(name, label_profile))) for name in names
    ]
    for dataset in datasets[:2]:
        _describe_bands(dataset, bands)
    for dataset in datasets[2:4]:
        dataset.write_colormap(1, {c.index: (*c.rgb, 255) for c in CLASSES})
    return datasets


def _draw_footprints(seed: int, height: int, width: int, collar: int) -> tuple[_Footprint, _Footprint]:
    """Both dates' footprints, from a stream of their own: collars leave the scene itself unchanged."""
    rng = _rng(seed, 2)
    return _draw_footprint(rng, height, width, collar), _draw_footprint(rng, height, width, collar)


def _geo_tile(tile: _Tile, footprints: tuple[_Footprint, _Footprint] | None, dtype: str, bands: int):
    """A tile as the five rasters hold it (images encoded, nodata and ignore applied), and as the
    scene's arrays hold it (images band-first)."""
    label1, label2 = tile.labels()
    codes = change_code(label1, label2)
    encoded1, encoded2 = _encode(tile.image1, dtype, bands), _encode(tile.image2, dtype, bands)
    image1, image2 = _quantise(tile.image1), _quantise(tile.image2)
    if footprints is not None:
        view = _View.of(tile.rows.start, tile.rows.stop, tile.cols.start, tile.cols.stop)
        valid1, valid2 = footprints[0].valid(view), footprints[1].valid(view)
        for array in (label1, label2, codes):
            array[~(valid1 & valid2)] = IGNORE
        image1[:, ~valid1] = encoded1[:, ~valid1] = _NODATA
        image2[:, ~valid2] = encoded2[:, ~valid2] = _NODATA
    return (encoded1, encoded2, label1, label2, codes), (image1, image2, label1, label2)


#: Rows of the GeoTIFFs' internal tiles, a multiple of :data:`_TILE`; the rasters are written one row
#: of them at a time.
_BLOCK = 256


class _RowBlocks:
    """Rasters filled tile by tile and written a row of GeoTIFF blocks at a time, so that each
    compressed block is written once, whole."""

    def __init__(self, datasets: list, width: int) -> None:
        self.datasets = datasets
        self.buffers = [np.zeros((dataset.count, _BLOCK, width), dataset.dtypes[0]) for dataset in datasets]
        self.row0 = 0

    def put(self, rows: slice, cols: slice, arrays: Sequence[np.ndarray]) -> None:
        local = slice(rows.start - self.row0, rows.stop - self.row0)
        for buffer, array in zip(self.buffers, arrays):
            buffer[:, local, cols] = array.reshape(buffer.shape[0], local.stop - local.start, -1)

    def flush(self, row1: int) -> None:
        from rasterio.windows import Window

        window = Window(0, self.row0, self.buffers[0].shape[2], row1 - self.row0)
        for dataset, buffer in zip(self.datasets, self.buffers):
            dataset.write(buffer[:, : row1 - self.row0], window=window)
        self.row0 = row1


class _SceneArrays:
    """The arrays of a :class:`Scene`, filled tile by tile."""

    def __init__(self, height: int, width: int, misregistration: tuple[float, float]) -> None:
        self.images = [np.empty((height, width, 3), np.uint8) for _ in range(2)]
        self.maps = [np.empty((height, width), np.uint8) for _ in range(4)]
        self.misregistration = misregistration

    def put(self, tile: _Tile, image1: np.ndarray, image2: np.ndarray, label1: np.ndarray, label2: np.ndarray) -> None:
        """Store a tile; ``image1``/``image2`` band-first."""
        for target, image in zip(self.images, (image1, image2)):
            target[tile.rows, tile.cols] = image.transpose(1, 2, 0)
        for target, array in zip(self.maps, (label1, label2, tile.cover1, tile.cover2)):
            target[tile.rows, tile.cols] = array

    def scene(self) -> Scene:
        return Scene(*self.images, *self.maps, self.misregistration)


def _regrid(source: Path, destination: Path, after_crs, after_grid, dtype: str, bands: int) -> None:
    """Resample AFTER onto its own grid, chunk by chunk (GDAL's warper), so memory stays bounded."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    after_transform, after_width, after_height = after_grid
    profile = _image_profile(after_crs, after_transform, after_height, after_width, dtype, bands, _NODATA)
    with rasterio.open(source) as src, rasterio.open(destination, "w", **profile) as dst:
        _describe_bands(dst, bands)
        reproject(
            source=rasterio.band(src, list(src.indexes)),
            destination=rasterio.band(dst, list(dst.indexes)),
            src_nodata=_NODATA,
            dst_nodata=_NODATA,
            resampling=Resampling.bilinear,
            warp_mem_limit=64,
        )
