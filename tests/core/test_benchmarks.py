"""The benchmark scripts run end to end at toy sizes and print the figures the README quotes.

Figures are not judged here (timings belong to the scripts, never to tests); this keeps the scripts
from rotting between the long runs that produce the README's numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_bench_detect_reports_every_figure(tmp_path: Path) -> None:
    report = _run(
        "bench_detect.py",
        "--size=256",
        "--big=512",
        "--models=fc_siam_diff",
        "--width=4",
        "--repeats=2",
        f"--workdir={tmp_path}",
    )
    entry = report["models"]["fc_siam_diff"]
    assert len(entry["engine_loop_s_runs"]) == len(entry["model_alone_s_runs"]) == 2
    assert entry["engine_loop_s"] == min(entry["engine_loop_s_runs"])
    assert entry["model_alone_s"] == min(entry["model_alone_s_runs"])
    assert entry["engine_overhead"] > -1 and entry["megapixels_per_s_cpu"] > 0
    memory = report["memory"]
    # the ratio is of the unrounded peaks; the peaks are printed rounded to 0.1 MB
    assert memory["rss_ratio_big_over_small"] == pytest.approx(
        memory["peak_rss_mb_512"] / memory["peak_rss_mb_256"], abs=2e-3
    )
    assert report["naive"]["naive_peak_rss_mb_512"] > 0
    # the pairs stay in --workdir and a second run reuses them instead of making them again
    made = {p: p.stat().st_mtime_ns for size in (256, 512) for p in (tmp_path / f"pair{size}").glob("*.tif")}
    assert {p.name for p in made} >= {"before.tif", "after.tif"}
    _run(
        "bench_detect.py",
        "--size=256",
        "--big=512",
        "--models=fc_siam_diff",
        "--width=4",
        "--repeats=1",
        f"--workdir={tmp_path}",
    )
    assert {p: p.stat().st_mtime_ns for p in made} == made


def test_bench_runtime_reports_every_figure(tmp_path: Path) -> None:
    report = _run(
        "bench_runtime.py", "--models=demo,fc_siam_diff", "--tile=128", "--repeats=1", "--size=256",
        "--precisions=fp32", "--whole-precisions=fp32", f"--workdir={tmp_path}",
    )  # fmt: skip
    assert report["matmul_peak_gflops"] > 0
    for entry in report["models"].values():
        assert entry["exports"] and entry["decoded_pixels_agreeing"] > 0.99
        assert entry["speedup_onnxruntime_over_torch"] == pytest.approx(
            entry["seconds_per_tile"]["torch"] / entry["seconds_per_tile"]["onnxruntime"], rel=2e-2
        )
        assert set(entry["share_of_matmul_peak"]) == {"torch", "onnxruntime"}
        assert 0 < entry["macs_on_padding_share"] < 0.2  # 3×3 kernels at a map's border
        on_image, nominal = entry["share_of_matmul_peak_on_image"], entry["share_of_matmul_peak"]
        assert on_image["onnxruntime"] < nominal["onnxruntime"]
    runs = report["matmul_peak_gflops_runs"]
    assert set(runs) == {"torch", "onnxruntime"} and report["matmul_peak_gflops"] == max(max(v) for v in runs.values())
    detect = report["detect"]
    assert detect["speedup_onnxruntime_over_torch"] == pytest.approx(
        detect["seconds"]["torch"] / detect["seconds"]["onnxruntime"], rel=2e-2
    )


def test_bench_runtime_sets_int8_and_bf16_beside_fp32_on_the_same_tiles(tmp_path: Path) -> None:
    report = _run(
        "bench_runtime.py", "--models=fc_siam_diff", "--tile=128", "--batch=1", "--repeats=1", "--size=256",
        "--precisions=fp32,int8,bf16", "--whole-precisions=fp32", f"--workdir={tmp_path}",
    )  # fmt: skip
    figures = report["models"]["fc_siam_diff"]["precisions"]
    assert set(figures["seconds_per_tile"]) == {"fp32", "int8", "bf16"}
    for precision, speedup in figures["speedup_over_fp32_onnxruntime"].items():
        seconds = figures["seconds_per_tile"]
        assert speedup == pytest.approx(seconds["fp32"] / seconds[precision], rel=2e-2)
    assert figures["change_types_agreeing_with_fp32"]["fp32"] == 1.0
    assert all(0 <= share <= 1 for share in figures["change_types_agreeing_with_fp32"].values())
    assert set(figures["f1_of_change"]) == {"fp32", "int8", "bf16"}
    assert 0 <= figures["int8_guard"]["agreement"] <= 1 and isinstance(figures["int8_guard"]["passes"], bool)


def test_bench_cluster_reports_every_figure(tmp_path: Path) -> None:
    report = _run(
        "bench_cluster.py", "--pairs=2", "--size=256", "--mosaic=512", "--block=256", "--repeats=1",
        f"--workdir={tmp_path}",
    )  # fmt: skip
    one, on_one = report["one_process_s"], report["cluster_local1_s"]
    rounding = 0.005 * (1 / one + on_one / one**2) + 5e-4  # the times are printed to 0.01 s
    assert report["overhead"] == pytest.approx(on_one / one - 1, abs=rounding)
    assert set(report["pairs_per_minute"]) == {"one_process", "local1", "local2"}
    assert report["split_detect"]["blocks"] == 4 and report["split_detect"]["seconds_per_block_2_workers"] > 0


def test_bench_own_data_scores_every_held_out_city_with_the_model_and_the_baseline(tmp_path: Path) -> None:
    import numpy as np
    import rasterio

    from scd_core.cli import main

    for seed, city in enumerate(("alpha", "beta", "gamma")):
        folder = tmp_path / "cities" / city
        assert main(["synth", "geo", str(folder), "--size", "128", "--seed", str(seed), "--dtype", "uint16"]) == 0
        with rasterio.open(folder / "label1.tif") as label:
            values, profile = label.read(1), label.profile
        with rasterio.open(folder / "change.tif", "w", **profile) as out:
            out.write(np.where(values == 255, 255, values > 0).astype(np.uint8), 1)
    quick = ["--epochs", "1", "--chips", "8", "--chip-size", "64", "--batch-size", "4", "--encoder-weights", "none"]
    report = _run("bench_own_data.py", f"--root={tmp_path / 'cities'}", "--folds=3", "--", *quick)
    assert sorted(report["cities"]) == ["alpha", "beta", "gamma"]
    assert [fold["held_out"] for fold in report["folds"]] == [["alpha"], ["beta"], ["gamma"]]
    for city in report["cities"].values():
        assert 0 <= city["F1"] <= 1 and 0 <= city["cva"]["F1"] <= 1
    assert report["mean_F1"] == pytest.approx(np.mean([c["F1"] for c in report["cities"].values()]))
    assert report["target_mean_F1"] == 0.45


@pytest.mark.skipif(torch.cuda.is_available(), reason="the GPU's answer is make gpu-check's own, on a GPU")
def test_gpu_check_says_there_is_no_gpu_exits_0_and_keeps_no_file(tmp_path: Path) -> None:
    report = _run("gpu_check.py", f"--out={tmp_path / 'gpu.json'}")  # check=True: exit 0
    assert report["gpu"] is None and "no CUDA device" in report["reason"]
    assert not (tmp_path / "gpu.json").exists()
