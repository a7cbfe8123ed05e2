"""The run folder: what a training run leaves behind, written atomically at every epoch end.

``config.yaml``
    the resolved config (every setting, defaults included), so the run can be repeated;
``log.txt``
    the run's messages, one line each;
``metrics.jsonl``
    one JSON object per epoch: epoch, step, loss, lr, images/s, seconds, and the validation scores in
    both conventions (``val``: ``{"per_date": {...}, "from_to": {...}}``);
``last.pt``
    the full training state (:mod:`scd_core.trainer.state`): what ``--resume`` continues from;
``model.pt``
    the deploy checkpoint (:mod:`scd_core.checkpoint`) that ``scd detect`` and the plugin run. By
    default (``keep: last``) it holds the **last** epoch's weights and their validation scores, not the
    best epoch's: SECOND has no validation split apart from its test split, and keeping the epoch that
    scores best on the test split would tune on the test set. The ASN paper reports its models after
    their 50 (ATL: 20) epochs. ``keep: best`` keeps the epoch of the best validation score so far
    (:func:`keep_score`: the per-date SeK, the headline of CdSC's table; F1 of change for a change-only
    run), as CdSC's release does, whose paper is silent on it; on SECOND that selects on the test split,
    as the release did, and ``second_cdsc.yaml`` says so.

Files are written in that order, ``last.pt`` last, each through :func:`scd_core.atomic.atomic_write`:
a run killed at any moment leaves every file whole, and ``last.pt`` never runs ahead of the others.
Only the main process writes (:mod:`scd_core.trainer.distributed`).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml

from scd_core.atomic import atomic_write
from scd_core.errors import InvalidOptionError, OutputExistsError

FILES = ("config.yaml", "log.txt", "metrics.jsonl", "last.pt", "model.pt")


class RunFolder:
    """One run's folder; ``main`` is False in the processes that only train."""

    def __init__(self, path: str | Path, main: bool = True, echo: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.main = main
        self.echo = echo or (lambda text: print(text, file=sys.stderr, flush=True))
        self.lines: list[str] = []
        self.records: list[dict[str, Any]] = []

    @property
    def last(self) -> Path:
        """The full training state's file."""
        return self.path / "last.pt"

    @property
    def model(self) -> Path:
        """The deploy checkpoint's file."""
        return self.path / "model.pt"

    def open(self, config: dict[str, Any], resume: bool) -> dict[str, Any] | None:
        """Start or continue the run; returns the state of ``last.pt`` when resuming from one.

        A folder that already holds a run (or a config written by ``reproduce --plan``) is only continued
        with ``resume`` and the same config; it is never overwritten.
        """
        if not self.main:  # rank 0 checks and writes; the others only read where it continues from
            return (
                torch.load(self.last, map_location="cpu", weights_only=True) if resume and self.last.is_file() else None
            )
        state = None
        if any((self.path / name).exists() for name in FILES):
            if not resume:
                raise OutputExistsError(
                    "holds a run already: --resume continues it, or choose another --out", self.path
                )
            stored_path = self.path / "config.yaml"
            stored = yaml.safe_load(stored_path.read_text(encoding="utf-8")) if stored_path.is_file() else config
            if stored != config:
                changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
                raise InvalidOptionError(f"{self.path}: --resume with another config (differs in {changed})")
            if self.last.is_file():
                state = torch.load(self.last, map_location="cpu", weights_only=True)
                self._reload(int(state["epoch"]))
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path / "config.yaml") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        return state

    def _reload(self, epoch: int) -> None:
        """The log and metrics of the epochs ``last.pt`` holds (a later epoch's lines died with the run)."""
        metrics = self.path / "metrics.jsonl"
        if metrics.is_file():
            records = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]
            self.records = [r for r in records if r["epoch"] <= epoch]
        log = self.path / "log.txt"
        if log.is_file():
            self.lines = log.read_text(encoding="utf-8").splitlines()
        self.log(f"resumed after epoch {epoch}")

    def log(self, text: str, echo: bool = True) -> None:
        """A message for log.txt (written at the epoch's end) and, with ``echo``, for the terminal (main
        process)."""
        if self.main:
            self.lines.append(text)
            if echo:
                self.echo(text)

    def write_log(self) -> None:
        """log.txt as the run has told it so far."""
        with atomic_write(self.path / "log.txt") as handle:
            handle.writelines(line + "\n" for line in self.lines)

    def end_epoch(
        self, record: dict[str, Any], write_model: Callable[[Path], Any], state: dict[str, Any], keep: str = "last"
    ) -> None:
        """Write the epoch: metrics.jsonl, log.txt, model.pt (``write_model(path)``; with ``keep`` "best"
        only when the epoch scores best so far), then last.pt."""
        if not self.main:
            return
        earlier = [keep_score(r) for r in self.records]
        self.records.append(record)
        best = keep != "best" or not self.model.is_file() or keep_score(record) > max(earlier, default=-math.inf)
        if keep == "best" and best:
            self.log(f"model.pt: epoch {record['epoch']}, the best validation score so far ({keep_score(record):.2f})")
        with atomic_write(self.path / "metrics.jsonl") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in self.records)
        self.write_log()
        if best:
            write_model(self.model)
        with atomic_write(self.last, "wb") as handle:
            torch.save(state, handle)


def keep_score(record: dict[str, Any]) -> float:
    """An epoch's score for ``keep: best``: its validation per-date SeK, or F1 of change for a change-only
    run; an epoch without validation scores −∞ (the first such epoch is kept, as a start)."""
    scores = record.get("val") or {}
    if "per_date" in scores:
        return float(scores["per_date"]["SeK"])
    return float(scores["change"]["F1"]) if "change" in scores else -math.inf


def finished(path: str | Path) -> bool:
    """Whether the run folder at ``path`` holds a run trained to its last epoch."""
    path = Path(path)
    if not (path / "last.pt").is_file() or not (path / "model.pt").is_file():
        return False
    epochs = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))["epochs"]
    metrics = (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return bool(metrics) and json.loads(metrics[-1])["epoch"] >= epochs
