"""Reproduce a paper's table: train every row in dependency order, score it in the three column groups,
write the table with the paper's figures beside ours.

    python -m training.reproduce --table {1,2,3,4,5,6,lsafnet,cdsc} --data ROOT --out DIR [--smoke] [--rows RUN ...]
        [--seeds K]
    python -m training.reproduce --table 1 --data ROOT --out DIR --plan    # the training commands only

Rows are defined in ``training/tables/`` (:mod:`training.tables`). ``--seeds K`` trains each row with
seeds 0..K-1 (default 1: seed 0), seed by seed, so that a whole table of seed 0 comes first. Each row's
run folder is ``DIR/runs/<run>`` for seed 0 and ``DIR/runs/<run>-seed<s>`` for seed s
(:func:`training.tables.seed_run`, :mod:`scd_core.trainer.run_folder`): a finished run is not trained
again and a killed one resumes, so re-running the command, or re-running it with more seeds, continues
where it stopped; an ASN-ATL row starts from its ASN row's ``model.pt`` of the same seed. Every run is
then scored on ROOT's val split (else its test split) without test-time augmentation, with multi-scale
testing and with multi-scale and flip testing (:mod:`training.tta`); scores are cached beside each run
(``eval/<group>.json``) until its model changes. The table goes to ``DIR/table_<id>.md`` and
``DIR/table_<id>.json`` (:mod:`training.table_report`: each cell is the mean ± standard deviation over
the seeds, and its difference from the paper is shown only where it exceeds twice the sd); Table I's
runs also give Table II (``DIR/table_2.*``), the categorical SeK of three of its rows.

``--smoke`` runs every row at toy size (:func:`scd_core.trainer.config.smoke`) and scores 3 pairs: the whole
pipeline in minutes on a CPU, for CI. ``--plan`` writes each run's config to its run folder and
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
from training.datasets import LAYOUTS, find_split, validation_split
from training.evaluate import evaluate_checkpoint
from training.table_report import (
    Configs,
    Results,
    categorical_data,
    categorical_markdown,
    table_data,
    table_markdown,
    write,
)
from training.tables import TABLE_IDS, Row, Table, load_table, row_config, seed_run, training_rows
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
    source: Table,
    rows: list[Row],
    data: Path,
    runs: Path,
    smoke: bool,
    seeds: int,
    device: str,
    echo: Callable[[str], None],
) -> Configs:
    """Train ``rows`` with seeds 0..seeds-1, seed by seed; returns each run's config.yaml by row and seed."""
    configs: dict[str, dict[int, str]] = {row.run: {} for row in rows}
    for seed in range(seeds):
        for row in rows:
            config = row_config(source, row, data, runs, smoke, seed)
            if device != "auto":
                config = replace(config, device=device)
            run_dir = Path(config.out)
            configs[row.run][seed] = str((run_dir / "config.yaml").relative_to(runs.parent))
            if finished(run_dir):
                echo(f"{run_dir.name}: finished, not trained again")
                continue
            echo(
                f"{run_dir.name}: training {row.method}" + (f" (from {seed_run(row.after, seed)})" if row.after else "")
            )
            train(config, resume=(run_dir / "config.yaml").is_file(), echo=echo)
    return configs


def _note(table: Table, scored: str, results: Results, smoke: bool) -> str:
    """The table's header: its convention, the split scored and what its cells can say."""
    pairs = {r["pairs"] for run in results.values() for seed in run.values() for r in seed.values()}
    seeds = max((len(run) for run in results.values()), default=1)
    convention = {
        "from_to": "from_to convention (37×37 from-to matrix: the ASN paper, SECOND's official scorer)",
        "per_date": "per_date convention (7×7 over both dates: the Bi-SRNet line of work)",
    }[table.convention]
    counted = ", ".join(map(str, sorted(pairs)))
    split = (
        f"Scored on {counted} pairs of {scored}, not on the paper's test split: SECOND's 1,694 test label pairs "
        "are not public, so ours and the paper's figures come from different images."
    )
    if seeds == 1:
        cells = (
            "Cells: ours · paper · difference, from one seed (seed 0): the noise is unknown, so no difference "
            "can be told from it (--seeds K trains K seeds)."
        )
    else:
        cells = (
            f"Cells: mean ± sd over seeds 0-{seeds - 1} · paper · difference, the difference shown only where it "
            "exceeds twice the sd, else 'within noise' (the sd is training noise; it does not cover the "
            "different test images). A cell without ± has one seed with a figure."
        )
    text = f"{convention}. {split} {cells} A dash where there is no figure."
    return text + (" Smoke run: toy-size models trained for 2 steps, not a reproduction." if smoke else "")


