"""``scd export CKPT -o MODEL.onnx [--format scd|deepness] [--opset N]``: a checkpoint as one ONNX file.

``scd`` (default) is the graph ``scd detect --model MODEL.onnx`` and the QGIS plugin run in ONNX
Runtime: both dates in, the model's three outputs out, the checkpoint's metadata in
``metadata_props`` (:mod:`scd_core.export`). ``deepness`` is a graph for the Deepness QGIS plugin:
one input of both dates' bands stacked (before's, then after's, one grid: stack the dates first,
e.g. ``gdalbuildvrt -separate``), one channel out per from-to change type, the threshold inside.
After the export the file is checked (``onnx.checker``, and against torch on a random batch for
``scd``), and the largest difference is printed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scd_core import vocabulary
from scd_core.cli.arguments import add_option
from scd_core.errors import OutputExistsError


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
    export.export_onnx(model, meta, output, opset)
    difference = export.check_export(model, output, meta)
    print(f"{output}: checked; largest difference from torch {difference:.2e} (relative to the largest output)")
    return 0
