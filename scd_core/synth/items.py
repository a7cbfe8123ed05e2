"""Things in parcels, and the canvas they paint on: patches of soil or lawn, ponds, courts, tree
clumps and buildings. Each paints its land cover, its pixels, or both, over a view of the scene."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scd_core.labels import CLASSES
from scd_core.synth.fields import Lattice, triangle_wave
from scd_core.synth.geometry import Box, Extent, View
from scd_core.synth.looks import Look
from scd_core.synth.painting import blend, clamp, coverage, rgb

# SECOND class indices, named once from scd_core.labels so that nothing here can disagree with it.
WATER, GROUND, LOW_VEGETATION, TREE, BUILDING, PLAYGROUND = (c.index for c in CLASSES[1:])


@dataclass
class Canvas:
    """What an item paints into: the land cover, the image, or both (first date: one pass for both)."""

    view: View
    date: int
    look: Look
    image: np.ndarray | None
    cover: np.ndarray | None
    grain: np.ndarray | None
    canopies: dict | None  # shaded tree clumps, by (clump, date)

    def pixels(self, part: tuple[slice, slice]) -> np.ndarray:
        """The image (3×h×w) under ``part``, a view to paint into."""
        assert self.image is not None, "painting pixels on a canvas of land cover only"
        return self.image[:, part[0], part[1]]

    def grain_at(self, part: tuple[slice, slice]) -> np.ndarray:
        """The fine mottling of surfaces under ``part``, which image painters shade with."""
        assert self.grain is not None, "shading pixels on a canvas of land cover only"
        return self.grain[part]

    def box_footprint(
        self, box: Box, land_cover: int
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
class Patch:
    """A bare construction site or tilled field (ground), or a mown lawn (low vegetation)."""

    box: Box
    lawn: bool

    def extent(self, shadow_reach: float) -> Extent:
        """The box and the 3 px its edge blends into; a patch casts no shadow."""
        return self.box.extent(3)

    def paint(self, canvas: Canvas) -> None:
        """Its land cover, and tilled soil or a lawn mown in stripes."""
        footprint = canvas.box_footprint(self.box, LOW_VEGETATION if self.lawn else GROUND)
        if footprint is None:
            return
        part, u, v, distance = footprint
        grain = canvas.grain_at(part)
        if self.lawn:
            shade = 1 + np.float32(0.05) * np.sign(triangle_wave(v * np.float32(1 / 9))) + np.float32(0.05) * grain
            colour = canvas.look.lawn
        else:
            shade = 1 + np.float32(0.05) * triangle_wave(u * np.float32(1 / 5)) + np.float32(0.16) * grain
            colour = canvas.look.soil
        blend(canvas.pixels(part), colour * shade, coverage(distance, 2.0))


@dataclass(frozen=True)
class Pond:
    """A pond: an ellipse with a wobbly shore."""

    box: Box  # the ellipse's half-axes and orientation
    shore: Lattice
    wobble: float

    def extent(self, shadow_reach: float) -> Extent:
        """The ellipse and the reach of its wobbly shore; a pond casts no shadow."""
        return self.box.extent(self.wobble + 3)

    def paint(self, canvas: Canvas) -> None:
        """Water inside its wobbly shore, darker where deeper, away from the shore."""
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
            blend(canvas.pixels(part), canvas.look.water * depth, coverage(distance, 1.5))


_WHITE = rgb((232, 232, 226))


@dataclass(frozen=True)
class Court:
    """A sports court or pitch: a surface within a surround, white lines, a centre circle on pitches."""

    box: Box
    surface: tuple[float, float, float]
    surround: tuple[float, float, float]
    margin: float
    circle: float  # radius of the centre circle, 0 for none

    def extent(self, shadow_reach: float) -> Extent:
        """The box and the 3 px its edge blends into; a court casts no shadow."""
        return self.box.extent(3)

    def paint(self, canvas: Canvas) -> None:
        """Its land cover, and the surface inside its surround with white lines and, on pitches, a centre circle."""
        footprint = canvas.box_footprint(self.box, PLAYGROUND)
        if footprint is None:
            return
        part, u, v, distance = footprint
        inner = distance + np.float32(self.margin)
        surround = rgb(self.surround)
        surface = surround + (rgb(self.surface) - surround) * coverage(inner)
        lines = np.maximum(coverage(np.abs(inner) - 0.7), coverage(np.abs(u) - 0.7) * (inner <= 0))
        if self.circle:
            lines = np.maximum(lines, coverage(np.abs(np.sqrt(u * u + v * v) - np.float32(self.circle)) - 0.7))
        blend(surface, _WHITE, lines)
        surface *= 1 + np.float32(0.03) * canvas.grain_at(part)
        blend(canvas.pixels(part), surface, coverage(distance))


@dataclass(frozen=True)
class Clump:
    """Trees: overlapping crowns, each a paraboloid dome; the canopy is their upper envelope."""

    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    height: float  # of the trees, for their shadows

    def crowns_extent(self) -> Extent:
        """The crowns' bounding extent, without their shadows."""
        return (
            float((self.cy - self.radius).min()) - 1,
            float((self.cy + self.radius).max()) + 1,
            float((self.cx - self.radius).min()) - 1,
            float((self.cx + self.radius).max()) + 1,
        )

    def extent(self, shadow_reach: float) -> Extent:
        """The crowns and, the trees being ``height`` tall, as far as their shadows may fall."""
        top, bottom, left, right = self.crowns_extent()
        reach = self.height * shadow_reach + 2
        return top - reach, bottom + reach, left - reach, right + reach

    def canopy(self, view: View) -> np.ndarray:
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
            zip(rows0.tolist(), rows1.tolist(), cols0.tolist(), cols1.tolist(), strict=True)
        ):
            if row0 < row1 and col0 < col1:
                window = canopy[row0:row1, col0:col1]
                np.maximum(window, rise[crown, : row1 - row0, None] - fall[crown, None, : col1 - col0], out=window)
        return canopy

    def paint(self, canvas: Canvas) -> None:
        """Tree cover under the canopy; on images the shaded crowns and their shadow, drawn on the clump's own view."""
        if canvas.image is None:
            assert canvas.cover is not None, "a canvas holds an image, a land cover or both"
            part = canvas.view.part(self.crowns_extent())
            if part is not None:
                canvas.cover[part][self.canopy(canvas.view.sub(part)) >= 0] = TREE
            return
        crowns, canopy, alpha, shade = self._shaded(canvas)
        self._paint_shadow(canvas, crowns, alpha)
        shared = canvas.view.overlap(crowns)
        if shared is None:
            return
        mine, theirs = shared
        if canvas.cover is not None:
            canvas.cover[mine][canopy[theirs] >= 0] = TREE
        shade = shade[theirs] * (1 + np.float32(0.14) * canvas.grain_at(mine))
        blend(canvas.pixels(mine), canvas.look.canopy * shade, alpha[theirs])

    def _shaded(self, canvas: Canvas) -> tuple[View, np.ndarray, np.ndarray, np.ndarray]:
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
        lit = clamp(slope_x * np.float32(-sun_x) - slope_y * np.float32(sun_y), -1, 1)
        shade = (1 + np.float32(0.35) * lit) * (
            np.float32(0.75) + np.float32(0.25) * clamp(canopy * np.float32(0.3), 0, 1)
        )
        shaded = crowns, canopy, coverage(-canopy), shade
        if canvas.canopies is not None:
            canvas.canopies[key] = shaded
        return shaded

    def _paint_shadow(self, canvas: Canvas, crowns: View, alpha: np.ndarray) -> None:
        dx, dy = canvas.look.shadow(self.height)
        cast = View(crowns.row0 + round(dy), crowns.col0 + round(dx), crowns.ys, crowns.xs, crowns.shift)
        shared = canvas.view.overlap(cast)
        if shared is not None:
            mine, theirs = shared
            canvas.pixels(mine)[...] *= 1 - alpha[theirs] * canvas.look.shadow_tint


