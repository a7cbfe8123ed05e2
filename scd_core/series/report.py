"""The series' ``report.html``: the periods, what changed in each, and a link to each pair's own page.

It is made in the style of a run's page (:mod:`scd_core.accounting.report`), and like it stands
alone: no script, nothing fetched; the pairs' pages are linked by their relative paths.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from html import escape
from pathlib import Path

from scd_core.accounting.report import REPORT, STYLE, hectares, html_table
from scd_core.series.periods import Period


def _periods(periods: Sequence[Period], changed: dict[str, float], out_dir: Path) -> str:
    rows = []
    for p in periods:
        page = f"{p.folder}/{REPORT}"
        link = f'<a href="{escape(page)}">{escape(p.folder)}</a>' if (out_dir / page).is_file() else escape(p.folder)
        rows.append(
            f"<tr><td>{p.number}</td><td>{escape(p.start.date)}</td><td>{escape(p.end.date)}</td>"
            f"<td>{hectares(changed.get(p.folder))}</td><td>{link}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("code", "from", "to", "changed (ha)", "pair"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def series_page(out_dir: Path, tables: Path, periods: Sequence[Period], pairing: str, dates_from: str) -> str:
    """The page of a series in ``out_dir`` whose ``series.csv`` and ``periods.csv`` are in ``tables``."""
    with open(tables / "periods.csv", newline="", encoding="utf-8") as handle:
        changed = {row["folder"]: float(row["changed_ha"]) for row in csv.DictReader(handle)}
    with open(tables / "series.csv", newline="", encoding="utf-8") as handle:
        flows = [
            [row["period"], f"{row['from_class']} → {row['to_class']}" if row["to_class"] else "change",
             hectares(float(row["hectares"]))]
            for row in csv.DictReader(handle)
        ]  # fmt: skip
    dates = len({d for p in periods for d in (p.start.date, p.end.date)})
    sections = [
        f"<h1>Changes over {dates} dates</h1>",
        (
            f"<p>{len(periods)} periods ({escape(pairing)} pairs); {escape(dates_from)}. Each pixel's number of "
            "periods with change and the period it first and last changed in are change_count.tif, "
            "first_change.tif and last_change.tif, on the first raster's grid; every pair's polygons are "
            "series.gpkg.</p>"
        ),
        "<h2>Periods</h2>",
        _periods(periods, changed, out_dir),
        "<h2>Change by period</h2><p>Hectares of each from → to change (the pairs' polygons).</p>",
        html_table(["period", "change", "hectares"], flows) if flows else '<p class="note">Nothing changed.</p>',
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>scd: series of {dates} dates'
        f"</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
