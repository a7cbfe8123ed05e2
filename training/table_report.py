"""``table_<id>.md`` and ``table_<id>.json``: our scores laid out like the paper's table, its figures beside them.

Our figures and the paper's come from different images: the paper scores SECOND's 1,694 test pairs,
whose labels are not public, and ours are scored on the data's val (else test) split. The effects the
ASN paper's tables test are small (ATL +0.3 to +0.6, aSP +0.2 to +0.6, aRP +0.8), of the order of what
another training seed moves. So each row is trained with seeds 0..K-1 and every cell reads
``mean ± sd · paper · difference`` (:func:`cell`, :func:`cell_text`): sd is the sample standard deviation
over the seeds, and the difference (mean - paper) is shown only where it exceeds twice the sd; otherwise
the cell says "within noise". The sd is training noise alone: it cannot account for the different test
images, so a difference beyond noise is one worth examining, not proof of a better or worse method.
With one seed the spread is unknown: the cell reads ``ours · paper · difference`` and its verdict is
"noise unknown". A dash stands for a figure the paper does not give (or we have none).

The JSON holds, per row, the method, encoder, the seeds and each seed's config, every seed's scores in
both conventions by name (``per_date``, ``from_to``: ``{group: {metric: [one value per seed]}}``), the
paper's figures (``paper``) and, in the table's convention, each cell (``scores``:
``{group: {metric: {"values", "mean", "sd", "paper", "difference", "verdict"}}}``) for every column group
(plain, ms, ms_flip) and metric (mIoU, SeK, Fscd, OA). Table II's rows hold, per group, a 6×6 matrix of
such cells of categorical SeK and cells for IoU_1 and IoU_2.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
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
#: results[run][seed][group] = {"per_date": scores, "from_to": scores, "matrix": from-to matrix, "pairs": n}
Results = Mapping[str, Mapping[int, Mapping[str, Mapping[str, Any]]]]
#: configs[run][seed] = the seed's config.yaml, relative to the output folder
Configs = Mapping[str, Mapping[int, str]]
#: A cell's verdicts on its difference from the paper.
BEYOND, WITHIN, UNKNOWN = "beyond noise", "within noise", "noise unknown"


def verdict(difference: float | None, sd: float | None) -> str | None:
    """What ``difference`` from the paper can mean given the seeds' ``sd`` (None: no difference)."""
    if difference is None:
        return None
    if sd is None:
        return UNKNOWN
    return BEYOND if abs(difference) > 2 * sd else WITHIN


def cell(values: Sequence[float | None], paper: float | None) -> dict[str, Any]:
    """One metric of one row over its seeds (None where a seed has no figure), beside the paper's."""
    present = [v for v in values if v is not None]
    mean = statistics.fmean(present) if present else None
    sd = statistics.stdev(present) if len(present) > 1 else None
    difference = None if mean is None or paper is None else mean - paper
    return {
        "values": list(values),
        "mean": mean,
        "sd": sd,
        "paper": paper,
        "difference": difference,
        "verdict": verdict(difference, sd),
    }


def cell_text(stats: Mapping[str, Any]) -> str:
    """``mean ± sd · paper · difference`` or ``… · within noise`` (one seed: ``ours · paper · difference``);
    a dash for a figure missing."""
    if stats["mean"] is None:
        return "–" if stats["paper"] is None else f"– · {stats['paper']:.1f}"
    ours = f"{stats['mean']:.1f}" + ("" if stats["sd"] is None else f" ± {stats['sd']:.1f}")
    if stats["paper"] is None:
        return f"{ours} · –"
    shown = WITHIN if stats["verdict"] == WITHIN else f"{stats['difference']:+.1f}"
    return f"{ours} · {stats['paper']:.1f} · {shown}"


def _paper(row: Row, table: Table) -> dict[str, dict[str, float]]:
    return {group: dict(zip(table.metrics, values, strict=True)) for group, values in row.paper.items()}


