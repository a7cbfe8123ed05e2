"""``scd batch --cluster``: an embedded LocalCluster and a real scheduler with workers on loopback
give the one-process outputs byte for byte; a killed worker's pair is rerun; cancel leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from cluster_testing import scheduler_and_workers, staging_leftovers, write_pairs
from detect_testing import REPO, default_interrupt, scd_command, tiny_checkpoint

from scd_core.cli import main

OUTPUTS = ("change_type.tif", "before_class.tif", "after_class.tif", "change_prob.tif", "summary.csv")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Four pairs, a model, and their outputs made one after the other in one process."""
    root = tmp_path_factory.mktemp("batch")
    pairs = write_pairs(root, 4)
    model = tiny_checkpoint(root / "tiny.pt", seed=4)
    assert main(["batch", str(pairs), "-o", str(root / "serial"), "--model", str(model), "--tile", "128",
                 "--progress", "none"]) == 0  # fmt: skip
    return root, pairs, model


def assert_same_outputs(first, second, ids):
    for pair_id in ids:
        for name in OUTPUTS:
            assert (first / pair_id / name).read_bytes() == (second / pair_id / name).read_bytes(), (pair_id, name)


def test_a_local_cluster_gives_the_one_process_outputs_and_loads_the_model_once_per_worker(batch, tmp_path):
    from distributed import Client, LocalCluster

    from scd_core.batch.pairs import read_pairs
    from scd_core.cluster.pairs import run_pairs
    from scd_core.geo.options import DetectOptions

    root, pairs, model = batch
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        outcomes = run_pairs(client, read_pairs(pairs), tmp_path, str(model), DetectOptions(tile=128), lambda o: None)
        loads = client.run(lambda: len(__import__("scd_core.geo.inputs", fromlist=["_LOADED"])._LOADED))
    assert [o.status for o in outcomes] == ["done"] * 4
    assert_same_outputs(root / "serial", tmp_path, [f"p{i}" for i in range(4)])
    assert sorted(loads.values()) in ([1, 1], [0, 1])  # four pairs, one model load per worker process


def test_scd_batch_on_local_2_reports_and_resumes(batch, tmp_path, capsys):
    root, pairs, model = batch
    args = ["batch", str(pairs), "-o", str(tmp_path), "--model", str(model), "--tile", "128", "--cluster", "local:2"]
    assert main([*args, "--progress", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(e["id"] for e in events if e["event"] == "pair") == ["p0", "p1", "p2", "p3"]
    assert events[-1] == {"event": "batch", "done": 4, "skipped": 0, "failed": 0}
    assert_same_outputs(root / "serial", tmp_path, [f"p{i}" for i in range(4)])
    assert main([*args, "--progress", "none"]) == 0
    assert "4 skipped" in capsys.readouterr().err


def test_scd_batch_and_detect_on_a_scheduler_and_workers_started_by_hand(batch, tmp_path):
    root, pairs, model = batch
    collared = root / "pair0"
    with scheduler_and_workers(tmp_path) as (address, scheduler_file):
        done = subprocess.run(
            scd_command("batch", pairs, "-o", tmp_path / "out", "--model", model, "--tile", "128", "--progress",
                        "none", "--cluster", address),
            capture_output=True, text=True, cwd=REPO, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        split = subprocess.run(
            scd_command("detect", collared / "before.tif", collared / "after.tif", "-o", tmp_path / "split",
                        "--model", model, "--tile", "128", "--progress", "none", "--cluster", scheduler_file,
                        "--block-size", "256", "--mmu", "0"),
            capture_output=True, text=True, cwd=REPO, timeout=600,
        )  # fmt: skip
        assert split.returncode == 0, split.stderr
    assert_same_outputs(root / "serial", tmp_path / "out", [f"p{i}" for i in range(4)])
    assert main(["detect", str(collared / "before.tif"), str(collared / "after.tif"), "-o", str(tmp_path / "one"),
                 "--model", str(model), "--tile", "128", "--progress", "none", "--mmu", "0"]) == 0  # fmt: skip
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "split" / name).read_bytes(), name


def _running_worker_pid(address: str) -> int:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                return client.run(os.getpid, workers=[busy[0]])[busy[0]]
            time.sleep(0.05)
    raise TimeoutError("no worker started a task")


def test_a_worker_killed_mid_run_has_its_pair_rerun_and_the_outputs_are_the_same(tmp_path):
    pairs = write_pairs(tmp_path, 6, size=512)
    model = tiny_checkpoint(tmp_path / "tiny.pt", seed=6)
    assert main(["batch", str(pairs), "-o", str(tmp_path / "serial"), "--model", str(model), "--tile", "128",
                 "--progress", "none"]) == 0  # fmt: skip
    with scheduler_and_workers(tmp_path) as (address, _):
        process = subprocess.Popen(
            scd_command("batch", pairs, "-o", tmp_path / "out", "--model", model, "--tile", "128", "--progress",
                        "none", "--cluster", address),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        os.kill(_running_worker_pid(address), signal.SIGKILL)  # its nanny starts a new worker process
        _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert "6 done" in stderr
    assert_same_outputs(tmp_path / "serial", tmp_path / "out", [f"p{i}" for i in range(6)])
    assert staging_leftovers(tmp_path / "out") == []


def test_cancel_stops_the_cluster_run_and_leaves_only_finished_pairs(tmp_path):
    pairs = write_pairs(tmp_path, 6, size=512)
    model = tiny_checkpoint(tmp_path / "tiny.pt", seed=7)
    process = subprocess.Popen(
        scd_command("batch", pairs, "-o", tmp_path / "out", "--model", model, "--tile", "128", "--progress", "json",
                    "--cluster", "local:2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, preexec_fn=default_interrupt,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line)["event"] == "pair":
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=180)
    assert process.returncode == 130
    out = tmp_path / "out"
    assert staging_leftovers(out) == []
    finished = [folder for folder in out.iterdir() if folder.is_dir()]
    assert 1 <= len(finished) < 6 and all((folder / "run.json").is_file() for folder in finished)
