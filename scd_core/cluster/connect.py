"""``--cluster SPEC``: an embedded LocalCluster, or a running Dask scheduler.

``local[:N]`` starts N worker processes (default: one per two cores, at least one) with the cores
split between them: each worker runs one task at a time and its torch and ONNX Runtime use
``cores / N`` threads (``OMP_NUM_THREADS``). On a machine with CUDA devices, ``local`` starts one
worker per GPU, each seeing only its own (dask-cuda's LocalCUDACluster where it is installed,
otherwise ``CUDA_VISIBLE_DEVICES`` per worker). ``tcp://HOST:PORT`` and ``*.json`` (a scheduler
file, as ``dask scheduler --scheduler-file`` writes it) connect to a cluster someone started.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from scd_core.errors import InvalidOptionError
from scd_core.vocabulary import OPTIONS

if TYPE_CHECKING:  # distributed is imported when a run asks for a cluster
    from distributed import Client, Scheduler, SpecCluster

#: How many times the scheduler reruns a task whose worker died before it gives up on it.
DEFAULT_RETRIES: int = OPTIONS["retries"].default


def _threads_env(workers: int) -> dict[str, str]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _gpus() -> int:
    try:
        import torch
    except ImportError:  # a client without torch can still drive a CPU cluster
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _local_cluster(spec: str) -> SpecCluster:
    from distributed import LocalCluster, Nanny, SpecCluster

    count = spec.partition(":")[2]
    if count and not (count.isdigit() and int(count) > 0):
        raise InvalidOptionError(f"--cluster local:N needs a number of workers N ≥ 1, got {spec!r}")
    gpus = _gpus()
    workers = int(count) if count else (gpus or max(1, (os.cpu_count() or 1) // 2))
    quiet = {"silence_logs": logging.ERROR, "dashboard_address": None}
    if gpus:
        try:
            from dask_cuda import LocalCUDACluster

            return LocalCUDACluster(n_workers=min(workers, gpus), threads_per_worker=1, **quiet)
        except ImportError:
            specs = {
                i: {"cls": Nanny, "options": {"nthreads": 1, "env": {"CUDA_VISIBLE_DEVICES": str(i % gpus)}}}
                for i in range(workers)
            }
            return SpecCluster(workers=specs, scheduler={"cls": _scheduler(), "options": {"dashboard": False}})
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, env=_threads_env(workers), **quiet)


def _scheduler() -> type[Scheduler]:
    from distributed import Scheduler

    return Scheduler


def _sync_cancel_slip(record: logging.LogRecord) -> bool:
    """False for distributed's own slip when Ctrl-C lands in ``distributed.utils.sync`` before its
    future exists: its ``cancel`` callback then raises ``NameError`` on the loop thread, which tornado
    logs as a traceback after the run has stopped (distributed 2026.11; harmless: there was nothing to
    cancel). The interrupt itself still stops the run with its one line."""
    error = record.exc_info[1] if record.exc_info else None
    return not (isinstance(error, NameError) and "'future'" in str(error))


@contextmanager
def connect(spec: str, retries: int = DEFAULT_RETRIES) -> Iterator[Client]:
    """A ``distributed.Client`` of the cluster ``spec`` names (closed, with an embedded cluster, on
    leaving)."""
    import dask
    from distributed import Client

    with ExitStack() as stack:
        logging.getLogger("tornado.application").addFilter(_sync_cancel_slip)  # for good: it logs late
        if spec == "local" or spec.startswith("local:"):
            # a task whose worker dies is rerun elsewhere this many times (remote schedulers: their config)
            stack.enter_context(dask.config.set({"distributed.scheduler.allowed-failures": retries}))
            from scd_core.cluster.worker_interrupts import IgnoreInterrupts
            from scd_core.cluster.worker_memory import KeepFreedMemory

            cluster = stack.enter_context(_local_cluster(spec))
            client = stack.enter_context(Client(cluster))
            client.register_plugin(KeepFreedMemory())
            client.register_plugin(IgnoreInterrupts())
        elif spec.startswith(("tcp://", "tls://", "ucx://")):
            client = stack.enter_context(_joined(lambda: Client(spec, timeout="30s"), spec))
        elif spec.endswith(".json"):
            if not Path(spec).is_file():
                raise InvalidOptionError(f"--cluster: no scheduler file at {spec}")
            client = stack.enter_context(_joined(lambda: Client(scheduler_file=spec, timeout="30s"), spec))
        else:
            raise InvalidOptionError(
                f"--cluster takes local, local:N, tcp://HOST:PORT or a scheduler file (.json), got {spec!r}"
            )
        yield client


def _joined(make: Callable[[], Client], spec: str) -> Client:
    try:
        return make()
    except OSError as error:  # distributed raises OSError subclasses for an address it cannot reach
        raise InvalidOptionError(f"--cluster {spec}: no Dask scheduler answers there ({error})") from None
