"""The files a writer of this package is about to write: a pair or a folder the user already has (a
truth someone scored against, say) is not replaced unless asked."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scd_core.errors import OutputExistsError, UnwritableOutputError


def check_targets(folder: Path, files: Iterable[Path], overwrite: bool) -> None:
    """Refuse, before anything is written, a ``folder`` that is a file, and, unless ``overwrite``,
    ``files`` of which one exists (the first is named)."""
    if folder.exists() and not folder.is_dir():
        raise UnwritableOutputError("exists and is not a folder", folder)
    if overwrite:
        return
    for path in files:
        if path.exists():
            raise OutputExistsError("exists; pass --overwrite to replace it, or choose another folder", path)
