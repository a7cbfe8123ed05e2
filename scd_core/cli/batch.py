"""``scd batch PAIRS.csv -o OUT_ROOT --model CKPT [...]``: ``scd detect`` over many pairs.

PAIRS.csv has a header with the columns ``id``, ``before``, ``after`` and optionally ``aoi``; relative
paths are relative to the CSV's folder. Each pair's outputs go to ``OUT_ROOT/<id>``.

* A pair whose folder holds the ``run.json`` of the same request (the fingerprints of its before,
  after, AOI and model files, and the same options) is skipped, so a re-run after an interruption or
  a failure does only what is left, and a re-run with other options (``--overwrite``) recomputes.
* Hidden staging folders (``.<id>.scd-*``) that a killed run left in OUT_ROOT are removed first.
* A pair that fails is reported and the others go on; its folder is left as it was.
* The run ends with a report table on stderr (and ``OUT_ROOT/batch_report.csv``); with
  ``--progress json`` stdout carries each pair's detect events with an added ``"pair"`` key, one
  ``{"event": "pair", "id", "status", "seconds", "features", "message"}`` per pair, then
  ``{"event": "batch", "done": n, "skipped": n, "failed": n}``.

Exit code: 0 when every pair is done or skipped, 1 when at least one failed, 2 for a bad PAIRS.csv,
130/143 when interrupted (the pair in progress leaves nothing behind).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import glob
import json
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from scd_core.atomic import atomic_write
from scd_core.cli.detect import EXIT_TERMINATED, Terminated, add_detection_options, sigterm_raises
from scd_core.errors import InvalidOptionError, PairsFileError, ScdInputError
from scd_core.geo.options import DetectOptions, from_arguments
from scd_core.geo.progress import JsonLines, reporter
from scd_core.geo.staging import STAGING_MARK

REQUIRED_COLUMNS = ("id", "before", "after")
REPORT = "batch_report.csv"


@dataclass(frozen=True)
class Pair:
    id: str
    before: Path
    after: Path
    aoi: Path | None


@dataclass
class Outcome:
    id: str
    status: str  # done, skipped or failed
    seconds: float = 0.0
    features: int | None = None
    message: str = ""


def read_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a PAIRS.csv, paths resolved against its folder; ids must be unique folder names."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows, columns = list(reader), reader.fieldnames or []
    except OSError as error:
        raise PairsFileError(f"cannot read the pairs file ({error.strerror})", path) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise PairsFileError(f"needs a header with columns id,before,after[,aoi]; missing {', '.join(missing)}", path)
    if not rows:
        raise PairsFileError("lists no pairs: it holds only its header", path)
    pairs, seen = [], set()
    for line, row in enumerate(rows, start=2):
        pair_id = (row["id"] or "").strip()
        if not pair_id or pair_id in (".", "..") or "/" in pair_id or "\\" in pair_id:
            raise PairsFileError(f"line {line}: id {pair_id!r} cannot name a folder", path)
        if pair_id in seen:
            raise PairsFileError(f"line {line}: id {pair_id!r} appears twice", path)
        seen.add(pair_id)
        aoi = (row.get("aoi") or "").strip()
        pairs.append(
            Pair(
                pair_id,
                path.parent / row["before"].strip(),
                path.parent / row["after"].strip(),
                path.parent / aoi if aoi else None,
            )
        )
    return pairs


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
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


def finished_before(out_dir: Path, pair: Pair, model: str | Path, options: DetectOptions) -> bool:
    """True when ``out_dir`` holds the outputs of exactly this request (see the module docstring)."""
    from scd_core.geo.rasters import source_name
    from scd_core.geo.reports import run_request

    try:
        recorded = json.loads((out_dir / "run.json").read_text(encoding="utf-8")).get("request")
        wanted = run_request(source_name(pair.before), source_name(pair.after), Path(model), options)
    except (OSError, ValueError, ScdInputError):  # no run.json, an unreadable one, or inputs gone
        return False
    return recorded == wanted


def sweep_staging(out_root: Path, ids: list[str]) -> list[Path]:
    """Remove the staging folders of these pairs that a killed run left behind; returns them."""
    swept = []
    for pair_id in ids:
        for leftover in out_root.glob(f".{glob.escape(pair_id)}{STAGING_MARK}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
                swept.append(leftover)
    return swept


def _run_pair(pair: Pair, out_root: Path, args: argparse.Namespace, options: DetectOptions) -> Outcome:
    from scd_core.geo.pipeline import detect

    out_dir = out_root / pair.id
    options = dataclasses.replace(options, aoi=pair.aoi)
    if finished_before(out_dir, pair, args.model, options):
        return Outcome(pair.id, "skipped", message="done before with the same inputs and options")
    report = reporter(args.progress, pair=pair.id)
    started = time.perf_counter()
    try:
        result = detect(
            pair.before,
            pair.after,
            args.model,
            out_dir,
            progress=report,
            **options.keywords(),
        )
    except ScdInputError as error:
        report({"event": "error", "text": str(error), "path": error.path})
        return Outcome(pair.id, "failed", time.perf_counter() - started, message=str(error))
    except KeyboardInterrupt:
        raise
    except Exception as error:  # one pair's bug must not stop the others; its traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        report({"event": "error", "text": f"internal error: {type(error).__name__}: {error}", "path": None})
        return Outcome(
            pair.id, "failed", time.perf_counter() - started, message=f"internal error: {type(error).__name__}: {error}"
        )
    return Outcome(pair.id, "done", time.perf_counter() - started, result.counts["features"])


def _table(outcomes: list[Outcome]) -> str:
    rows = [("id", "status", "seconds", "features", "message")]
    for o in outcomes:
        rows.append((o.id, o.status, f"{o.seconds:.1f}", "" if o.features is None else str(o.features), o.message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows
    )


def _write_report(path: Path, outcomes: list[Outcome]) -> None:
    with atomic_write(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "status", "seconds", "features", "message"])
        for o in outcomes:
            writer.writerow([o.id, o.status, f"{o.seconds:.1f}", "" if o.features is None else o.features, o.message])


def run(args: argparse.Namespace) -> int:
    options = from_arguments(args, "batch")
    pairs = read_pairs(args.pairs)
    if not args.out_root.strip():
        raise InvalidOptionError("-o/--out-root is empty; name the folder that receives the pairs' outputs")
    out_root = Path(args.out_root)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PairsFileError(f"cannot create the output root ({error.strerror})", out_root) from None
    for leftover in sweep_staging(out_root, [pair.id for pair in pairs]):
        print(f"scd batch: removed {leftover}, left by a run that was killed", file=sys.stderr)
    outcomes: list[Outcome] = []
    with sigterm_raises():
        try:
            for pair in pairs:
                outcome = _run_pair(pair, out_root, args, options)
                outcomes.append(outcome)
                if args.progress == "json":
                    JsonLines()({"event": "pair", **vars(outcome)})
        except Terminated:
            print("scd batch: terminated; the pair in progress left nothing behind", file=sys.stderr)
            return EXIT_TERMINATED
        finally:
            if outcomes:
                _write_report(out_root / REPORT, outcomes)
    counts = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
    print(_table(outcomes), file=sys.stderr)
    print(f"scd batch: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed", file=sys.stderr)
    if args.progress == "json":
        JsonLines()({"event": "batch", **counts})
    return 1 if counts["failed"] else 0
