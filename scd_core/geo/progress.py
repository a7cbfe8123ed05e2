"""Reporters of a detection run's progress events, and the JSON-lines protocol the QGIS plugin reads.

The engine reports what happens as *events*, each built by :mod:`scd_core.events` (their typed
definitions, the builders and the one parser). A reporter is any callable that takes one event. The
command line picks one with ``--progress``:

* ``bar`` (default): a tqdm bar and human-readable lines on stderr;
* ``json``: the worker protocol, on stdout;
* ``none``: no bar; messages and warnings still go to stderr.

The worker protocol (``scd detect ... --progress json``)
--------------------------------------------------------
stdout carries one JSON object per line, each flushed as soon as it is written, and nothing else
(human text goes to stderr): ``start`` once (with the protocol's version), ``progress`` as tiles are
done, ``message`` and ``warning``, then ``done``, or ``error`` (with ``cancelled: true`` when SIGINT
or SIGTERM stopped the run). ``scd batch`` adds ``pair`` and ``batch``, ``scd series`` ``pair`` and
``series``. Exit codes: 0 success, 2 bad input (the ``error`` event's ``path`` names the file at
fault), 1 internal error, 130 on SIGINT, 143 on SIGTERM. A cancelled run leaves the output folder exactly as it was.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from scd_core import events
from scd_core.events import Event
from scd_core.vocabulary import PROGRESS_STYLES

Reporter = Callable[[Event], None]

STYLES = PROGRESS_STYLES


def silent(event: Event) -> None:
    """The API's default reporter: a library prints nothing unless asked to."""


class RunLog:
    """What a run tells as it goes, and how long each of its stages took.

    Messages and warnings go to the reporter as protocol events and are kept for run.json;
    :meth:`lap` records a stage's seconds under its name (``timings_s`` of run.json).
    """

    def __init__(self, report: Reporter) -> None:
        self.report = report
        self.messages: list[str] = []
        self.timings: dict[str, float] = {}
        self._started = self._mark = time.perf_counter()

    def message(self, text: str) -> None:
        """Tell ``text`` to the reporter as a ``message`` event and keep it for run.json."""
        self.messages.append(text)
        self.report(events.message(text))

    def warning(self, text: str) -> None:
        """Tell ``text`` to the reporter as a ``warning`` event and keep it for run.json."""
        self.messages.append(text)
        self.report(events.warning(text))

    def lap(self, stage: str, seconds: float | None = None) -> None:
        """Record ``stage``: the seconds since the last lap, or ``seconds`` when the stage timed itself."""
        now = time.perf_counter()
        self.timings[stage] = now - self._mark if seconds is None else seconds
        self._mark = now

    def finish(self) -> None:
        """Record the whole run's seconds as ``total``."""
        self.timings["total"] = time.perf_counter() - self._started


class JsonLines:
    """Writes each event as one JSON line and flushes it (the worker protocol)."""

    def __init__(self, stream: TextIO | None = None, **extra: Any) -> None:
        self.stream = stream or sys.stdout
        self.extra = extra

    def __call__(self, event: Event) -> None:
        """Write ``event``, with the extra keys, as one JSON line, flushed at once so the reader sees it."""
        self.stream.write(json.dumps({**event, **self.extra}, ensure_ascii=False) + "\n")
        self.stream.flush()


class HumanText:
    """A tqdm progress bar on stderr (``bar=True``) and messages, warnings and errors as text lines."""

    def __init__(self, bar: bool = True, stream: TextIO | None = None, label: str = "scd detect") -> None:
        self.bar_wanted = bar
        self.stream = stream or sys.stderr
        self.label = label
        self._bar = None

    def _write(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        """Print what a person needs of ``event``: the grid at the start, the bar, messages, the counts when done."""
        if event["event"] == "start":
            self._write(
                f"{self.label}: {event['width']}×{event['height']} px on {event['crs']}, "
                f"{event['total']} tiles → {event['out_dir']}"
            )
            if self.bar_wanted:
                from tqdm import tqdm

                self._bar = tqdm(total=event["total"], unit="tile", file=self.stream, desc=self.label)
        elif event["event"] == "progress":
            if self._bar is not None:
                self._bar.update(event["done"] - self._bar.n)
        elif event["event"] == "message":
            self._write(f"{self.label}: {event['text']}")
        elif event["event"] == "warning":
            self._write(f"{self.label}: warning: {event['text']}")
        elif event["event"] in ("done", "error"):
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if event["event"] == "done":
                counts = event["counts"]
                self._write(
                    f"{self.label}: done: {counts['features']} change polygons, "
                    f"{counts['changed_pixels']} changed pixels"
                )


def reporter(style: str, **extra: Any) -> Reporter:
    """The reporter of a ``--progress`` style; ``extra`` keys are added to JSON events (e.g. a pair id)."""
    if style == "json":
        return JsonLines(**extra)
    if style in ("bar", "none"):
        return HumanText(bar=style == "bar", label=f"scd detect {extra['pair']}" if "pair" in extra else "scd detect")
    raise ValueError(f"unknown progress style {style!r}; choose from {', '.join(STYLES)}")
