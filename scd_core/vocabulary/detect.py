"""The options of a detection run (``scd detect``, ``scd batch``, the plugin's Detect changes), how it runs,
and how its result is scored (``scd score``)."""

from __future__ import annotations

from .option import Option

#: The models' output stride: tile sizes are multiples of it (a test holds it to ``scd_core.models.STRIDE``).
TILE_MULTIPLE = 32
#: Tiles per forward pass when ``--batch`` is not given, by device type.
DEFAULT_BATCH = {"cuda": 8, "cpu": 2}
#: What ``--device`` takes: these, or ``cuda:i`` for the i-th GPU.
DEVICES = ("auto", "cpu", "cuda")
RUNTIMES = ("auto", "torch", "onnxruntime")
#: The model's arithmetic (``scd_core.geo.precision``): int8 in ONNX Runtime, bf16 in torch, each kept
#: only where it agrees with fp32 (the accuracy guard).
PRECISIONS = ("fp32", "bf16", "int8")
_PRECISION_HELP = "fp32, bf16 (torch on the CPU) or int8 (ONNX Runtime), each used where ≥ 99%% of tiles' changes agree"
#: ``--precision`` of ``scd detect`` and ``scd export`` (which writes fp32 or int8 graphs).
PRECISION = Option("precision", "--precision", "Precision", _PRECISION_HELP, default="fp32", choices=PRECISIONS)
#: ``--calibrate`` of ``scd detect`` and ``scd export``: the user's rasters that calibrate and judge int8 and bf16.
CALIBRATE = Option(
    "calibrate",
    "--calibrate",
    "Calibration rasters",
    "with --precision int8 or bf16: pairs of your rasters, before and after in turn, read as a run reads them, "
    "to calibrate and judge the reduced precision on (default: synthetic RGB scenes)",
    values="+",
    metavar="RASTER",
)
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
_MASK = (
    "raster of pixels {date} must not be read at (clouds, shadows), on any grid or CRS: its non-zero pixels (or "
    "those of --mask-values) are nodata in every output"
)
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
    PRECISION,
    CALIBRATE,
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
    Option("mask_before", "--mask-before", "Mask of the before image", _MASK.format(date="BEFORE"), metavar="RASTER"),
    Option("mask_after", "--mask-after", "Mask of the after image", _MASK.format(date="AFTER"), metavar="RASTER"),
    Option(
        "mask_values",
        "--mask-values",
        "Mask values",
        "mask only the pixels of these values of the masks (a class mask such as Sentinel-2's SCL: 3,8,9,10 are "
        "cloud shadow, cloud of medium and high probability and cirrus), not every non-zero pixel; the masks must "
        "be of integers",
        metavar="V,...",
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


def device_problem(device: str) -> str | None:
    """``--device``'s rule: one of :data:`DEVICES` or ``cuda:i``."""
    if device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit()):
        return None
    return f"takes auto, cpu, cuda or cuda:i, got {device!r}"