def reproduce(
    table_id: str,
    data: str | Path,
    out: str | Path,
    smoke: bool = False,
    selected: list[str] | None = None,
    device: str = "auto",
    echo: Callable[[str], None] = print,
    seeds: int = 1,
) -> list[Path]:
    """Train each row of table ``table_id`` with ``seeds`` seeds, score and tabulate; returns the files written."""
    data, out = Path(data), Path(out)
    _check_seeds(seeds)
    table = load_table(table_id)
    if selected:
        unknown = set(selected) - {row.run for row in table.rows}
        if unknown:
            raise ScdInputError(f"--rows: {sorted(unknown)} are not runs of table {table_id}", table.path)
        table = replace(table, rows=tuple(r for r in table.rows if r.run in selected))
    source, rows = training_rows(table)
    runs = out / "runs"
    configs = _train_rows(source, rows, data, runs, smoke, seeds, device, echo)
    limit = SMOKE_PAIRS if smoke else None
    results = {
        row.run: {
            s: {g: _score(runs / seed_run(row.run, s), data, g, limit, device) for g in GROUPS} for s in range(seeds)
        }
        for row in table.rows
    }
    scored = _scored_split(source, rows[0], data, runs)
    written = _write_table(table, results, configs, out, _note(table, scored, results, smoke))
    if table.id == "1":  # Table II comes from Table I's runs
        second = load_table("2")
        if all(row.run in results for row in second.rows):
            written += _write_table(second, results, configs, out, _note(second, scored, results, smoke))
    return written


def _scored_split(source: Table, row: Row, data: Path, runs: Path) -> str:
    """The split the rows are scored on, in words: ``evaluate_checkpoint``'s choice
    (:func:`training.datasets.validation_split`: val, else test, else ROOT itself)."""
    layout = LAYOUTS[row_config(source, row, data, runs).dataset]
    split = validation_split(layout, data)
    if split is None:
        raise ScdInputError("no val or test split to score the rows on", data)
    name = next((n for n in ("val", "test") if find_split(layout, data, n) == split), None)
    return f"the {name} split ({split.root})" if name else str(split.root)


def _write_table(table: Table, results: Results, configs: Configs, out: Path, note: str) -> list[Path]:
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


def plan(table_id: str, data: str | Path, out: str | Path, smoke: bool = False, seeds: int = 1) -> list[str]:
    """Write every run's config into its run folder, seed by seed; returns the training commands, in order."""
    _check_seeds(seeds)
    source, rows = training_rows(load_table(table_id))
    runs = Path(out) / "runs"
    commands = []
    for seed in range(seeds):
        for row in rows:
            config = row_config(source, row, data, runs, smoke, seed)
            path = Path(config.out) / "config.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path) as handle:
                yaml.safe_dump(config.to_dict(), handle, sort_keys=False)
            commands.append(f"python -m training.train {path} --resume")
    return commands


def _check_seeds(seeds: int) -> None:
    if seeds < 1:
        raise ScdInputError(f"--seeds takes a whole number of at least 1, got {seeds}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, choices=TABLE_IDS, help="the table to reproduce")
    parser.add_argument("--data", required=True, help="dataset root (ROOT/train, ROOT/val or ROOT/test)")
    parser.add_argument("--out", required=True, help="output folder: runs/, table_<id>.md, table_<id>.json")
    parser.add_argument("--rows", nargs="+", metavar="RUN", help="only these rows (their run names)")
    parser.add_argument("--smoke", action="store_true", help="every row at toy size, in minutes on a CPU")
    parser.add_argument("--plan", action="store_true", help="write the rows' configs and print the commands")
    parser.add_argument("--seeds", type=int, default=1, metavar="K", help="train each row with seeds 0..K-1")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:i")
    args = parser.parse_args(argv)
    keep_freed_memory()
    echo: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.plan:
            print("\n".join(plan(args.table, args.data, args.out, args.smoke, args.seeds)))
            return 0
        for path in reproduce(args.table, args.data, args.out, args.smoke, args.rows, args.device, echo, args.seeds):
            print(path)
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
