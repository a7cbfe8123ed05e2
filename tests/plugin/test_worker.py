"""The worker protocol on the plugin side: events into QgsProcessingFeedback, failures into messages,
cancel within two seconds.

Stand-in workers (a few lines of Python speaking the protocol) make the hard cases happen on purpose:
a worker that ignores SIGTERM, one that dies without a word. The real engine is exercised by
test_detect_changes.py.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from plugin_testing import REPO, RecordingFeedback


def stand_in(tmp_path: Path, body: str) -> list[str]:
    """A worker running ``body``, whose ``say(event=KIND, **keys)`` writes the event the engine's own
    builder makes (scd_core/events.py), as the engine does."""
    script = tmp_path / "worker.py"
    script.write_text(
        f"import json, os, signal, sys, time\nsys.path.insert(0, {str(REPO)!r})\nfrom scd_core import events\n"
        "def say(event, **keys): print(json.dumps(getattr(events, event)(**keys)), flush=True)\n"
        + textwrap.dedent(body)
    )
    return [sys.executable, str(script)]


def test_events_become_progress_messages_and_warnings(plugin, tmp_path):
    from qgis_scd_plugin.worker import run_worker

    command = stand_in(
        tmp_path,
        """
        say(event="start", total=4, out_dir="o", width=256, height=256, crs="EPSG:32631")
        for done in range(1, 5):
            say(event="progress", done=done, total=4)
        print("a library printing to stdout", flush=True)
        say(event="message", text="vectorizing")
        say(event="warning", text="bands 4 and 5 ignored")
        print("human text", file=sys.stderr, flush=True)
        say(event="done", outputs={"changes": "o/changes.gpkg"}, counts={})
    """,
    )
    feedback = RecordingFeedback()
    done = run_worker(command, dict(os.environ), feedback, str(tmp_path))
    assert done["outputs"] == {"changes": "o/changes.gpkg"}
    assert feedback.progress_seen == [25.0, 50.0, 75.0, 100.0]
    assert any("256 × 256" in info and "4 tiles" in info for info in feedback.infos)
    assert "vectorizing" in feedback.infos
    assert feedback.warnings == ["bands 4 and 5 ignored"]
    assert "a library printing to stdout" in feedback.console and "human text" in feedback.console


def test_an_error_event_becomes_the_failure_message(plugin, tmp_path):
    from qgis_scd_plugin.worker import WorkerFailedError, run_worker

    command = stand_in(
        tmp_path,
        """
        say(event="error", text="the model expects 3 bands, the image has 1", path="/data/before.tif")
        sys.exit(2)
    """,
    )
    with pytest.raises(WorkerFailedError, match=r"^/data/before.tif: the model expects 3 bands, the image has 1$"):
        run_worker(command, dict(os.environ), RecordingFeedback(), str(tmp_path))


def test_the_engines_error_is_told_once(plugin, tmp_path):
    """The engine says its error twice, as an event and on stderr; the log showed it two to four times."""
    from qgis_scd_plugin.worker import WorkerFailedError, run_worker

    command = stand_in(
        tmp_path,
        """
        say(event="error", text="the model expects 3 bands, the image has 1", path=None)
        print("scd detect: error: the model expects 3 bands, the image has 1", file=sys.stderr, flush=True)
        sys.exit(2)
    """,
    )
    feedback = RecordingFeedback()
    with pytest.raises(WorkerFailedError, match=r"^the model expects 3 bands, the image has 1$"):
        run_worker(command, dict(os.environ), feedback, str(tmp_path))
    assert feedback.console == [] and feedback.errors == []


def test_a_worker_that_dies_silently_is_reported_with_its_exit_code_and_stderr(plugin, tmp_path):
    from qgis_scd_plugin.worker import WorkerFailedError, run_worker

    command = stand_in(
        tmp_path,
        """
        print("Traceback: ImportError: libtorch_cpu.so", file=sys.stderr, flush=True)
        os._exit(139)
    """,
    )
    with pytest.raises(WorkerFailedError) as failure:
        run_worker(command, dict(os.environ), RecordingFeedback(), str(tmp_path))
    assert "exit code 139" in str(failure.value) and "libtorch_cpu.so" in str(failure.value)


def test_cancel_stops_even_a_worker_that_ignores_sigterm_within_two_seconds(plugin, tmp_path):
    from qgis_scd_plugin.worker import WorkerCancelledError, run_worker

    pid_file = tmp_path / "pid"
    command = stand_in(
        tmp_path,
        f"""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        say(event="start", total=100, out_dir="o", width=1, height=1, crs="EPSG:4326")
        for done in range(1, 101):
            say(event="progress", done=done, total=100)
            time.sleep(0.5)
    """,
    )
    feedback = RecordingFeedback()
    cancelled_at: list[float] = []

    def cancel_on_first_progress(progress: float) -> None:
        if not cancelled_at:
            cancelled_at.append(time.monotonic())
            feedback.cancel()

    feedback.progressChanged.connect(cancel_on_first_progress)
    with pytest.raises(WorkerCancelledError):
        run_worker(command, dict(os.environ), feedback, str(tmp_path))
    assert time.monotonic() - cancelled_at[0] < 2.0
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_the_workers_pipes_are_closed_whether_it_finishes_or_is_cancelled(plugin, tmp_path):
    """An unclosed pipe shows up in QGIS's log as a ResourceWarning once the garbage collector finds it."""
    import gc
    import warnings

    from qgis_scd_plugin.worker import WorkerCancelledError, run_worker

    finishing = stand_in(tmp_path, 'say(event="done", outputs={}, counts={})\n')
    feedback = RecordingFeedback()
    cancelled = RecordingFeedback()
    cancelled.cancel()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run_worker(finishing, dict(os.environ), feedback, str(tmp_path))
        with pytest.raises(WorkerCancelledError):
            run_worker(stand_in(tmp_path, "time.sleep(60)\n"), dict(os.environ), cancelled, str(tmp_path))
        gc.collect()
    assert [str(warning.message) for warning in caught if warning.category is ResourceWarning] == []


def test_a_backend_of_another_major_protocol_is_stopped_and_named(plugin, tmp_path):
    from qgis_scd_plugin.worker import WorkerFailedError, run_worker

    pid_file = tmp_path / "pid"
    old = {"event": "start", "total": 4, "out_dir": "o", "width": 1, "height": 1, "crs": "EPSG:4326"}
    command = stand_in(
        tmp_path,
        f"""
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        print(json.dumps({old!r}), flush=True)
        time.sleep(60)
    """,
    )
    started = time.monotonic()
    with pytest.raises(WorkerFailedError, match=r"protocol 1\.0, older than .*: update the backend"):
        run_worker(command, dict(os.environ), RecordingFeedback(), str(tmp_path))
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
