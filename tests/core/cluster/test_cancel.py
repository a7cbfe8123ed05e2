"""A cluster run's cancel: the client sets its event, and each task stops at its next progress event."""

from __future__ import annotations

import time

import pytest
from distributed import Client, LocalCluster

from scd_core.cluster.cancel import CANCEL_POLL, Cancelled, cancel_name, cancel_watch, stop


def test_a_task_stops_at_its_next_progress_event_once_the_client_cancels() -> None:
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        name = cancel_name()
        assert name != cancel_name()  # one event per run: two runs on one scheduler stop apart
        watch = cancel_watch(name)
        watch({"event": "progress", "done": 1, "total": 4})  # not cancelled: the task goes on
        stop(client, [], name)
        time.sleep(CANCEL_POLL)  # a task looks at the event at most once per CANCEL_POLL
        with pytest.raises(Cancelled):
            watch({"event": "progress", "done": 2, "total": 4})
