"""The embedded cluster's workers ignore Ctrl-C: the client alone decides how a run stops.

A terminal's Ctrl-C reaches every process of its foreground group, the worker processes of
``--cluster local[:N]`` too. Each used to die of it mid-task, with a traceback, and the scheduler
reran the task on the next worker until its retries were spent, so a cancel took half a minute and
hundreds of lines. The client's cancel (:mod:`scd_core.cluster.cancel`) stops running tasks cleanly
instead. Workers of a scheduler the user runs are in their own groups, and are left as they are.
"""

from __future__ import annotations

import signal
import threading

from distributed import Worker
from distributed.diagnostics.plugin import WorkerPlugin


class IgnoreInterrupts(WorkerPlugin):
    """Sets SIGINT to SIG_IGN in every worker as it starts (its event loop runs in its main thread)."""

    name = "scd-ignore-interrupts"

    def setup(self, worker: Worker) -> None:
        """Ignore SIGINT, where the worker runs in the main thread (the only one that may set a handler)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
