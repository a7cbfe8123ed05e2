"""The rule that nothing appears half-written: a run's outputs reach OUT_DIR together, or not at all.

A run first checks that OUT_DIR can be written and would lose nothing (:func:`check_output_dir`),
then works in a hidden sibling folder of OUT_DIR on the same filesystem (:class:`StagingFolder`) and
moves its finished files into OUT_DIR only at the end, each with an atomic rename, while SIGINT and
SIGTERM wait (:func:`signals_deferred`). A failed or cancelled run removes that folder and leaves
OUT_DIR exactly as it was. Nothing already there is replaced without ``overwrite``, an input never:
a folder that holds one is refused. OUT_DIR's listing is recorded at the check, and the commit
refuses, unless ``overwrite``, when OUT_DIR appeared or changed since (another run wrote it).

A staging folder is locked (``flock``) by the run that made it, so a killed run's folder is the one
nobody holds: :func:`sweep_staging` removes those, and the next run into OUT_DIR calls it.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scd_core.atomic import ran_out_of_space
from scd_core.errors import (
    InvalidOptionError,
    NoSpaceError,
    OutputExistsError,
    UnwritableOutputError,
)

#: Staging folders are named ``.<OUT_DIR's name><STAGING_MARK><random>`` beside OUT_DIR.
STAGING_MARK = ".scd-"
#: OUT_DIR's listing: each entry's name → (inode, size, mtime in ns); None when OUT_DIR is absent.
Listing = dict[str, tuple[int, int, int]] | None


@dataclass(frozen=True)
class OutputDir:
    """An output folder that passed :func:`check_output_dir`, and its listing then."""

    path: Path
    overwrite: bool
    listing: Listing

    def existing(self, names: Iterable[str]) -> list[str]:
        """Which of ``names`` OUT_DIR held at the check (the files ``overwrite`` replaces)."""
        return [name for name in names if self.listing and name in self.listing]


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _listing(out_dir: Path) -> Listing:
    try:
        entries = list(os.scandir(out_dir))
    except FileNotFoundError:
        return None
    listing = {}
    for entry in entries:
        status = entry.stat(follow_symlinks=False)
        listing[entry.name] = (status.st_ino, status.st_size, status.st_mtime_ns)
    return listing


def check_output_dir(out_dir: str | Path, overwrite: bool, inputs: Iterable[Any] = ()) -> OutputDir:
    """Refuse, before any work, an output folder that cannot be written or would lose files.

    ``inputs`` are the run's files (others, such as a model given as an object, are skipped): a
    folder holding one is refused even with ``overwrite``, which would replace a same-named input.
    """
    if not str(out_dir).strip():
        raise InvalidOptionError("-o/--out-dir is empty; name the output folder")
    out_dir = Path(out_dir).absolute()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UnwritableOutputError("output path exists and is not a folder", out_dir)
        for source in inputs:
            if isinstance(source, str | Path) and Path(source).is_file() and _holds(out_dir, Path(source)):
                raise OutputExistsError(
                    f"output folder holds the input {Path(source).name}; choose another folder "
                    "(--overwrite never writes beside the inputs)",
                    out_dir,
                )
        if any(out_dir.iterdir()) and not overwrite:
            raise OutputExistsError("output folder is not empty; pass --overwrite or choose another folder", out_dir)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise UnwritableOutputError("output folder is not writable", out_dir)
        return OutputDir(out_dir, overwrite, _listing(out_dir))
    ancestor = _nearest_existing(out_dir.parent)
    if not ancestor.is_dir():
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not a folder", out_dir)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not writable", out_dir)
    return OutputDir(out_dir, overwrite, None)


def _holds(folder: Path, file: Path) -> bool:
    return os.path.samefile(folder, file.resolve().parent)


def _lock(folder: Path, blocking: bool) -> int | None:
    """A descriptor of ``folder`` holding its exclusive lock; None when another process holds it.

    Raises OSError when the folder is gone, or its file system has no ``flock``.
    """
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError as error:
        os.close(descriptor)
        if isinstance(error, BlockingIOError):
            return None
        raise
    return descriptor


def sweep_staging(out_dir: Path) -> list[Path]:
    """Remove the staging folders beside ``out_dir`` that no running run holds (a killed run's)."""
    swept = []
    for leftover in _nearest_existing(out_dir.parent).glob(f".{glob.escape(out_dir.name)}{STAGING_MARK}*"):
        try:
            descriptor = _lock(leftover, blocking=False)
        except OSError:  # gone meanwhile, not a folder, or no telling whether its run is alive
            continue
        if descriptor is not None:
            try:
                shutil.rmtree(leftover, ignore_errors=True)
            finally:
                os.close(descriptor)
            swept.append(leftover)
    return swept


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM during a short critical section (the final moves), then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        s: signal.signal(s, lambda number, frame: received.append(number)) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])


