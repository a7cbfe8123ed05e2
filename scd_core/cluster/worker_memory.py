"""The embedded cluster's workers keep freed memory for reuse, as the ``scd`` process itself does.

:func:`scd_core.cpu_memory.keep_freed_memory` changes a whole process, so only a process's owner may
call it. The workers of ``--cluster local[:N]`` are processes this command starts and stops, so they
get it, through a worker plugin that also reaches a worker restarted after a crash. Without it, each
forward pass in a worker faults its activations in anew; torch suffers most, ONNX Runtime little (its
own arena keeps most of its memory); ``benchmarks/bench_cluster.py`` measures the overhead of
``local:1`` over one process. Workers of a scheduler the user runs (``tcp://``, a
scheduler file) are theirs, and are left as they are.
"""

from __future__ import annotations

from distributed import Worker
from distributed.diagnostics.plugin import WorkerPlugin

from scd_core.cpu_memory import keep_freed_memory


class KeepFreedMemory(WorkerPlugin):
    """Calls :func:`~scd_core.cpu_memory.keep_freed_memory` in every worker as it starts."""

    name = "scd-keep-freed-memory"

    def setup(self, worker: Worker) -> None:
        """Keep the worker process's freed memory, as the ``scd`` process does."""
        keep_freed_memory()
