"""Many pairs: ``scd batch`` in one process, and the pieces a Dask cluster runs (:mod:`scd_core.cluster`).

PAIRS.csv has a header with the columns ``id``, ``before``, ``after`` and optionally ``aoi``; relative
paths are relative to the CSV's folder (:mod:`.pairs`). Each pair's outputs go to ``OUT_ROOT/<id>``
(:mod:`.runs`):

* A pair whose folder holds the ``run.json`` of the same request (the fingerprints of its before,
  after, AOI and model files, and the same options) is skipped, so a re-run after an interruption or
  a failure does only what is left, and a re-run with other options (``--overwrite``) recomputes.
* Hidden staging folders (``.<id>.scd-*``) that a killed run left in OUT_ROOT are removed first.
* A pair that fails is reported and the others go on; its folder is left as it was.
* The run ends with a report table (and ``OUT_ROOT/batch_report.csv``).
"""
