"""``scd series``: change detection over a series of dates, and when each pixel changed.

Analysts rarely have exactly two images: a series of rasters (yearly mosaics, the clear scenes of a
season) asks "when did it change" and "what changed in each period". A series is run as pairs:

* **Dates** (:mod:`.dates`): from ``--dates``, else each file's metadata (acquisition tags,
  Sentinel-2 and Landsat names), else the order given (dates 1, 2, 3…); the rasters are ordered by
  date, and two of one date are refused.
* **Periods** (:mod:`.periods`): ``--pairs consecutive`` (default) pairs each date with the next,
  ``--pairs first`` the first date with each later one. Each is an ``scd detect`` run into
  ``OUT_DIR/<start>_<end>/``, with its outputs as that command writes them, run by ``scd batch``'s
  machinery (:mod:`scd_core.batch`, :mod:`scd_core.cluster`): the model is loaded once per process,
  or each pair is a Dask task, and a pair done before with the same request is skipped. Every pair
  runs on the first date's grid (``DetectOptions.grid``): a later date on other pixels is resampled
  onto it before the model reads it, so the pairs' maps line up pixel for pixel.
* **Products** (:mod:`.products`, :mod:`.tables`, :mod:`.report`), made again from the pairs'
  outputs on every run (:mod:`.run`): ``change_count.tif``, ``first_change.tif`` and
  ``last_change.tif`` on the first raster's grid, ``series.csv``, ``periods.csv``, ``series.gpkg``
  and ``report.html``. They need every pair: a failed pair leaves them as they were.
"""
