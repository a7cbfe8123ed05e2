"""The rule that nothing appears half-written: a run's outputs reach OUT_DIR together, or not at all.

A run first checks that OUT_DIR can be written and would lose nothing (:func:`check_output_dir`),
then works in a hidden sibling folder of OUT_DIR on the same filesystem (:class:`StagingFolder`) and
moves its finished files into OUT_DIR only at the end, each with an atomic rename, while SIGINT and
SIGTERM wait (:func:`signals_deferred`). A failed or cancelled run removes that folder and leaves
OUT_DIR exactly as it was. Nothing already there is replaced without ``overwrite``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scd_core.errors import InvalidOptionError, OutputExistsError, UnwritableOutputError

#: Staging folders are named ``.<OUT_DIR's name><STAGING_MARK><random>`` beside OUT_DIR.
STAGING_MARK = ".scd-"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(out_dir: str | Path, overwrite: bool) -> Path:
    """Refuse, before any work, an output folder that cannot be written or would lose files."""
    if not str(out_dir).strip():
        raise InvalidOptionError("-o/--out-dir is empty; name the output folder")
    out_dir = Path(out_dir).absolute()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UnwritableOutputError("output path exists and is not a folder", out_dir)
        if any(out_dir.iterdir()) and not overwrite:
            raise OutputExistsError("output folder is not empty; pass --overwrite or choose another folder", out_dir)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise UnwritableOutputError("output folder is not writable", out_dir)
        return out_dir
    ancestor = _nearest_existing(out_dir.parent)
    if not ancestor.is_dir():
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not a folder", out_dir)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not writable", out_dir)
    return out_dir


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

    Used as a context manager: leaving it without a commit (an error, a cancel) deletes the folder.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path: Path | None = None

    def __enter__(self) -> StagingFolder:
        parent = _nearest_existing(self.out_dir.parent)
        path = parent / f".{self.out_dir.name}{STAGING_MARK}{secrets.token_hex(4)}"
        try:
            # os.mkdir with mode 0o777 lets the umask decide, as for any folder the user makes
            # (tempfile.mkdtemp's would be private to the user, and it becomes OUT_DIR itself)
            path.mkdir(mode=0o777)
            self.path = path
        except OSError as error:
            raise UnwritableOutputError(
                f"cannot write next to the output folder ({error.strerror})", self.out_dir
            ) from None
        return self

    def __truediv__(self, name: str) -> Path:
        if self.path is None:
            raise RuntimeError("the staging folder is only open inside its `with` block")
        return self.path / name

    def commit(self, names: Sequence[str]) -> dict[str, Path]:
        """Move the files ``names`` into OUT_DIR (each rename atomic) and drop the staging folder."""
        if self.path is None:
            raise RuntimeError("the staging folder is only open inside its `with` block")
        with signals_deferred():
            for leftover in set(os.listdir(self.path)) - set(names):
                (self.path / leftover).unlink()
            if not self.out_dir.exists():
                self.out_dir.parent.mkdir(parents=True, exist_ok=True)
                os.rename(self.path, self.out_dir)
            else:
                for name in names:
                    os.replace(self.path / name, self.out_dir / name)
                os.rmdir(self.path)
            self.path = None
        return {name: self.out_dir / name for name in names}

    def __exit__(self, *exc_info: Any) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
