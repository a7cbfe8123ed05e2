"""The CPU runtime's cache of ONNX exports: a damaged file is exported again, an unwritable folder is
named, and either way the run goes on. Each run is a command of its own, as a user's runs are (a
process keeps the runner it made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
from detect_testing import run_scd, tiny_checkpoint

from scd_core.geo.rasters import fingerprint


def run(pair, ckpt: Path, out: Path) -> list[dict]:
    done = run_scd("detect", pair.before, pair.after, "-o", out, "--model", ckpt, "--device", "cpu",
                   "--runtime", "auto", "--tile", "128", "--mmu", "0", "--progress", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def said(events: list[dict], kind: str) -> list[str]:
    return [e["text"] for e in events if e["event"] == kind and "synthetic" not in e["text"]]


def change_map(out: Path) -> bytes:
    with rasterio.open(out / "change_type.tif") as dataset:
        return dataset.read(1).tobytes()


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_damaged_cached_export_is_exported_again_with_a_warning(tmp_path, collared, onnx_cache, damage):
    ckpt = tiny_checkpoint(tmp_path / f"{damage}.pt", seed=21 if damage == "truncated" else 22)
    events = run(collared, ckpt, tmp_path / "first")
    (cached,) = [Path(text.split("(")[-1].rstrip(")")) for text in said(events, "message") if "exported" in text]
    exported = cached.read_bytes()
    if damage == "truncated":  # a disk that filled up, a copy cut short: ONNX Runtime cannot read it
        cached.write_bytes(exported[: len(exported) // 2])
    else:  # bytes of the weights changed in place: it still loads, and would give other pixels
        middle = len(exported) // 2
        garbled = bytes(b ^ 0x5A for b in exported[middle : middle + 64])
        cached.write_bytes(exported[:middle] + garbled + exported[middle + 64 :])
    events = run(collared, ckpt, tmp_path / "second")
    (warning,) = [text for text in said(events, "warning") if "cached ONNX export" in text]
    assert f"the cached ONNX export {cached} is not the file that was checked" in warning
    assert "exported again" in warning
    assert change_map(tmp_path / "second") == change_map(tmp_path / "first")
    assert cached.read_bytes() == exported  # the export is deterministic: the same file again
    assert (cached.parent / f"{cached.name}.sha256").read_text().strip() == fingerprint(cached)
    events = run(collared, ckpt, tmp_path / "third")
    assert said(events, "warning") == [] and not [t for t in said(events, "message") if "exported" in t]


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_an_unwritable_cache_is_named_and_the_model_runs_in_torch(tmp_path, collared, monkeypatch, where):
    """Root ignores permission bits, so the folders here fail for everyone: a path through a regular
    file (ENOTDIR) and a pseudo file system that takes no new entry."""
    if where == "under a file":
        (tmp_path / "cache").write_text("a file, not a folder")
        folder = tmp_path / "cache" / "scd"
    else:
        folder = Path("/proc/scd-cache")
    monkeypatch.setenv("SCD_CACHE_DIR", str(folder))
    ckpt = tiny_checkpoint(tmp_path / "tiny.pt", seed=23)
    events = run(collared, ckpt, tmp_path / "out")
    (warning,) = said(events, "warning")
    assert warning.startswith(f"the ONNX cache folder {folder / 'onnx'} cannot be written (")
    assert "set SCD_CACHE_DIR to a folder you can write" in warning
    assert not any("does not export" in text for text in said(events, "message"))
    assert json.loads((tmp_path / "out" / "run.json").read_text())["options"]["runtime"] == "torch"
