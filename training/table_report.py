"""``table_<id>.md`` and ``table_<id>.json``: our scores laid out like the paper's table, its figures beside them.

Each cell of the Markdown table reads ``ours · paper · difference`` for one metric of one column group
(plain, ms, ms_flip), in the table's convention; a dash stands for a figure the paper does not give.
The JSON holds, per row, the method, encoder, the run's config, our scores in the table's convention
(``scores``) and in both conventions by name (``per_date``, ``from_to``), and the paper's figures, for
every column group: ``{"plain": {"mIoU", "SeK", "Fscd", "OA"}, "ms": {...}, "ms_flip": {...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scd_core.atomic import atomic_write
from scd_core.labels import SECOND
from scd_core.metrics import categorical_sek, scores
from training.tables import Row, Table
from training.tta import GROUPS

#: The scores a table row reports, in this order.
REPORTED = ("mIoU", "SeK", "Fscd", "OA")
#: results[run][group] = {"per_date": scores, "from_to": scores, "matrix": from-to matrix, "pairs": n}
Results = Mapping[str, Mapping[str, Mapping[str, Any]]]


def _paper(row: Row, table: Table) -> dict[str, dict[str, float]]:
    return {group: dict(zip(table.metrics, values, strict=True)) for group, values in row.paper.items()}


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cell(ours: float | None, paper: float | None) -> str:
    if ours is None:
        return "–"
    if paper is None:
        return f"{ours:.1f} · –"
    return f"{ours:.1f} · {paper:.1f} · {ours - paper:+.1f}"


def table_data(table: Table, results: Results, configs: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of a table of scores (Tables I, III-VI, LSAFNet's, CdSC's)."""
    rows = []
    for row in table.rows:
        run = results.get(row.run, {})
        by_convention = {
            convention: {g: {k: run[g][convention][k] for k in REPORTED} for g in GROUPS if g in run}
            for convention in ("per_date", "from_to")
        }
        rows.append(
            {
                "method": row.method,
                "encoder": row.encoder,
                "run": row.run,
                "config": configs.get(row.run),
                "scores": by_convention[table.convention],
                **by_convention,
                "paper": _paper(row, table),
            }
        )
    return {"table": table.id, "title": table.title, "convention": table.convention, "rows": rows}


def table_markdown(table: Table, data: Mapping[str, Any], note: str) -> str:
    """The Markdown of :func:`table_data`'s result."""
    columns = [(group, metric) for group in GROUPS for metric in table.metrics]
    header = "| method | encoder | " + " | ".join(f"{g} {m}" for g, m in columns) + " |"
    lines = [f"# {table.title}", "", note, "", header, "|---|---|" + "---:|" * len(columns)]
    for row in data["rows"]:
        cells = [
            _cell(row["scores"].get(group, {}).get(metric), row["paper"].get(group, {}).get(metric))
            for group, metric in columns
        ]
        lines.append(f"| {row['method']} | {row['encoder'] or '-'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _categorical_matrix(matrix: np.ndarray, classes: tuple[str, ...]) -> list[list[float | None]]:
    """Our categorical SeK in the paper's class order (rows: from, columns: to)."""
    names = SECOND.class_names()
    order = [names.index(name) for name in classes]
    sek = categorical_sek(matrix)
    n = SECOND.num_classes
    return [[sek[1 + n * (a - 1) + (b - 1)]["SeK"] for b in order] for a in order]


def categorical_data(table: Table, results: Results, configs: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of Table II: per run and column group, the categorical SeK matrix and IoU_1, IoU_2."""
    rows = []
    for row in table.rows:
        ours = {}
        for group, result in results.get(row.run, {}).items():
            matrix = np.asarray(result["matrix"])
            binary = scores(matrix)
            ours[group] = {
                "matrix": _categorical_matrix(matrix, table.classes),
                "IoU_1": binary["IoU_nc"],
                "IoU_2": binary["IoU_c"],
            }
        rows.append(
            {"method": row.method, "run": row.run, "config": configs.get(row.run), "scores": ours, "paper": row.paper}
        )
    return {
        "table": table.id,
        "title": table.title,
        "convention": table.convention,
        "classes": list(table.classes),
        "rows": rows,
    }


def categorical_markdown(table: Table, data: Mapping[str, Any], note: str) -> str:
    """Table II as Markdown: one matrix per method and column group, cells ``ours · paper``."""
    lines = [f"# {table.title}", "", note, ""]
    for row in data["rows"]:
        for group in GROUPS:
            ours, paper = row["scores"].get(group), row["paper"].get(group)
            if ours is None:
                continue
            lines += [f"## {row['method']}, {group}", "", "| from \\ to | " + " | ".join(table.classes) + " |"]
            lines.append("|---|" + "---:|" * len(table.classes))
            for i, name in enumerate(table.classes):
                cells = []
                for j in range(len(table.classes)):
                    value, published = ours["matrix"][i][j], paper["matrix"][i][j] if paper else None
                    cells.append(
                        ("–" if value is None else f"{value:.1f}")
                        + " · "
                        + ("–" if published is None else f"{published:.1f}")
                    )
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            published = f" (paper {paper['IoU_1']:.1f}, {paper['IoU_2']:.1f})" if paper else ""
            lines += ["", f"IoU_1 {ours['IoU_1']:.1f}, IoU_2 {ours['IoU_2']:.1f}{published}", ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    """``text`` into ``path``, atomically."""
    with atomic_write(path) as handle:
        handle.write(text)
