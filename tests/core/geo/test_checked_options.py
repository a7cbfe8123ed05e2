"""Options checked once travel as one :class:`DetectOptions`: ``run_detection`` takes them as they are,
and runs the detection ``scd_core.detect(**options)`` runs."""

from __future__ import annotations

import json

from detect_testing import tiny_checkpoint

import scd_core
from scd_core.geo.options import DetectOptions
from scd_core.geo.pipeline import run_detection
from scd_core.synth import write_geo_pair

FAST = {"tile": 128, "overlap": 32, "device": "cpu", "mmu": 0}


def test_checked_options_run_the_detection_the_api_runs(tmp_path) -> None:
    pair = write_geo_pair(tmp_path / "pair", 192, seed=3)
    model = tiny_checkpoint(tmp_path / "tiny.pt", seed=7)
    events: list[dict] = []
    api = scd_core.detect(pair.before, pair.after, model, tmp_path / "api", **FAST)
    checked = run_detection(pair.before, pair.after, model, tmp_path / "checked", DetectOptions(**FAST), events.append)
    assert checked.counts == api.counts and events[-1]["event"] == "done"
    records = [json.loads((result.out_dir / "run.json").read_text()) for result in (api, checked)]
    assert records[0]["request"] == records[1]["request"] and records[0]["options"] == records[1]["options"]
    for name in ("change_type", "change_prob"):
        assert api.outputs[name].read_bytes() == checked.outputs[name].read_bytes()
