"""The worker protocol's typed events: each builder's event parses, a broken one is refused, the
commands' JSON lines are all events of the definitions, and no module builds one by hand."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from detect_testing import REPO, run_scd

from scd_core import events

BUILT = [
    events.start(9, "/out", 256, 256, "EPSG:32633"),
    events.progress(3, 9),
    events.message("AFTER is resampled"),
    events.warning("trained on synthetic scenes"),
    events.done({"changes": "/out/changes.gpkg"}, {"features": 3, "changed_pixels": 40}),
    events.error("no CRS", "/in/a.tif"),
    events.error("interrupted", cancelled=True),
    events.pair("p1", "done", 2.5, 12, ""),
    events.batch(1, 0, 0),
    events.epoch(1, 12, 0.42, {"from_to": {"SeK": 12.0}}),
    events.series({"change_count": "/out/change_count.tif"}, [{"code": 1, "label": "1 → 2", "folder": "1_2"}]),
]


@pytest.mark.parametrize("event", BUILT, ids=lambda event: event["event"])
def test_every_builders_event_parses_as_it_was_built(event):
    assert events.parse(json.dumps(event)) == event
    assert set(event) == {"event", *events.KEYS[event["event"]]}


def test_the_start_event_carries_the_protocols_version():
    assert events.start(1, "/o", 1, 1, "EPSG:4326")["protocol"] == events.PROTOCOL


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"event": "progress", "done": 3}', "without 'total'"),
        ('{"event": "progress", "done": "3", "total": 9}', "whose 'done' is '3'"),
        ('{"event": "error", "text": "x", "path": null, "cancelled": 1}', "whose 'cancelled' is 1"),
        ('{"event": "progress", "done": true, "total": 9}', "whose 'done' is True"),
    ],
)
def test_an_event_that_breaks_its_definition_is_refused(line, problem):
    with pytest.raises(events.ProtocolError, match=problem):
        events.parse(line)


@pytest.mark.parametrize("line", ["Downloading...", "[1, 2]", '{"text": "no kind"}', ""])
def test_a_line_that_is_no_event_is_none(line):
    assert events.parse(line) is None


def test_an_event_of_a_later_minor_version_is_read_as_it_is():
    assert events.parse('{"event": "mosaic", "date": "2024"}') == {"event": "mosaic", "date": "2024"}


@pytest.mark.parametrize(
    ("protocol", "problem"),
    [
        (events.PROTOCOL, None),
        (f"{events.PROTOCOL.split('.')[0]}.9", None),
        ("1.0", f"The backend speaks protocol 1.0, older than this plugin's {events.PROTOCOL}"),
        ("3.1", f"The backend speaks protocol 3.1, newer than this plugin's {events.PROTOCOL}"),
    ],
)
def test_another_major_version_is_a_problem(protocol, problem):
    start = {**events.start(1, "/o", 1, 1, "EPSG:4326"), "protocol": protocol}
    assert events.protocol_problem(start) == problem


def test_a_backend_before_the_protocol_had_a_version_is_an_older_major():
    start = {"event": "start", "total": 1, "out_dir": "/o", "width": 1, "height": 1, "crs": "EPSG:4326"}
    assert "protocol 1.0, older" in (events.protocol_problem(start) or "")  # type: ignore[arg-type]
    with pytest.raises(events.ProtocolError, match=r"protocol 1\.0, older than"):
        events.parse(json.dumps(start))


def test_the_commands_json_lines_are_all_events_of_the_definitions(tmp_path, collared, ckpt):
    common = ["--model", ckpt, "--tile", "128", "--progress", "json"]
    detect = run_scd("detect", collared.before, collared.after, "-o", tmp_path / "one", *common)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"id,before,after\nonly,{collared.before},{collared.after}\n")
    batch = run_scd("batch", pairs, "-o", tmp_path / "batch", *common)
    failed = run_scd("detect", tmp_path / "missing.tif", collared.after, "-o", tmp_path / "two", *common)
    for run, code in ((detect, 0), (batch, 0), (failed, 2)):
        assert run.returncode == code, run.stderr
        parsed = [events.parse(line) for line in run.stdout.splitlines()]
        assert parsed and all(event is not None for event in parsed)
    kinds = [event["event"] for event in map(events.parse, batch.stdout.splitlines()) if event]
    assert kinds[0] == "start" and kinds[-2:] == ["pair", "batch"]


def _hand_built_events(path: Path) -> list[int]:
    """Lines of ``path`` with a dict display whose keys include ``"event"``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and any(isinstance(key, ast.Constant) and key.value == "event" for key in node.keys)
    ]


def test_every_emitter_uses_the_builders():
    sources = [*(REPO / "scd_core").rglob("*.py"), *(REPO / "training").rglob("*.py")]
    found = {
        str(path.relative_to(REPO)): lines
        for path in sources
        if path.name != "events.py" and (lines := _hand_built_events(path))
    }
    assert found == {}
