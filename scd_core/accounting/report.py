"""``report.html``: one self-contained page of what a run found, for an analyst to read or send on.

Every run folder gets one (``scd detect`` writes it last), and ``scd report OUT_DIR`` rebuilds it
after ``scd assess`` or ``scd zones`` have added their results to the folder. The page stands alone:
the preview is inlined as a data URI, the flow diagram is inline SVG (:mod:`.flow`), the style is in
the page, and there is no script, so it opens offline, in any browser, from a mail attachment.

It shows, from the folder's files: the preview (``preview.png``); the change matrix as a table and a
from → to flow diagram, and each class's gains and losses (``summary.json``); the statistics by zone
(``zones.csv``) and the accuracy and area estimates (``assessment.json``) where they exist; and the
run's provenance (``run.json``).
"""

from __future__ import annotations

import base64
import csv
import json
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from scd_core.accounting.assessment import ASSESSMENT
from scd_core.accounting.components import COMPONENTS
from scd_core.accounting.flow import RGB, flow_svg
from scd_core.atomic import atomic_write
from scd_core.errors import ScdInputError
from scd_core.legend import spread_colours

REPORT = "report.html"
#: The run's files the page is made of (``zones.csv`` and ``assessment.json`` join it when they exist).
NEEDED = ("run.json", "summary.json", "preview.png")
#: Zones the page lists at most, the most changed first (zones.csv has them all).
ZONES_SHOWN = 100
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th:first-child, td:first-child, table.text td { text-align: left; } th { background: #f3f3f3; }
img { max-width: 100%; } .note { color: #666; font-size: 0.85em; } code { font-size: 0.9em; }
"""


def hectares(value: float | None) -> str:
    """Hectares as a table shows them: 2 decimals, 4 below 10 ha (a small AOI's changes are small)."""
    if value is None:
        return "—"
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.4f}"


def html_table(header: list[str], rows: list[list[Any]], kind: str = "numbers") -> str:
    """An HTML table; ``kind`` "text" aligns every cell left (numbers go right)."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{kind}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _class_colours(folder: Path, count: int) -> list[RGB]:
    """Each class's colour as the run's class maps have it (the legend's), else spread hues."""
    path = folder / "before_class.tif"
    if path.is_file():
        with rasterio.open(path) as dataset:
            colours = dataset.colormap(1)
        return [(colours[i][0], colours[i][1], colours[i][2]) for i in range(1, count + 1)]
    return spread_colours(count)


def _changes(folder: Path, summary: dict[str, Any]) -> str:
    """The matrix, the flow diagram, and the gains and losses; a change-only run's two areas."""
    if "from_to" not in summary:
        rows = [["changed", hectares(summary["changed_ha"])], ["unchanged", hectares(summary["unchanged_ha"])]]
        return "<h2>Change</h2>" + html_table(["", "hectares"], rows)
    names, matrix = summary["classes"], np.array(summary["from_to"])
    table = html_table(
        ["from \\ to (ha)", *names, "total"],
        [[n, *map(hectares, row), hectares(row.sum())] for n, row in zip(names, matrix, strict=True)]
        + [["total", *map(hectares, matrix.sum(axis=0)), hectares(matrix.sum())]],
    )
    flow = flow_svg(names, matrix, _class_colours(folder, len(names))) or '<p class="note">Nothing changed.</p>'
    components = [[n, *(hectares(summary["components"][n][c]) for c in COMPONENTS)] for n in names]
    totals = summary["totals"]
    components.append(
        [
            "all classes",
            hectares(totals["change"]),
            hectares(totals["change"]),
            "—",
            "—",
            hectares(totals["persistence"]),
        ]
    )
    return (
        f"<h2>Change matrix</h2><p>Hectares that changed from each class (rows, date 1) to each class "
        f"(columns, date 2); {hectares(summary['unchanged_ha'])} ha did not change.</p>{table}"
        f"<h2>From → to</h2>{flow}"
        "<h2>Gains and losses</h2>"
        + html_table(["class", *(f"{c.replace('_', ' ')} (ha)" for c in COMPONENTS)], components)
        + f'<p class="note">Pontius\' components. Of the total change, {hectares(totals["quantity"])} ha is net '
        f"(quantity) and {hectares(totals['swap'])} ha swap. A class's persistence is not known: the maps give a "
        "class only where the land changed; the last row's is the unchanged area.</p>"
    )


def _zones(path: Path) -> str:
    by_zone: dict[str, list[tuple[float, str]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_zone[row["zone"]].append((float(row["hectares"]), f"{row['from']} → {row['to']}"))
    ranked = sorted(by_zone.items(), key=lambda item: -sum(h for h, _ in item[1]))
    rows = [
        [zone, hectares(sum(h for h, _ in flows)), f"{max(flows)[1]} ({hectares(max(flows)[0])} ha)"]
        for zone, flows in ranked
    ]
    more = f"; the {len(rows) - ZONES_SHOWN} others are in zones.csv" if len(rows) > ZONES_SHOWN else ""
    return f"<h2>Change by zone</h2><p>{len(rows)} zones with change, the most changed first{more}.</p>" + html_table(
        ["zone", "changed (ha)", "largest change"], rows[:ZONES_SHOWN]
    )


def _assessment(estimates: dict[str, Any]) -> str:
    overall = estimates["overall_accuracy"]
    rows = [
        [
            name,
            sum(counts),
            hectares(estimates["mapped_area_ha"][name]),
            f"{hectares(estimates['area_ha'][name]['estimate'])} ± {hectares(estimates['area_ha'][name]['ci95'])}",
            *(
                f"{estimates[k][name]['estimate']:.3f} ± {estimates[k][name]['ci95']:.3f}"
                for k in ("users_accuracy", "producers_accuracy")
            ),
        ]
        for name, counts in zip(estimates["classes"], estimates["sample_counts"], strict=True)
    ]
    return (
        "<h2>Accuracy and areas</h2><p>From the labelled sample (Olofsson et al. 2014): overall accuracy "
        f"{overall['estimate']:.3f} ± {overall['ci95']:.3f}; intervals are 95 %.</p>"
        + html_table(
            ["stratum", "points", "mapped (ha)", "estimated (ha)", "user's accuracy", "producer's accuracy"], rows
        )
    )


def _provenance(run: dict[str, Any]) -> str:
    inputs = [[role, run["inputs"][role]["path"], run["inputs"][role]["sha256"]] for role in ("before", "after")]
    for role in ("before", "after"):
        if mask := run["inputs"][role].get("mask"):  # absent from the run.json of a run before masks
            share = "" if mask["masked_share"] is None else f" ({mask['masked_share']:.1%} masked)"
            inputs.append([f"{role} mask{share}", mask["path"], mask["sha256"]])
    inputs.append(["model", f"{run['model']['name']}: {run['model']['checkpoint']}", run["model"]["sha256"]])
    options = [[k, json.dumps(v)] for k, v in run["options"].items()]
    software = ", ".join(f"{k} {v}" for k, v in run["software"].items())
    timings = ", ".join(f"{k} {v} s" for k, v in run["timings_s"].items())
    messages = "".join(f"<li>{escape(m)}</li>" for m in run.get("messages", []))
    return (
        "<h2>Provenance</h2>"
        + html_table(["", "file", "sha256"], inputs, "text")
        + html_table(["option", "value"], options, "text")
        + f'<p class="note">Software: {escape(software)}.<br>Timings: {escape(timings)}.</p>'
        + (f'<ul class="note">{messages}</ul>' if messages else "")
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise ScdInputError(f"cannot read {path.name} ({error})", path) from None


def report_page(folder: str | Path) -> str:
    """The page of the run folder ``folder`` (see the module docstring)."""
    folder = Path(folder)
    run, summary = _read_json(folder / "run.json"), _read_json(folder / "summary.json")
    preview = base64.b64encode((folder / "preview.png").read_bytes()).decode("ascii")
    before, after = (Path(run["inputs"][role]["path"]).name for role in ("before", "after"))
    sections = [
        f"<h1>Changes from {escape(before)} to {escape(after)}</h1>",
        (
            f"<p>scd {escape(run['software']['scd'])}, model {escape(run['model']['name'])}, "
            f"{run['grid']['width']}×{run['grid']['height']} pixels on {escape(str(run['grid']['crs']))}.</p>"
        ),
        f'<h2>Preview</h2><img alt="before, after and the change map" src="data:image/png;base64,{preview}">',
        _changes(folder, summary),
    ]
    if (folder / "zones.csv").is_file():
        sections.append(_zones(folder / "zones.csv"))
    if (folder / ASSESSMENT).is_file():
        sections.append(_assessment(_read_json(folder / ASSESSMENT)))
    sections.append(_provenance(run))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>scd: {escape(before)} → '
        f"{escape(after)}</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )


def write_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """Write the page of the run folder ``folder`` to ``path`` (default: its :data:`REPORT`), whole."""
    folder = Path(folder)
    for name in NEEDED:
        if not (folder / name).is_file():
            raise ScdInputError(f"no {name}: give the output folder of scd detect", folder)
    target = Path(path) if path is not None else folder / REPORT
    page = report_page(folder)
    with atomic_write(target) as handle:
        handle.write(page)
    return target