@dataclass(frozen=True)
class Building:
    """A building: a roof (flat with a parapet, gabled, or ribbed metal) casting a shadow."""

    box: Box
    height: float  # pixels
    roof: tuple[float, float, float]
    style: str  # "flat", "gabled" or "ribbed"

    def extent(self, shadow_reach: float) -> Extent:
        """The roof and, the building being ``height`` tall, as far as its shadow may fall."""
        return self.box.extent(self.height * shadow_reach + 3)

    def paint_shadow(self, canvas: Canvas) -> None:
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
        canvas.pixels(part)[...] *= 1 - coverage(distance) * canvas.look.shadow_tint

    def paint(self, canvas: Canvas) -> None:
        """Its land cover and roof; the shadow is :meth:`paint_shadow`'s, painted before any roof."""
        footprint = canvas.box_footprint(self.box, BUILDING)
        if footprint is None:
            return
        part, u, v, distance = footprint
        if self.style == "gabled":
            sun_x, sun_y = canvas.look.sun
            facing = sun_y * self.box.cos - sun_x * self.box.sin  # sun along the roof's v axis
            shade = 1 + np.float32(0.22 * facing) * clamp(v * np.float32(1.5), -1, 1)
        else:
            shade = 1 - np.float32(0.18) * clamp(distance + np.float32(2.5), 0, 1)  # parapet
            if self.style == "ribbed":
                shade *= 1 + np.float32(0.06) * triangle_wave(u * np.float32(1 / 3))
        shade *= 1 + np.float32(0.04) * canvas.grain_at(part)
        blend(canvas.pixels(part), rgb(self.roof) * shade, coverage(distance))


#: What a parcel may hold.
Item = Patch | Pond | Court | Clump | Building
