"""User-facing errors.

Each error is a mistake the user can fix: it names the file and says what is wrong. The command line
maps every :class:`ScdInputError` to exit code 2 and prints only its message; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class ScdInputError(Exception):
    """Bad input given by the user (a file, a folder, an option)."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UnknownColourError(ScdInputError):
    """A label image holds a colour (or index) that is not a SECOND class."""


class LabelMismatchError(ScdInputError):
    """Prediction and ground-truth folders do not pair up (missing/extra files, sizes)."""
