"""Every user mistake scd can meet, one type each, in one module (as rasterio keeps its errors).

Each error is a mistake the user can fix: it names the file or option at fault and says what is
wrong. The command line maps every :class:`ScdInputError` to exit code 2 and prints only its
message; anything else is a bug and keeps its traceback. They are raised while inputs are checked,
before anything is written.
"""

from __future__ import annotations

import errno
from pathlib import Path


class ScdInputError(Exception):
    """Bad input given by the user (a file, a folder, an option)."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


# ---------------------------------------------------------------- labels and label folders


class UnknownColourError(ScdInputError):
    """A label image holds a colour (or index) that is not a class of the label set."""


class LabelMismatchError(ScdInputError):
    """Prediction and ground-truth folders do not pair up (missing/extra files, sizes)."""


class InconsistentChangeError(ValueError):
    """A pixel is "no change" on one date and a class on the other, so it has no from-to type.

    A ``ValueError`` rather than a user error: the metrics that raise it do not know which file the
    pixels came from; the evaluator re-raises it as :class:`ScdInputError` naming the file.
    """

    def __init__(self, side: str, pixels: int) -> None:
        self.side = side  # "prediction" or "ground truth"
        super().__init__(
            f"{side}: {pixels} pixels are 'no change' on one date but a class on the other; "
            "a changed pixel needs a class on both dates"
        )


# ---------------------------------------------------------------- checkpoints


class CheckpointError(ScdInputError):
    """A checkpoint is missing, corrupt, or its metadata does not describe its model."""


# ---------------------------------------------------------------- detection inputs


class UnreadableRasterError(ScdInputError):
    """A raster is missing, corrupt or not in a format GDAL reads."""


class MissingCrsError(ScdInputError):
    """A raster or AOI has no coordinate reference system, so it cannot be placed on the ground."""


class UnsupportedGridError(ScdInputError):
    """BEFORE's grid is rotated or sheared; the output grid must be north-up."""


class NoOverlapError(ScdInputError):
    """The two dates, or the dates and the AOI, share no ground."""


class NoDataError(ScdInputError):
    """A raster, or both together, hold no valid pixel where the run looks (all nodata, masked, NaN)."""


class BandMismatchError(ScdInputError):
    """The bands of a raster do not fit the model (count, ``--bands`` indices)."""


class InvalidAoiError(ScdInputError):
    """The AOI is unreadable, empty, not polygonal, or ``--bbox`` is malformed."""


class InvalidOptionError(ScdInputError):
    """An option's value does not make sense (tile size, overlap, scaling, threshold...)."""


class PairsFileError(ScdInputError):
    """PAIRS.csv of ``scd batch`` is missing, unreadable, or its columns or ids are wrong."""


# ---------------------------------------------------------------- outputs


class OutputExistsError(ScdInputError):
    """The output exists and would lose files: a folder not empty (or written by another run since the
    check) without ``--overwrite``, a folder holding an input, or an output that is the input."""


class UnwritableOutputError(ScdInputError):
    """The output folder cannot be created or written."""


# ---------------------------------------------------------------- the machine


class NoSpaceError(OSError):
    """A write failed because its file system is full: not the user's input (exit 1), but one line,
    since the fix is the user's (free space, or write elsewhere) and a traceback would hide it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(errno.ENOSPC, "no space left on device", self.path)

    def __str__(self) -> str:
        return f"no space left on device while writing {self.path}"
