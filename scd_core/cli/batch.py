"""``scd batch PAIRS.csv -o OUT_ROOT [--cluster SPEC] [...]``: ``scd detect`` over many pairs.

The batch's rules are :mod:`scd_core.batch`'s. With ``--progress json`` stdout carries each pair's
detect events with an added ``"pair"`` key (one process only), one ``pair`` event per pair, then a
``batch`` event (:mod:`scd_core.events`). With ``--cluster`` the pairs run on Dask workers
(:mod:`scd_core.cluster`).

Exit code: 0 when every pair is done or skipped, 1 when at least one failed, 2 for a bad PAIRS.csv or
option, 130/143 when interrupted (the pairs in progress leave nothing behind).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scd_core import events
from scd_core.batch.pairs import Pair, read_pairs
from scd_core.batch.runs import REPORT, Outcome, counts, run_pair, sweep_staging, table, write_report
from scd_core.cli.arguments import detect_options
from scd_core.cli.detect import (
    EXIT_TERMINATED,
    Terminated,
    add_detection_options,
    cancelled_event,
    check_cluster_options,
    interrupts_raise,
)
from scd_core.cluster.connect import connect
from scd_core.errors import InvalidOptionError, PairsFileError
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import JsonLines, reporter


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd batch`` sub-command's parser."""
    parser = commands.add_parser(
        "batch",
        help="run scd detect over the pairs listed in a CSV file",
        description="Run scd detect over every pair of PAIRS.csv (columns id,before,after[,aoi]) into OUT_ROOT/<id>. "
        "Finished pairs are skipped on a re-run; a failed pair is reported and the others go on.",
    )
    parser.add_argument("pairs", help="CSV file with columns id,before,after and optionally aoi")
    parser.add_argument("-o", "--out-root", required=True, help="folder that receives one output folder per pair")
    add_detection_options(parser, "batch")
    return parser


def _out_root(text: str) -> Path:
    if not text.strip():
        raise InvalidOptionError("-o/--out-root is empty; name the folder that receives the pairs' outputs")
    out_root = Path(text)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PairsFileError(f"cannot create the output root ({error.strerror})", out_root) from None
    return out_root


def _on_cluster(
    args: argparse.Namespace, pairs: list[Pair], out_root: Path, options: DetectOptions, outcomes: list[Outcome]
) -> None:
    """Every pair on the Dask cluster of ``--cluster``; one progress bar over all pairs on stderr."""
    from scd_core.cluster.pairs import run_pairs

    bar = None
    if args.progress == "bar":
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), unit="pair", desc="scd batch", file=sys.stderr)

    def heard(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if bar is not None:
            bar.update(1)
        if args.progress == "json":
            JsonLines()(events.pair(**vars(outcome)))

    try:
        with connect(args.cluster, args.retries) as client:
            done = run_pairs(client, pairs, out_root, args.model, options, heard)
    finally:
        if bar is not None:
            bar.close()
    outcomes[:] = done


def _here(
    args: argparse.Namespace, pairs: list[Pair], out_root: Path, options: DetectOptions, outcomes: list[Outcome]
) -> None:
    """Every pair, one after the other, in this process."""
    for pair in pairs:
        outcome = run_pair(pair, out_root, args.model, options, reporter(args.progress, pair=pair.id))
        outcomes.append(outcome)
        if args.progress == "json":
            JsonLines()(events.pair(**vars(outcome)))


def run_each(
    args: argparse.Namespace, pairs: list[Pair], out_root: Path, options: DetectOptions, outcomes: list[Outcome]
) -> None:
    """Every pair, in this process or on ``--cluster``'s (``scd batch``'s and ``scd series``'), each outcome
    added to ``outcomes`` as it comes, so that an interrupted run still tells what it finished."""
    (_here if args.cluster is None else _on_cluster)(args, pairs, out_root, options, outcomes)


def run(args: argparse.Namespace) -> int:
    """Run ``scd batch``; its exit code."""
    check_cluster_options(args)
    options = detect_options(args, "batch")
    pairs = read_pairs(args.pairs)
    if options.mask_values is not None and not any(p.mask_before or p.mask_after for p in pairs):
        raise InvalidOptionError(
            f"--mask-values says which values of the masks to mask, but no pair of {args.pairs} has a mask_before "
            "or mask_after"
        )
    out_root = _out_root(args.out_root)
    for leftover in sweep_staging(out_root, [pair.id for pair in pairs]):
        print(f"scd batch: removed {leftover}, left by a run that was killed", file=sys.stderr)
    outcomes: list[Outcome] = []
    with interrupts_raise():
        try:
            run_each(args, pairs, out_root, options, outcomes)
        except KeyboardInterrupt as interrupt:
            if args.progress == "json":
                JsonLines()(cancelled_event(interrupt))
            if not isinstance(interrupt, Terminated):
                raise
            print("scd batch: terminated; the pairs in progress left nothing behind", file=sys.stderr)
            return EXIT_TERMINATED
        finally:
            if outcomes:
                write_report(out_root / REPORT, outcomes)
    done = counts(outcomes)
    print(table(outcomes), file=sys.stderr)
    print(f"scd batch: {done['done']} done, {done['skipped']} skipped, {done['failed']} failed", file=sys.stderr)
    if args.progress == "json":
        JsonLines()(events.batch(**done))
    return 1 if done["failed"] else 0
