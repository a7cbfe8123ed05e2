"""Stopping a cluster's run: one Dask event per run, set by the client, looked at by every task.

A run names its event (:func:`cancel_name`) and hands the name to each task. A task reports its
progress into :func:`cancel_watch`, which raises :class:`Cancelled` once the event is set, so the
detection stops at its next progress event and removes its staging folder. The client sets the
event on Ctrl-C or SIGTERM (:func:`stop`), cancels the tasks that have not started and waits for the
running ones to clean up. Both ``scd batch --cluster`` (:mod:`.pairs`) and ``scd detect --cluster``
(:mod:`.blocks`) stop this way.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from scd_core.geo.progress import Event

if TYPE_CHECKING:
    from distributed import Client, Future

#: Seconds a running task may go between two looks at the cancel event.
CANCEL_POLL = 1.0
#: Seconds the client waits for running tasks to stop after a cancel.
CANCEL_WAIT = 60.0


class Cancelled(KeyboardInterrupt):
    """The client cancelled the run; raised inside a running task to stop its detection cleanly."""


def cancel_name() -> str:
    """A new run's cancel event name, unique across the runs that share a scheduler."""
    return f"scd-cancel-{uuid.uuid4().hex}"


def cancel_watch(name: str) -> Callable[[Event], None]:
    """A progress reporter for a task: silent, but raises :class:`Cancelled` once the client has set
    the Dask event ``name`` (looked at no more than once per :data:`CANCEL_POLL` seconds)."""
    from distributed import Event as DaskEvent

    event, last = DaskEvent(name), [0.0]

    def watch(_: Event) -> None:
        now = time.monotonic()
        if now - last[0] >= CANCEL_POLL:
            last[0] = now
            if event.is_set():
                raise Cancelled

    return watch


def stop(client: Client, futures: list[Future], cancel: str) -> None:
    """Cancel the tasks that have not started, and give the running ones (which the event ``cancel``
    stops at their next progress event) the time to remove their staging folders."""
    from distributed import Event as DaskEvent
    from distributed import wait

    DaskEvent(cancel, client=client).set()
    running = {key for keys in client.processing().values() for key in keys}
    client.cancel([f for f in futures if not f.done() and f.key not in running])
    with contextlib.suppress(TimeoutError):  # a task that does not stop in time: its folder is swept after
        wait([f for f in futures if f.key in running], timeout=CANCEL_WAIT)