def table_data(table: Table, results: Results, configs: Configs) -> dict[str, Any]:
    """The JSON of a table of scores (Tables I, III-VI, LSAFNet's, CdSC's)."""
    rows = []
    for row in table.rows:
        seeds = results.get(row.run, {})
        groups = [g for g in GROUPS if all(g in seeds[s] for s in seeds)] if seeds else []
        by_convention = {
            convention: {g: {k: [seeds[s][g][convention][k] for s in sorted(seeds)] for k in REPORTED} for g in groups}
            for convention in ("per_date", "from_to")
        }
        paper = _paper(row, table)
        cells = {
            g: {k: cell(values, paper.get(g, {}).get(k)) for k, values in metrics.items()}
            for g, metrics in by_convention[table.convention].items()
        }
        rows.append(
            {
                "method": row.method,
                "encoder": row.encoder,
                "run": row.run,
                "seeds": sorted(seeds),
                "configs": [configs.get(row.run, {}).get(s) for s in sorted(seeds)],
                "scores": cells,
                **by_convention,
                "paper": paper,
            }
        )
    return {"table": table.id, "title": table.title, "convention": table.convention, "rows": rows}


def table_markdown(table: Table, data: Mapping[str, Any], note: str) -> str:
    """The Markdown of :func:`table_data`'s result."""
    columns = [(group, metric) for group in GROUPS for metric in table.metrics]
    header = "| method | encoder | " + " | ".join(f"{g} {m}" for g, m in columns) + " |"
    lines = [f"# {table.title}", "", note, "", header, "|---|---|" + "---:|" * len(columns)]
    for row in data["rows"]:
        missing = cell([], None)
        cells = [cell_text(row["scores"].get(group, {}).get(metric, missing)) for group, metric in columns]
        lines.append(f"| {row['method']} | {row['encoder'] or '-'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _categorical_matrix(matrix: np.ndarray, classes: tuple[str, ...]) -> list[list[float | None]]:
    """Our categorical SeK in the paper's class order (rows: from, columns: to)."""
    names = SECOND.class_names()
    order = [names.index(name) for name in classes]
    sek = categorical_sek(matrix)
    n = SECOND.num_classes
    return [[sek[1 + n * (a - 1) + (b - 1)]["SeK"] for b in order] for a in order]


def _categorical(matrix: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    binary = scores(matrix)
    return {"matrix": _categorical_matrix(matrix, classes), "IoU_1": binary["IoU_nc"], "IoU_2": binary["IoU_c"]}


def categorical_data(table: Table, results: Results, configs: Configs) -> dict[str, Any]:
    """The JSON of Table II: per run and column group, the categorical SeK matrix and IoU_1, IoU_2, each
    figure a :func:`cell` over the run's seeds."""
    size = range(len(table.classes))
    rows = []
    for row in table.rows:
        seeds = results.get(row.run, {})
        groups = [g for g in GROUPS if all(g in seeds[s] for s in seeds)] if seeds else []
        ours = {}
        for group in groups:
            each = [_categorical(np.asarray(seeds[s][group]["matrix"]), table.classes) for s in sorted(seeds)]
            paper = row.paper.get(group) or {"matrix": [[None] * len(size)] * len(size)}
            ours[group] = {
                "matrix": [
                    [cell([e["matrix"][i][j] for e in each], paper["matrix"][i][j]) for j in size] for i in size
                ],
                **{k: cell([e[k] for e in each], paper.get(k)) for k in ("IoU_1", "IoU_2")},
            }
        rows.append(
            {
                "method": row.method,
                "run": row.run,
                "seeds": sorted(seeds),
                "configs": [configs.get(row.run, {}).get(s) for s in sorted(seeds)],
                "scores": ours,
                "paper": row.paper,
            }
        )
    return {
        "table": table.id,
        "title": table.title,
        "convention": table.convention,
        "classes": list(table.classes),
        "rows": rows,
    }


def categorical_markdown(table: Table, data: Mapping[str, Any], note: str) -> str:
    """Table II as Markdown: one matrix per method and column group, cells as :func:`cell_text`."""
    lines = [f"# {table.title}", "", note, ""]
    for row in data["rows"]:
        for group, ours in row["scores"].items():
            lines += [f"## {row['method']}, {group}", "", "| from \\ to | " + " | ".join(table.classes) + " |"]
            lines.append("|---|" + "---:|" * len(table.classes))
            for name, cells in zip(table.classes, ours["matrix"], strict=True):
                lines.append(f"| {name} | " + " | ".join(map(cell_text, cells)) + " |")
            lines += ["", f"IoU_1 {cell_text(ours['IoU_1'])}, IoU_2 {cell_text(ours['IoU_2'])}", ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    """``text`` into ``path``, atomically."""
    with atomic_write(path) as handle:
        handle.write(text)
