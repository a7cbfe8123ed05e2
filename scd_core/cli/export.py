"""``scd export CKPT -o MODEL.onnx [--format scd|deepness] [--opset N] [--precision fp32|int8]``: a
checkpoint as one ONNX file.

``scd`` (default) is the graph ``scd detect --model MODEL.onnx`` and the QGIS plugin run in ONNX
Runtime: both dates in, the model's three outputs out, the checkpoint's metadata in
``metadata_props`` (:mod:`scd_core.export`). ``deepness`` is a graph for the Deepness QGIS plugin:
one input of both dates' bands stacked (before's, then after's, one grid: stack the dates first,
e.g. ``gdalbuildvrt -separate``), one channel out per from-to change type, the threshold inside.
After the export the file is checked (``onnx.checker``, and against torch on a random batch for
``scd``), and the largest difference is printed.

``--precision int8`` writes the graph quantised as ``scd detect --precision int8`` quantises it
(:mod:`scd_core.geo.precision`), marked int8 in its metadata so that a detection with it runs and
records int8. It is calibrated and judged on synthetic RGB scenes, or on pairs of your own rasters
(``--calibrate BEFORE AFTER …``, read as ``scd detect`` reads them). Where the int8 graph fails the
accuracy guard, or the model reads other bands and nothing calibrates it, the fp32 graph is written
instead, with a warning: the file is always usable.
bf16 runs in torch only, so it is refused here.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scd_core import vocabulary
from scd_core.cli.arguments import add_option

if TYPE_CHECKING:
    from torch import nn

    from scd_core.checkpoint import CheckpointMetadata
from scd_core.errors import InvalidOptionError, OutputExistsError
from scd_core.geo.options import DetectOptions


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd export`` sub-command's parser."""
    parser = commands.add_parser(
        "export",
        help="write a checkpoint as an ONNX file (for ONNX Runtime, or for the Deepness QGIS plugin)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", metavar="CKPT", help="an scd checkpoint (.pt)")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL.onnx", help="the ONNX file to write")
    for option in vocabulary.EXPORT:  # the opset is checked with the model, whose minimum it names
        add_option(parser, option, checked=option.name != "opset")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``scd export``; its exit code."""
    from scd_core import checkpoint, export

    output, opset = Path(args.output), export.DEFAULT_OPSET if args.opset is None else args.opset
    # all that can be refused is, before the checkpoint loads and the export's seconds go
    if args.precision == "bf16":
        raise InvalidOptionError("--precision bf16 runs in torch: an ONNX file is fp32 or int8")
    if args.precision == "int8" and args.format == "deepness":
        raise InvalidOptionError("--precision int8 is for --format scd (Deepness runs its graphs as they are)")
    options = DetectOptions(device="cpu", precision=args.precision, calibrate=args.calibrate)  # checks --calibrate
    if output.is_file() and Path(args.checkpoint).is_file() and os.path.samefile(output, args.checkpoint):
        raise OutputExistsError("is the checkpoint itself; name another file for the ONNX model", output)
    export.check_destination(output)
    if output.exists() and not args.overwrite:
        raise OutputExistsError("exists; pass --overwrite to replace it", output)
    model, meta = checkpoint.load(args.checkpoint)
    export.check_opset(meta["model"], opset)
    if args.format == "deepness":
        trained = checkpoint.gsd_range(meta.get("gsd_m"))  # a range's geometric middle
        resolution = args.resolution or (100.0 * (trained[0] * trained[1]) ** 0.5 if trained else 50.0)
        export.export_deepness(model, meta, output, resolution, opset=opset)
        print(f"{output}: Deepness segmentor, {2 * len(meta['bands'])} bands in, {resolution:g} cm per pixel")
        return 0
    fp32 = output if args.precision == "fp32" else output.with_name(f".{output.stem}.{secrets.token_hex(4)}.fp32.onnx")
    try:
        export.export_onnx(model, meta, fp32, opset)
        difference = export.check_export(model, fp32, meta)
        print(f"{output}: checked; largest difference from torch {difference:.2e} (relative to the largest output)")
        if fp32 != output:
            _quantise(fp32, output, (model, meta), options)
    finally:
        if fp32 != output:
            fp32.unlink(missing_ok=True)
    return 0


def _quantise(fp32: Path, output: Path, model: tuple[nn.Module, CheckpointMetadata], options: DetectOptions) -> None:
    """Write the int8 graph of ``fp32`` to ``output`` where it passes the accuracy guard (on the synthetic
    scenes or ``--calibrate``'s rasters), else ``fp32``."""
    from scd_core.geo.calibration import RasterCalibration
    from scd_core.geo.inputs import prepare
    from scd_core.geo.precision import guard_problem, judging_tiles, quantise, uncalibrated
    from scd_core.geo.progress import RunLog, reporter

    meta = model[1]
    tiles = judging_tiles(meta, RunLog(reporter("none")), RasterCalibration.of(options, model, prepare))
    if tiles is None:
        print(f"warning: {uncalibrated('int8', meta)}: {output} is the fp32 graph", file=sys.stderr)
    else:
        share = quantise(fp32, output, tiles, meta["threshold"])
        if (problem := guard_problem("int8", share)) is None:
            print(f"{output}: int8; {100 * share:.2f}% of the calibration pixels' change types agree with fp32")
            return
        print(f"warning: {problem}: {output} is the fp32 graph", file=sys.stderr)
    os.replace(fp32, output)
