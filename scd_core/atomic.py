"""Writing a file so that readers see the old one or the new one, never half of it.

Every file scd writes outside a run's staging folder (checkpoints, batch reports, training logs)
goes through :func:`atomic_write`: the bytes go to a temporary file in the destination's folder (so
the final rename stays on one filesystem), are flushed to disk, and replace the destination with one
``os.replace``. A failure or an interrupt removes the temporary file and leaves the destination as
it was; a full file system raises :class:`~scd_core.errors.NoSpaceError` naming the destination
(:func:`ran_out_of_space` tells, as the writers' own errors do not always say so).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from scd_core.errors import NoSpaceError, ScdInputError

#: A write that failed with less free space than this on its file system failed for want of space
#: (GDAL's, SQLite's and torch's errors do not always carry ENOSPC, and a partly written file still
#: fills the disk when they raise).
FULL_BYTES = 1024 * 1024


def ran_out_of_space(folder: Path, error: BaseException) -> bool:
    """Whether ``error``, raised while writing into ``folder``, came from a full file system: an
    ENOSPC in its chain of causes, or, for an error that is no cancel and no user mistake, less than
    :data:`FULL_BYTES` left."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return True
        cause = cause.__cause__ or cause.__context__
    if not isinstance(error, Exception) or isinstance(error, ScdInputError):
        return False
    status = os.statvfs(folder)
    return status.f_bavail * status.f_frsize < FULL_BYTES


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", **open_options: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    Args:
        path: the destination; its folder must exist.
        mode: ``"w"`` (text) or ``"wb"`` (bytes).
        **open_options: passed to :func:`open` (e.g. ``encoding``, ``newline``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', got {mode!r}")
    path = Path(path)
    if mode == "w":
        open_options.setdefault("encoding", "utf-8")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any file the user writes
    # (tempfile.mkstemp would make it private to the user).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, mode, **open_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if not isinstance(error, NoSpaceError) and ran_out_of_space(path.parent, error):
            raise NoSpaceError(path) from error
        raise


@contextmanager
def atomic_output_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, for writers that choose a format by it: GDAL's,
    OGR's) to write a whole file at; on success it replaces ``path``, on failure it is removed."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.tmp{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if not isinstance(error, NoSpaceError) and ran_out_of_space(path.parent, error):
            raise NoSpaceError(path) from error
        raise
