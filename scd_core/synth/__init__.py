"""Synthetic SECOND-style bitemporal scenes: the test and benchmark data of the whole project.

SECOND itself cannot ship with the project, yet the metrics, the detection engine, training and the
QGIS plugin all need image pairs whose truth is known. This package makes them from a seed:

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

**Where each step lives**, in the order a scene is made:

1. :mod:`~scd_core.synth.randomness`: the random streams, one per purpose, all derived from the seed.
2. :mod:`~scd_core.synth.plan` draws the plan, in this order, from

   * :mod:`~scd_core.synth.looks`: each date's season, light and sensor (the pseudo-changes);
   * :mod:`~scd_core.synth.ground`: vegetation and soil, roads and rivers, made of the smooth random
     fields of :mod:`~scd_core.synth.fields`;
   * :mod:`~scd_core.synth.parcels`: the street grid's parcels and their first-date uses, filled by
     :mod:`~scd_core.synth.builders` with the items of :mod:`~scd_core.synth.items`;
   * :mod:`~scd_core.synth.changes`: which parcels change for the second date, and into what.

3. :mod:`~scd_core.synth.render` renders it tile by tile, through the views and boxes of
   :mod:`~scd_core.synth.geometry` and the coverage and blending of :mod:`~scd_core.synth.painting`.
4. The tiles are gathered in memory by :mod:`~scd_core.synth.scene` (:class:`Scene`,
   :func:`make_scene`), written as PNGs by :mod:`~scd_core.synth.second` (:func:`write_second`) or
   as GeoTIFFs by :mod:`~scd_core.synth.geo` (:class:`GeoPair`, :func:`write_geo_pair`), with the
   nodata collars of :mod:`~scd_core.synth.footprints` and the bands, grids and resampling of
   :mod:`~scd_core.synth.rasters`; both writers leave the user's files alone unless asked
   (:mod:`~scd_core.synth.files`).

What this package exports is the public API. Inside the package, names without a leading underscore
are shared between its modules; names with one are used only in their own module.

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

from scd_core.synth.geo import GeoPair, write_geo_pair
from scd_core.synth.randomness import pair_seed
from scd_core.synth.scene import Scene, make_scene
from scd_core.synth.second import write_second

__all__ = ["GeoPair", "Scene", "make_scene", "pair_seed", "write_geo_pair", "write_second"]
