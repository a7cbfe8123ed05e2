"""Run the engine as a worker process and relay its JSON-lines events to Processing's feedback.

The worker writes one JSON object per line on stdout (``start``, ``progress``, ``message``,
``warning``, ``done``, ``error``; ``scd train``'s ``epoch`` and ``trained``; ``scd series``' ``pair``
and ``series``), each read through the
engine's own definitions
(:mod:`scd_core.events`, via :mod:`.shared`): a backend of another major protocol version is
stopped and the analyst told which side to update. Human text goes to stderr. Both pipes are drained by threads into one
queue, and everything that touches the feedback happens on the algorithm's own thread, which also
polls the feedback's cancel flag every tenth of a second: a cancelled worker gets SIGTERM (the engine
then removes its partial outputs) and, if it has not exited within a second and a half, SIGKILL.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from qgis.core import QgsProcessingFeedback

from .shared import events

_POLL_SECONDS = 0.1
_GRACE_SECONDS = 1.5
#: Lines of the worker's own text (not protocol events) quoted when it dies without an error event.
_TEXT_LINES_KEPT = 20

Event = Mapping[str, Any]
#: The engine's error line on stderr, which repeats its ``error`` event: said once, by the failure's
#: message (it stays among the last words quoted when no ``error`` event came).
_ENGINE_ERROR_LINE = re.compile(r"^scd [\w-]+: error: ")
#: The engine's names of options and inputs: its flags and its upper-case arguments.
_ENGINE_WORD = re.compile(r"--[a-z][a-z-]*|\b[A-Z][A-Z_]+[A-Z]\b")


class WorkerFailedError(Exception):
    """The worker reported an error or stopped without finishing; the message is the worker's own."""


class WorkerCancelledError(Exception):
    """The analyst cancelled; the worker has been stopped."""


def _json_object(line: str) -> dict[str, Any] | None:
    """The JSON object on one stdout line (a protocol event, or a ``--json`` answer); None for any other
    line (a library's print)."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def in_dialog_words(text: str, labels: Mapping[str, str]) -> str:
    """The engine's ``text`` with its words for the options (``--tile``, ``BEFORE``) replaced by the
    dialog's labels in ``labels``; words without a label stay."""
    return _ENGINE_WORD.sub(lambda word: labels.get(word[0], word[0]), text)


#: The validation scores an epoch's line gives: the group of ``epoch`` events' ``scores``, its name in
#: the line, and its score (change's F1; a semantic model's SeK, in both of SECOND's conventions).
_EPOCH_SCORES = (("change", "change F1", "F1"), ("per_date", "per-date SeK", "SeK"), ("from_to", "from-to SeK", "SeK"))


def epoch_text(event: Event) -> str:
    """An ``epoch`` event in one line: ``epoch 3/30: loss 0.41, change F1 62.3`` (and the SeK of a
    semantic model); the scores are the epoch's validation, in percent."""
    scores = event.get("scores") or {}
    parts = [f"epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.2f}"]
    parts += [f"{name} {scores[group][key]:.1f}" for group, name, key in _EPOCH_SCORES if key in scores.get(group, {})]
    return ", ".join(parts)


