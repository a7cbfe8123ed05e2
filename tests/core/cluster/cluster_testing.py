"""A real Dask scheduler and workers on loopback, started and stopped by a test, and pairs to run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scd_core.synth import write_geo_pair

DASK = Path(sys.executable).with_name("dask")


def write_pairs(root: Path, count: int, size: int = 256) -> Path:
    """``count`` synthetic pairs and their PAIRS.csv."""
    rows = ["id,before,after"]
    for i in range(count):
        pair = write_geo_pair(root / f"pair{i}", size, seed=100 + i)
        rows.append(f"p{i},{pair.before},{pair.after}")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root / "pairs.csv"


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear in {seconds} s")
        time.sleep(0.1)


@contextmanager
def scheduler_and_workers(root: Path, workers: int = 2) -> Iterator[tuple[str, Path]]:
    """``dask scheduler`` and ``dask worker --nworkers N`` (one thread each, behind nannies) on
    127.0.0.1; yields the scheduler's address and its scheduler file."""
    scheduler_file = root / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    started = []
    try:
        started.append(subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ))  # fmt: skip
        _wait_for(scheduler_file, 60)
        address = json.loads(scheduler_file.read_text())["address"]
        started.append(subprocess.Popen(
            [str(DASK), "worker", address, "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=root,
        ))  # fmt: skip
        _wait_for_workers(address, workers)
        yield address, scheduler_file
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_for_workers(address: str, count: int, seconds: float = 90) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=seconds)


def staging_leftovers(root: Path) -> list[Path]:
    return list(root.rglob(".*.scd-*"))