class StagingFolder:
    """A hidden sibling of OUT_DIR where a run writes; :meth:`commit` moves its files into OUT_DIR.

    Used as a context manager: entering it sweeps the staging folders killed runs left beside
    OUT_DIR; leaving it without a commit (an error, a cancel) deletes the folder, and a write that
    failed for want of space raises :class:`~scd_core.errors.NoSpaceError` naming OUT_DIR.
    """

    def __init__(self, target: OutputDir) -> None:
        self.target = target
        self.out_dir = target.path
        self.path: Path | None = None
        self._lock: int | None = None

    def __enter__(self) -> StagingFolder:
        sweep_staging(self.out_dir)
        parent = _nearest_existing(self.out_dir.parent)
        try:
            while self.path is None:
                path = parent / f".{self.out_dir.name}{STAGING_MARK}{secrets.token_hex(4)}"
                # os.mkdir with mode 0o777 lets the umask decide, as for any folder the user makes
                # (tempfile.mkdtemp's would be private to the user, and it becomes OUT_DIR itself)
                path.mkdir(mode=0o777)
                self.path = self._locked(path)
        except OSError as error:
            raise UnwritableOutputError(
                f"cannot write next to the output folder ({error.strerror})", self.out_dir
            ) from None
        return self

    def _locked(self, path: Path) -> Path | None:
        """``path`` locked by this run; None when another run's sweep took it before the lock."""
        try:
            self._lock = _lock(path, blocking=True)
        except FileNotFoundError:
            return None
        except OSError:  # no flock on this file system: the folder stays unlocked, so unswept
            return path
        assert self._lock is not None
        if path.exists() and os.path.samestat(os.fstat(self._lock), path.stat()):
            return path
        os.close(self._lock)
        self._lock = None
        return None

    def __truediv__(self, name: str) -> Path:
        if self.path is None:
            raise RuntimeError("the staging folder is only open inside its `with` block")
        return self.path / name

    def commit(self, names: Sequence[str], stale: Sequence[str] = ()) -> dict[str, Path]:
        """Move the files ``names`` into OUT_DIR (each rename atomic) and drop the staging folder.
        Files ``stale`` in OUT_DIR (outputs of another kind of run, which this one does not write: a
        change-only model's run over a semantic one's class maps) are removed, so OUT_DIR holds one
        run's outputs."""
        if self.path is None:
            raise RuntimeError("the staging folder is only open inside its `with` block")
        with signals_deferred():
            for leftover in set(os.listdir(self.path)) - set(names):
                (self.path / leftover).unlink()
            changed = OutputExistsError(
                "output folder appeared or changed while this run worked (another run?); "
                "pass --overwrite to replace its files",
                self.out_dir,
            )
            if not self.target.overwrite and _listing(self.out_dir) != self.target.listing:
                raise changed
            if not self.out_dir.exists():
                self.out_dir.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(self.path, self.out_dir)
                except OSError as error:  # made by another run since the line above
                    if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
                    raise changed from None
            else:
                for name in names:
                    os.replace(self.path / name, self.out_dir / name)
                for name in stale:
                    (self.out_dir / name).unlink(missing_ok=True)
                os.rmdir(self.path)
            self.path = None
        return {name: self.out_dir / name for name in names}

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        try:
            if self.path is not None:
                full = error is not None and ran_out_of_space(self.path, error)
                shutil.rmtree(self.path, ignore_errors=True)
                self.path = None
                if full:
                    raise NoSpaceError(self.out_dir) from error
        finally:
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None