class _EventRelay:
    """Turns protocol events into feedback calls, in the dialog's words, and remembers the last event
    of a run (``done``, ``scd train``'s ``trained`` or ``scd series``' ``series``) and the ``error`` event."""

    def __init__(self, feedback: QgsProcessingFeedback, labels: Mapping[str, str]) -> None:
        self.feedback = feedback
        self.labels = labels
        self.done: Event | None = None
        self.error: Event | None = None
        #: The last JSON object on stdout that is no event: the answer of a ``--json`` command.
        self.answer: dict[str, Any] | None = None

    def text(self, event: Event) -> str:
        return in_dialog_words(str(event.get("text", "")), self.labels)

    def relay(self, event: Event) -> None:
        kind = event["event"]
        if kind == "start":
            self.feedback.pushInfo(
                f"Detecting changes on a {event.get('width')} × {event.get('height')} pixel grid "
                f"({event.get('crs')}) in {event.get('total')} tiles."
            )
        elif kind == "progress" and event.get("total"):
            self.feedback.setProgress(100.0 * event.get("done", 0) / event["total"])
        elif kind == "message":
            self.feedback.pushInfo(self.text(event))
        elif kind == "warning":
            self.feedback.pushWarning(self.text(event))
        elif kind == "epoch" and event.get("epochs"):
            self.feedback.setProgress(100.0 * event["epoch"] / event["epochs"])
            self.feedback.pushInfo(epoch_text(event))
        elif kind == "pair":
            said = f": {event['message']}" if event.get("message") else ""
            self.feedback.pushInfo(f"Pair {event.get('id')}: {event.get('status')}{said}")
        elif kind in ("done", "trained", "series"):  # a series' pairs are done before it is
            self.done = event
        elif kind == "error":
            self.error = event


def run_worker(
    command: list[str],
    environment: Mapping[str, str],
    feedback: QgsProcessingFeedback,
    folder: str,
    labels: Mapping[str, str] | None = None,
) -> Event:
    """Run the worker in ``folder`` to the end and return its last event (``done``, ``scd train``'s
    ``trained`` or ``scd series``' ``series``); its messages, warnings and error name the options by their
    ``labels`` in the dialog (:func:`in_dialog_words`).

    The worker runs in a folder of its own because ``python -m`` imports from its working folder first:
    run from QGIS's, a stray ``scd_core`` folder there would shadow the backend's engine.

    Raises:
        WorkerCancelledError: the feedback was cancelled (the worker is stopped and reaped), or the
            worker was interrupted by someone else (its ``error`` event says ``cancelled``).
        WorkerFailedError: the worker sent an ``error`` event, exited non-zero or never said it was done.
    """
    exit_code, relay, last_lines = _run(command, environment, feedback, folder, labels or {})
    return _outcome(exit_code, relay, last_lines, relay.done)


