"""The user mistakes a detection run can meet, one type each; all are :class:`ScdInputError` (exit 2).

Every error names the file at fault and says what to do. They are raised while inputs are checked,
before anything is written.
"""

from __future__ import annotations

from scd_core.errors import ScdInputError


class UnreadableRasterError(ScdInputError):
    """A raster is missing, corrupt or not in a format GDAL reads."""


class MissingCrsError(ScdInputError):
    """A raster or AOI has no coordinate reference system, so it cannot be placed on the ground."""


class UnsupportedGridError(ScdInputError):
    """BEFORE's grid is rotated or sheared; the output grid must be north-up."""


class NoOverlapError(ScdInputError):
    """The two dates, or the dates and the AOI, share no ground."""


class BandMismatchError(ScdInputError):
    """The bands of a raster do not fit the model (count, ``--bands`` indices)."""


class InvalidAoiError(ScdInputError):
    """The AOI is unreadable, empty, not polygonal, or ``--bbox`` is malformed."""


class OutputExistsError(ScdInputError):
    """The output folder exists and is not empty, and ``--overwrite`` was not given."""


class UnwritableOutputError(ScdInputError):
    """The output folder cannot be created or written."""


class InvalidOptionError(ScdInputError):
    """An option's value does not make sense (tile size, overlap, scaling, threshold...)."""
