"""One pair of a batch, run or skipped, and the batch's report (one process or a cluster's worker)."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from scd_core import events
from scd_core.atomic import atomic_write
from scd_core.batch.pairs import Pair
from scd_core.errors import NoSpaceError, ScdInputError
from scd_core.geo import staging
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import Reporter

#: The batch's report, in OUT_ROOT.
REPORT = "batch_report.csv"
STATUSES = ("done", "skipped", "failed")


@dataclass
class Outcome:
    """What became of one pair."""

    id: str
    status: str  #: one of STATUSES
    seconds: float = 0.0
    features: int | None = None
    message: str = ""


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
    """Remove the staging folders of these pairs that a killed run left behind; returns them.

    ``detect`` sweeps its own OUT_DIR too; the batch sweeps first so that a pair it skips is swept.
    """
    return [leftover for pair_id in ids for leftover in staging.sweep_staging(out_root / pair_id)]


def run_pair(pair: Pair, out_root: Path, model: str | Path, options: DetectOptions, report: Reporter) -> Outcome:
    """Run one pair into ``OUT_ROOT/<id>``, or skip it when it was done before with the same request.

    A pair's bad input or a bug in it is its outcome, not an exception: the others go on.
    """
    from scd_core.geo.pipeline import run_detection

    out_dir = out_root / pair.id
    masked = pair.mask_before is not None or pair.mask_after is not None
    options = dataclasses.replace(
        options,
        aoi=pair.aoi,
        mask_before=pair.mask_before,
        mask_after=pair.mask_after,
        mask_values=options.mask_values if masked else None,  # the batch's --mask-values, for the pairs with masks
    )
    if finished_before(out_dir, pair, model, options):
        return Outcome(pair.id, "skipped", message="done before with the same inputs and options")
    started = time.perf_counter()
    try:
        result = run_detection(pair.before, pair.after, model, out_dir, options, report)
    except (ScdInputError, NoSpaceError) as error:
        report(events.error(str(error), error.path))
        return Outcome(pair.id, "failed", time.perf_counter() - started, message=str(error))
    except KeyboardInterrupt:
        raise
    except Exception as error:  # one pair's bug must not stop the others; its traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error}"
        report(events.error(message))
        return Outcome(pair.id, "failed", time.perf_counter() - started, message=message)
    return Outcome(pair.id, "done", time.perf_counter() - started, result.counts["features"])


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a text table (the end of ``scd batch``)."""
    rows = [("id", "status", "seconds", "features", "message")]
    for o in outcomes:
        rows.append((o.id, o.status, f"{o.seconds:.1f}", "" if o.features is None else str(o.features), o.message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows
    )


def write_report(path: Path, outcomes: list[Outcome]) -> None:
    """``batch_report.csv``, written atomically."""
    with atomic_write(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "status", "seconds", "features", "message"])
        for o in outcomes:
            writer.writerow([o.id, o.status, f"{o.seconds:.1f}", "" if o.features is None else o.features, o.message])


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    """How many pairs ended in each of :data:`STATUSES`."""
    return {status: sum(o.status == status for o in outcomes) for status in STATUSES}