def run_json_command(
    command: list[str],
    environment: Mapping[str, str],
    feedback: QgsProcessingFeedback,
    folder: str,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run an engine command that answers with one JSON object on stdout (``scd score --json``), as
    :func:`run_worker` runs the worker (cancel, messages in the dialog's words); its answer."""
    exit_code, relay, last_lines = _run(command, environment, feedback, folder, labels or {})
    _outcome(exit_code, relay, last_lines, None if relay.answer is None else {"event": "done"})
    assert relay.answer is not None  # _outcome refuses a run without one
    return relay.answer


def run_command(
    command: list[str],
    environment: Mapping[str, str],
    feedback: QgsProcessingFeedback,
    folder: str,
    labels: Mapping[str, str] | None = None,
) -> Event:
    """Run an engine command that writes its files and says so in a line of text (``scd zones``), as
    :func:`run_worker` runs the worker; its text goes to the log, and its exit code 0 is its ``done``."""
    exit_code, relay, last_lines = _run(command, environment, feedback, folder, labels or {})
    return _outcome(exit_code, relay, last_lines, {"event": "done"})


def _run(
    command: list[str],
    environment: Mapping[str, str],
    feedback: QgsProcessingFeedback,
    folder: str,
    labels: Mapping[str, str],
) -> tuple[int, _EventRelay, collections.deque[str]]:
    """Run ``command`` in ``folder`` to its end, relaying its events; its exit code, what it said and
    the last lines of its own text."""
    try:
        process = _start(command, environment, folder)
    except OSError as error:
        raise WorkerFailedError(f"Cannot start the backend {command[0]}: {error}") from None
    feedback.pushInfo(f"Started the worker, process {process.pid}.")
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    drains = [
        threading.Thread(target=_drain, args=(name, stream, lines), daemon=True)
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for drain in drains:
        drain.start()
    try:
        relay, last_lines = _relay_until_exit(process, lines, _EventRelay(feedback, labels))
    finally:
        _close_pipes(process, drains)
    return process.returncode, relay, last_lines


def _relay_until_exit(
    process: subprocess.Popen[str], lines: queue.Queue[tuple[str, str | None]], relay: _EventRelay
) -> tuple[_EventRelay, collections.deque[str]]:
    """Relay the worker's lines until it has exited and both pipes are drained; stop it on cancel."""
    feedback = relay.feedback
    last_lines: collections.deque[str] = collections.deque(maxlen=_TEXT_LINES_KEPT)
    open_streams = 2
    while open_streams or process.poll() is None:
        if feedback.isCanceled():
            _stop(process)
            raise WorkerCancelledError()
        try:
            name, line = lines.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        line = line.rstrip("\r\n")
        try:
            event = events.parse(line) if name == "stdout" else None
        except events.ProtocolError as error:
            _stop(process)
            side = "plugin" if "newer than" in str(error) else "backend (Settings… ▸ Install backend)"
            raise WorkerFailedError(f"{error}: update the {side} so that both are of one version.") from None
        if event is not None:
            relay.relay(event)
        answer = _json_object(line) if name == "stdout" and event is None else None
        if answer is not None:
            relay.answer = answer
        elif event is None and line:
            last_lines.append(line)
            if not _ENGINE_ERROR_LINE.match(line):
                feedback.pushConsoleInfo(line)
    return relay, last_lines


def _close_pipes(process: subprocess.Popen[str], drains: list[threading.Thread]) -> None:
    """Close the worker's pipes once their readers are done (an unclosed pipe is a ResourceWarning in
    QGIS's log). The worker has exited or been stopped, so its pipes are at their end within moments;
    a pipe still held open by a stray grandchild is left to its reader."""
    for drain, stream in zip(drains, (process.stdout, process.stderr)):
        drain.join(timeout=_GRACE_SECONDS)
        if not drain.is_alive() and stream is not None:
            stream.close()


def _start(command: list[str], environment: Mapping[str, str], folder: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(environment),
        cwd=folder,
        encoding="utf-8",
        errors="replace",
        **_own_process_group(),
    )


def _outcome(exit_code: int, relay: _EventRelay, last_lines: collections.deque[str], done: Event | None) -> Event:
    """``done``, the run's last event (``done`` or ``trained``, or what stands for it where a command
    has no events), when the run ended well; else the failure, in the engine's words made the dialog's."""
    if relay.error is not None:
        if relay.error.get("cancelled"):
            raise WorkerCancelledError()
        path = relay.error.get("path")
        text = relay.text(relay.error) or "unknown error"
        raise WorkerFailedError(f"{path}: {text}" if path and str(path) not in text else text)
    said_error = _ENGINE_ERROR_LINE.match(last_lines[-1]) if last_lines else None
    if exit_code != 0 and said_error:  # a command without the protocol's error event: its error line
        raise WorkerFailedError(in_dialog_words(last_lines[-1][said_error.end() :], relay.labels))
    if exit_code != 0 or done is None:
        said = "\n".join(last_lines) or "(it printed nothing)"
        raise WorkerFailedError(
            f"The scd worker stopped with exit code {exit_code} before finishing. Its last words:\n{said}"
        )
    return done


def _drain(name: str, stream: IO[str], lines: queue.Queue[tuple[str, str | None]]) -> None:
    for line in stream:
        lines.put((name, line))
    lines.put((name, None))


def _own_process_group() -> dict[str, Any]:
    """Start the worker in a process group of its own, so that stopping it stops its children too."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


def _stop(process: subprocess.Popen[str]) -> None:
    """Ask the worker's process group to stop, force it after the grace period, and reap it."""
    _signal_group(process, force=False)
    deadline = time.monotonic() + _GRACE_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        _signal_group(process, force=True)
    process.wait()


def _signal_group(process: subprocess.Popen[str], force: bool) -> None:
    """SIGTERM (or SIGKILL when forced) to the worker's group; on Windows, where a console-less child
    cannot be asked politely, TerminateProcess."""
    if os.name == "nt":
        process.kill()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if force else signal.SIGTERM)
