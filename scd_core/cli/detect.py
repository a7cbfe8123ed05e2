"""``scd detect BEFORE AFTER -o OUT_DIR [--model CKPT] [...]``: semantic change detection on two rasters.

SIGINT exits with 130 and SIGTERM with 143, both within seconds and leaving OUT_DIR as it was.
With ``--progress json`` stdout carries only the worker protocol (:mod:`scd_core.geo.progress`).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scd_core import events, vocabulary
from scd_core.cli.arguments import add_detect_arguments, add_option, detect_options
from scd_core.cluster.connect import connect
from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.events import Event
from scd_core.geo.progress import Reporter, reporter
from scd_core.resources import DEMO_MODEL

EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same clean-up runs."""


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """For the duration of a run, SIGINT raises KeyboardInterrupt and SIGTERM :class:`Terminated`.

    SIGINT's handler is installed whatever the process inherited: Python leaves a SIGINT its parent
    ignored (a shell's ``&`` job) ignored, and such a run could not be stopped by it.
    """

    def terminated(number: int, frame: Any) -> None:
        raise Terminated

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, terminated),
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def add_detection_options(parser: argparse.ArgumentParser, scope: str) -> None:
    """The model, the options of :class:`~scd_core.geo.options.DetectOptions` offered in ``scope``
    (``"detect"`` or ``"batch"``) and the progress style."""
    add_option(parser, vocabulary.OPTIONS["model"], default=DEMO_MODEL)
    add_detect_arguments(parser, scope)
    add_option(parser, vocabulary.OPTIONS["progress"])
    add_option(parser, vocabulary.OPTIONS["cluster"])
    # no default here: given without --cluster, --retries and --block-size are refused
    add_option(parser, vocabulary.OPTIONS["retries"], default=None)
    if scope == "detect":
        add_option(parser, vocabulary.OPTIONS["block_size"], default=None)


def check_cluster_options(args: argparse.Namespace) -> None:
    """``--retries`` and ``--block-size`` mean something with ``--cluster`` only; fill in the default."""
    for flag, name in (("--retries", "retries"), ("--block-size", "block_size")):
        if getattr(args, name, None) is not None and args.cluster is None:
            raise InvalidOptionError(f"{flag} is for runs on a cluster (--cluster)")
    for name in ("retries", "block_size"):
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, vocabulary.OPTIONS[name].default)


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd detect`` sub-command's parser."""
    parser = commands.add_parser(
        "detect",
        help="detect semantic changes between two georeferenced rasters",
        description="Detect from-to land-cover changes between BEFORE and AFTER (any raster GDAL reads). Outputs "
        "(OUT_DIR): change_type.tif, before_class.tif, after_class.tif, change_prob.tif (COGs on BEFORE's grid), "
        "changes.gpkg (layer 'changes', areas in m²), summary.csv (from × to matrix in hectares), run.json, "
        "preview.png. A change-only model (checkpoint task 'change') writes change_type.tif as change (1) / no "
        "change (0), no class maps, polygons without from-to fields and the changed area as summary.csv; it "
        "ignores --decode.",
    )
    parser.add_argument("before", help="raster of the first date; its grid is the output grid")
    parser.add_argument("after", help="raster of the second date; resampled onto BEFORE's grid when needed")
    parser.add_argument(
        "-o", "--out-dir", required=True, help="output folder (created; must be empty unless --overwrite)"
    )
    add_detection_options(parser, "detect")
    return parser


def cancelled_event(interrupt: KeyboardInterrupt) -> Event:
    """The protocol's last event of a run stopped by SIGINT or SIGTERM (:class:`Terminated`)."""
    text = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
    return events.error(text, cancelled=True)


def run_reported(report: Reporter, detect_call: Callable[[], Any]) -> Any:
    """Run ``detect_call()`` and report how it failed or was stopped as a protocol ``error`` event
    before re-raising."""
    try:
        return detect_call()
    except ScdInputError as error:
        report(events.error(str(error), error.path))
        raise
    except KeyboardInterrupt as interrupt:
        report(cancelled_event(interrupt))
        raise
    except Exception as error:
        report(events.error(f"internal error: {type(error).__name__}: {error}"))
        raise


def run(args: argparse.Namespace) -> int:
    """Run ``scd detect``; its exit code."""
    from scd_core.geo.pipeline import run_detection

    report = reporter(args.progress)

    def call() -> Any:
        check_cluster_options(args)
        options = detect_options(args, "detect")
        inputs = (args.before, args.after, args.model, args.out_dir)
        if args.cluster is None:
            return run_detection(*inputs, options, report)
        from scd_core.cluster.blocks import infer_on

        with connect(args.cluster, args.retries) as client:
            return run_detection(*inputs, options, report, infer_on(client, args.model, args.block_size))

    with interrupts_raise():
        try:
            run_reported(report, call)
        except Terminated:
            print("scd detect: terminated; the output folder is left as it was", file=sys.stderr)
            return EXIT_TERMINATED
    return 0
