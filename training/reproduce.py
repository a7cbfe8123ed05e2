"""Reproduce a paper's table: train every row in dependency order, score it in the three column groups,
write the table with the paper's figures beside ours.

    python -m training.reproduce --table {1,2,3,4,5,6,lsafnet,cdsc} --data ROOT --out DIR [--smoke] [--rows RUN ...]
    python -m training.reproduce --table 1 --data ROOT --out DIR --plan    # the training commands only

Rows are defined in ``training/tables/`` (:mod:`training.tables`). Each row's run folder is
``DIR/runs/<run>`` (:mod:`scd_core.trainer.run_folder`): a finished run is not trained again and a killed one
resumes, so re-running the command continues where it stopped; ASN-ATL rows start from their ASN
row's ``model.pt``. Every row is then scored on ROOT's val split (else its test split) without
test-time augmentation, with multi-scale testing and with multi-scale and flip testing
(:mod:`training.tta`); scores are cached beside each run (``eval/<group>.json``) until its model changes.
The table goes to ``DIR/table_<id>.md`` and ``DIR/table_<id>.json`` (:mod:`training.table_report`);
Table I's runs also give Table II (``DIR/table_2.*``), the categorical SeK of three of its rows.

``--smoke`` runs every row at toy size (:func:`scd_core.trainer.config.smoke`) and scores 3 pairs: the whole
pipeline in minutes on a CPU, for CI. ``--plan`` writes each row's config to ``DIR/runs/<run>/`` and
prints the training commands in order, to run them elsewhere (e.g. with ``torchrun`` on several GPUs);
a later ``reproduce`` finds them finished and only scores and tabulates.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from scd_core.atomic import atomic_write
from scd_core.cpu_memory import keep_freed_memory
from scd_core.errors import ScdInputError
from scd_core.trainer.run_folder import finished
from training.evaluate import evaluate_checkpoint
from training.table_report import categorical_data, categorical_markdown, table_data, table_markdown, write
from training.tables import TABLE_IDS, Row, Table, load_table, row_config, training_rows
from training.train import train
from training.tta import GROUPS

#: Pairs scored per column group in a smoke run.
SMOKE_PAIRS = 3


def _score(run_dir: Path, data: Path, group: str, limit: int | None, device: str) -> dict[str, Any]:
    """The run's scores under ``group``, from its cache when its model.pt has not changed since."""
    model = run_dir / "model.pt"
    cache = run_dir / "eval" / f"{group}.json"
    stamp = {"model_mtime_ns": model.stat().st_mtime_ns, "data": str(data), "limit": limit}
    if cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if all(cached.get(k) == v for k, v in stamp.items()):
            return cached
    confusion, pairs, _ = evaluate_checkpoint(model, data, group, device=device, limit=limit, progress=True)
    result = {**stamp, "pairs": pairs, **confusion.scores(), "matrix": confusion.from_to.tolist()}
    cache.parent.mkdir(exist_ok=True)
    with atomic_write(cache) as handle:
        json.dump(result, handle)
    return result


def _train_rows(
    source: Table, rows: list[Row], data: Path, runs: Path, smoke: bool, device: str, echo: Callable[[str], None]
) -> dict[str, str]:
    configs = {}
    for row in rows:
        config = row_config(source, row, data, runs, smoke)
        if device != "auto":
            config = replace(config, device=device)
        run_dir = runs / row.run
        configs[row.run] = str((run_dir / "config.yaml").relative_to(runs.parent))
        if finished(run_dir):
            echo(f"{row.run}: finished, not trained again")
            continue
        echo(f"{row.run}: training {row.method}" + (f" (from {row.after})" if row.after else ""))
        train(config, resume=(run_dir / "config.yaml").is_file(), echo=echo)
    return configs


def _note(table: Table, data: Path, results: dict[str, Any], smoke: bool) -> str:
    pairs = {r["pairs"] for run in results.values() for r in run.values()}
    convention = {
        "from_to": "from_to convention (37×37 from-to matrix: the ASN paper, SECOND's official scorer)",
        "per_date": "per_date convention (7×7 over both dates: the Bi-SRNet line of work)",
    }[table.convention]
    cells = "ours · paper" if table.id == "2" else "ours · paper · difference"
    counted = ", ".join(map(str, sorted(pairs)))
    text = f"{convention}. Cells: {cells}; a dash where there is no figure. Scored on {data} ({counted} pairs)."
    return text + (" Smoke run: toy-size models trained for 2 steps, not a reproduction." if smoke else "")


def reproduce(
    table_id: str,
    data: str | Path,
    out: str | Path,
    smoke: bool = False,
    selected: list[str] | None = None,
    device: str = "auto",
    echo: Callable[[str], None] = print,
) -> list[Path]:
    """Train, score and tabulate table ``table_id``; returns the files written."""
    data, out = Path(data), Path(out)
    table = load_table(table_id)
    if selected:
        unknown = set(selected) - {row.run for row in table.rows}
        if unknown:
            raise ScdInputError(f"--rows: {sorted(unknown)} are not runs of table {table_id}", table.path)
        table = replace(table, rows=tuple(r for r in table.rows if r.run in selected))
    source, rows = training_rows(table)
    runs = out / "runs"
    configs = _train_rows(source, rows, data, runs, smoke, device, echo)
    limit = SMOKE_PAIRS if smoke else None
    results = {row.run: {g: _score(runs / row.run, data, g, limit, device) for g in GROUPS} for row in table.rows}
    written = _write_table(table, results, configs, out, _note(table, data, results, smoke))
    if table.id == "1":  # Table II comes from Table I's runs
        second = load_table("2")
        if all(row.run in results for row in second.rows):
            written += _write_table(second, results, configs, out, _note(second, data, results, smoke))
    return written


def _write_table(table: Table, results: dict[str, Any], configs: dict[str, str], out: Path, note: str) -> list[Path]:
    if table.id == "2":
        data = categorical_data(table, results, configs)
        markdown = categorical_markdown(table, data, note)
    else:
        data = table_data(table, results, configs)
        markdown = table_markdown(table, data, note)
    paths = [out / f"table_{table.id}.md", out / f"table_{table.id}.json"]
    write(paths[0], markdown)
    write(paths[1], json.dumps(data, indent=1) + "\n")
    return paths


def plan(table_id: str, data: str | Path, out: str | Path, smoke: bool = False) -> list[str]:
    """Write every row's config into its run folder; returns the training commands, in order."""
    source, rows = training_rows(load_table(table_id))
    runs = Path(out) / "runs"
    commands = []
    for row in rows:
        config = row_config(source, row, data, runs, smoke)
        path = runs / row.run / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as handle:
            yaml.safe_dump(config.to_dict(), handle, sort_keys=False)
        commands.append(f"python -m training.train {path} --resume")
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, choices=TABLE_IDS, help="the table to reproduce")
    parser.add_argument("--data", required=True, help="dataset root (ROOT/train, ROOT/val or ROOT/test)")
    parser.add_argument("--out", required=True, help="output folder: runs/, table_<id>.md, table_<id>.json")
    parser.add_argument("--rows", nargs="+", metavar="RUN", help="only these rows (their run names)")
    parser.add_argument("--smoke", action="store_true", help="every row at toy size, in minutes on a CPU")
    parser.add_argument("--plan", action="store_true", help="write the rows' configs and print the commands")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:i")
    args = parser.parse_args(argv)
    keep_freed_memory()
    echo: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.plan:
            print("\n".join(plan(args.table, args.data, args.out, args.smoke)))
            return 0
        for path in reproduce(args.table, args.data, args.out, args.smoke, args.rows, args.device, echo):
            print(path)
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
