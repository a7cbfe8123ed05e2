"""The parameters of ``scd:detectchanges``: their names, their definitions and the help beside them;
and the one way every algorithm builds a number parameter, or orders a choice, from the engine's option
vocabulary.

Names are the algorithm's contract with ``processing.run`` and ``qgis_process``; the descriptions
are the dialog's labels, and every message about a value names the value by its label.
"""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProject,
)

from .. import settings
from ..inputs import default_images
from ..shared import vocabulary

BEFORE, AFTER, MODEL, AOI, EXTENT = "BEFORE", "AFTER", "MODEL", "AOI", "EXTENT"
BANDS, SCALE, TILE_SIZE, OVERLAP, BATCH_SIZE = "BANDS", "SCALE", "TILE_SIZE", "OVERLAP", "BATCH_SIZE"
DEVICE, RUNTIME, PRECISION, DECODE = "DEVICE", "RUNTIME", "PRECISION", "DECODE"
THRESHOLD, MMU, MIN_AREA = "THRESHOLD", "MMU", "MIN_AREA"
MASK_BEFORE, MASK_AFTER, MASK_VALUES = "MASK_BEFORE", "MASK_AFTER", "MASK_VALUES"
OUTPUT, OUTPUT_MATRIX, OUTPUT_RASTER = "OUTPUT", "OUTPUT_MATRIX", "OUTPUT_RASTER"
OUTPUT_PROBABILITY, OUTPUT_BEFORE_CLASSES, OUTPUT_AFTER_CLASSES = (
    "OUTPUT_PROBABILITY",
    "OUTPUT_BEFORE_CLASSES",
    "OUTPUT_AFTER_CLASSES",
)
#: Each option parameter and the engine's option it sets (:mod:`scd_core.vocabulary`): its label,
#: choices, range and default are the vocabulary's.
OPTION_OF = {
    AOI: "aoi",
    EXTENT: "bbox",
    BANDS: "bands",
    SCALE: "scale",
    TILE_SIZE: "tile",
    OVERLAP: "overlap",
    BATCH_SIZE: "batch",
    DEVICE: "device",
    RUNTIME: "runtime",
    PRECISION: "precision",
    DECODE: "decode",
    THRESHOLD: "threshold",
    MMU: "mmu",
    MIN_AREA: "min_area",
    MASK_BEFORE: "mask_before",
    MASK_AFTER: "mask_after",
    MASK_VALUES: "mask_values",
}


def engine_words() -> dict[str, str]:
    """The engine's words for the parameters, its flags and arguments (``scd detect --help``), which
    the plugin's messages replace by the parameters' labels."""
    flags = {vocabulary.OPTIONS[option].flag: name for name, option in OPTION_OF.items()}
    return {"BEFORE": BEFORE, "AFTER": AFTER, "--model": MODEL, **flags}


def choices(name: str) -> tuple[str, ...]:
    """The choices of an enumeration parameter, the engine's default first (the dialog's default)."""
    option = vocabulary.OPTIONS[OPTION_OF[name]]
    return default_first(option, option.choices or vocabulary.DEVICES)


def default_first(option: vocabulary.Option, listed: tuple[str, ...]) -> tuple[str, ...]:
    """The ``listed`` choices of ``option`` with its default first: the dialog's default is the first."""
    return (option.default, *(choice for choice in listed if choice != option.default))


#: The optional raster outputs: parameter → the worker output it copies (the protocol's names).
RASTER_OUTPUTS = {
    OUTPUT_RASTER: "change_type",
    OUTPUT_PROBABILITY: "change_prob",
    OUTPUT_BEFORE_CLASSES: "before_class",
    OUTPUT_AFTER_CLASSES: "after_class",
}

#: What the analyst reads about each parameter: QGIS shows it as the tooltip of the parameter's label
#: in the dialog and lists it in ``qgis_process help``; the help panel beside the dialog stays short.
PARAMETER_HELP = {
    BEFORE: "The earlier image, with a coordinate reference system. The output grid is its grid. GeoPackage "
    "raster tables, NetCDF/HDF subdatasets and VRTs are read as they are; WMS, XYZ and other layers that "
    "are not files are first exported over the Area of interest or Extent, so set one.",
    AFTER: "The later image of the same place; it need not share the before image's grid (it is resampled "
    "onto it). Choose a different image from Before: the same one twice can only show the model's errors.",
    MODEL: "An scd checkpoint (.pt) or its ONNX export (.onnx, from scd export). It starts as the model "
    "Train change detection model wrote last. Empty runs the small demo model that comes with the plugin, "
    "trained on synthetic scenes only. Use a model trained on imagery like yours (resolution, bands, "
    "region). A relative path is read from the folder QGIS was started in.",
    AOI: "Detect changes only inside these polygons (with Selected features only, the selected ones). Draw "
    "one with Draw area of interest in the Semantic change detection toolbar. Not with Extent.",
    EXTENT: "Detect changes only inside this rectangle. Not with Area of interest.",
    BANDS: "The bands of both images that feed the model, in order, such as 3,2,1. Empty: the model's own "
    "choice, usually bands 1, 2, 3 as red, green, blue.",
    SCALE: "How pixel values reach the model: auto (8-bit images as they are, others stretched between the "
    "2nd and 98th percentiles of both dates together, so a brighter date still looks brighter), "
    "auto-per-date (each date stretched on its own, which also hides real brightening), none (raw values), "
    "or LOW,HIGH, the raw values mapped onto the model's range, for a model trained on values scaled so. "
    "Empty: the model's own scaling, else auto.",
    TILE_SIZE: f"The image is processed in tiles of this many pixels a side, a multiple of {vocabulary.TILE_MULTIPLE}; "
    "larger tiles need more memory. Empty: the model's own.",
    OVERLAP: "Pixels shared by neighbouring tiles, which hides tile seams; at most half the tile. Empty: a "
    "quarter of the tile.",
    BATCH_SIZE: "Tiles per model call, 1 or more. Empty: 8 on a GPU, 2 on the CPU.",
    DEVICE: "auto uses a CUDA GPU when the backend has one, otherwise the CPU; cuda is refused before the run "
    "when the backend sees no GPU.",
    RUNTIME: "auto runs the model in ONNX Runtime on the CPU (exported once per model, about 30 s, then "
    "cached; it is faster there than PyTorch) and in PyTorch on a GPU; torch or onnxruntime force one. An "
    ".onnx model runs in ONNX Runtime only.",
    PRECISION: "The model's arithmetic on the CPU: fp32 (exact); int8 (quantised once per model in ONNX Runtime, "
    "a minute or two, then cached; faster on CPUs with VNNI); bf16 (PyTorch; slower than fp32 on most CPUs). "
    "int8 and bf16 are used only where their change types agree with fp32's on 99% of test pixels; "
    "otherwise the run keeps fp32 and says so.",
    DECODE: "Which classes a changed pixel gets: distinct, the most probable pair of two different classes "
    "(a change is never from a class to itself), or paper, each date's most probable class on its own "
    "(as in the ASN paper and scd evaluate), which can name one class twice.",
    THRESHOLD: "How confident the model must be to call a pixel changed, between 0 and 1 (both excluded). "
    "Lower finds more changes and more false alarms. Empty: the threshold the model learnt.",
    MMU: "Changed patches of fewer pixels than this merge into their surroundings before anything is "
    f"written, in every output; {vocabulary.OPTIONS['mmu'].default} pixels by default, 0 keeps single pixels.",
    MIN_AREA: "Change polygons smaller than this (m²) are dropped; "
    f"{vocabulary.DIALOG_MIN_AREA_M2:g} m², about a garden shed, by default; 0 keeps them all. It applies to "
    "the polygons and the change matrix only: the rasters keep those small patches.",
    MASK_BEFORE: "A raster of the pixels not to read in the before image, such as its clouds and their shadows, "
    "on any grid (it is resampled onto the before image's, nearest neighbour). Its non-zero pixels, or those of "
    "Mask values, are left out of every output: no polygon, no area, transparent in the rasters. Layers that are "
    "not files are exported as the images are.",
    MASK_AFTER: "A raster of the pixels not to read in the after image (clouds, shadows), as Mask of the before image.",
    MASK_VALUES: "With a class mask such as Sentinel-2's scene classification (SCL), the classes to mask, such as "
    "3,8,9,10 (cloud shadow, cloud of medium and high probability, cirrus); the mask layers must then hold whole "
    "numbers. Empty: every non-zero pixel of the masks is masked.",
    OUTPUT: "The from-to change polygons, styled by change type.",
    OUTPUT_MATRIX: "The changed area from each class (rows) to each class (columns), in hectares.",
    OUTPUT_RASTER: "The change type of every pixel (0 no change, then one code per from → to pair).",
    OUTPUT_PROBABILITY: "The model's probability of change, 0 to 1 (transparent at 0).",
    OUTPUT_BEFORE_CLASSES: "The before image's classes where the land changed.",
    OUTPUT_AFTER_CLASSES: "The after image's classes where the land changed.",
}

#: The panel beside the dialog: what the algorithm makes, in a few lines; each parameter's own help is
#: its tooltip, and the Help button opens the README's plugin section. One line of HTML: QGIS's dialog
#: makes a paragraph of every line of the help, so a line break inside a sentence would break it in two.
HELP = "".join(
    (
        "<p>Finds where the land cover changed between two images of the same place and what it changed ",
        "<b>from</b> and <b>to</b> (for example <i>low vegetation → building</i>), with a deep-learning model ",
        "run in the backend, a separate Python environment (Raster ▸ Semantic change detection ▸ Settings).</p>",
        "<p>The result is a polygon layer styled by change type, with <code>change_type</code>, ",
        "<code>from_name</code>, <code>to_name</code>, <code>area_m2</code> and <code>mean_prob</code>; ",
        "optionally the change matrix in hectares and rasters of the change types, the change probability ",
        "and each date's classes. <i>Minimum area</i> drops small polygons only: the rasters keep those ",
        "patches. Each output's metadata records the model, the options and the inputs.</p>",
        "<p>Hover over a parameter's name for its help. Leave <i>Model checkpoint</i> empty for the demo ",
        "model; draw an area of interest with the toolbar's <i>Draw area of interest</i>. Cancel stops the ",
        "backend within two seconds and writes nothing; for many image pairs use <i>Run as Batch Process…</i>.</p>",
    )
)


def add_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    """Add every parameter of the algorithm, in the dialog's order, each with its help."""
    for parameter in _parameters():
        parameter.setHelp(PARAMETER_HELP[parameter.name()])
        algorithm.addParameter(parameter)


def _parameters() -> list[QgsProcessingParameterDefinition]:
    before, after = default_images(QgsProject.instance())
    parameters: list[QgsProcessingParameterDefinition] = [
        QgsProcessingParameterRasterLayer(BEFORE, "Before image", defaultValue=before),
        # optional only to let the dialog show no after image rather than the before one a second time;
        # checkParameterValues requires it all the same
        QgsProcessingParameterRasterLayer(
            AFTER, "After image", defaultValue=after, optional=before is not None and after is None
        ),
        model_parameter(),
        QgsProcessingParameterFeatureSource(AOI, _label(AOI), [QgsProcessing.TypeVectorPolygon], optional=True),
        QgsProcessingParameterExtent(EXTENT, _label(EXTENT), optional=True),
    ]
    for parameter in advanced_parameters():
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        parameters.append(parameter)
    parameters += [
        QgsProcessingParameterFeatureSink(OUTPUT, "Changes (from-to polygons)", QgsProcessing.TypeVectorPolygon),
        QgsProcessingParameterFeatureSink(
            OUTPUT_MATRIX, "Change matrix (hectares)", QgsProcessing.TypeVector, optional=True
        ),
    ]
    for name, description in (
        (OUTPUT_RASTER, "Change types (raster of codes)"),
        (OUTPUT_PROBABILITY, "Change probability (raster, 0 to 1)"),
        (OUTPUT_BEFORE_CLASSES, "Classes before, where changed (raster)"),
        (OUTPUT_AFTER_CLASSES, "Classes after, where changed (raster)"),
    ):
        parameters.append(
            QgsProcessingParameterRasterDestination(name, description, optional=True, createByDefault=False)
        )
    return parameters


def model_parameter() -> QgsProcessingParameterFile:
    """MODEL: a checkpoint or its ONNX export, the last model trained in QGIS by default; empty, the demo model."""
    return QgsProcessingParameterFile(
        MODEL,
        "Model checkpoint (empty: the bundled demo model)",
        fileFilter="scd models (*.pt *.pth *.ckpt *.onnx);;All files (*.*)",
        defaultValue=settings.last_trained_model() or None,
        optional=True,
    )


def _label(name: str) -> str:
    return vocabulary.OPTIONS[OPTION_OF[name]].label


def number_parameter(name: str, option: vocabulary.Option, default: float | None) -> QgsProcessingParameterNumber:
    """A number parameter as the vocabulary defines its ``option``: whole or not, its range; ``default``
    None where the engine decides per run. Optional: left empty, the engine's default applies."""
    kind = QgsProcessingParameterNumber.Integer if option.type is int else QgsProcessingParameterNumber.Double
    low = option.multiple_of or option.minimum
    bounds = {"minValue": low, "maxValue": option.maximum}
    return QgsProcessingParameterNumber(
        name,
        option.label,
        kind,
        defaultValue=default,
        optional=True,
        # an unbounded end is QGIS's own default, which its spin boxes know to leave open
        **{key: value for key, value in bounds.items() if value is not None},
    )


def _number(name: str) -> QgsProcessingParameterNumber:
    """A detection option's number parameter, with the option's default (the dialog's own minimum area)."""
    option = vocabulary.OPTIONS[OPTION_OF[name]]
    return number_parameter(name, option, vocabulary.DIALOG_MIN_AREA_M2 if name == MIN_AREA else option.default)


def advanced_parameters() -> list[QgsProcessingParameterDefinition]:
    """Detect changes' advanced parameters (the series algorithm takes them too)."""
    return [
        QgsProcessingParameterBand(
            BANDS, _label(BANDS), parentLayerParameterName=BEFORE, optional=True, allowMultiple=True
        ),
        QgsProcessingParameterString(SCALE, _label(SCALE), optional=True),
        _number(TILE_SIZE),
        _number(OVERLAP),
        _number(BATCH_SIZE),
        *(
            QgsProcessingParameterEnum(name, _label(name), options=list(choices(name)), defaultValue=0)
            for name in (DEVICE, RUNTIME, PRECISION, DECODE)
        ),
        _number(THRESHOLD),
        _number(MMU),
        _number(MIN_AREA),
        QgsProcessingParameterRasterLayer(MASK_BEFORE, _label(MASK_BEFORE), optional=True),
        QgsProcessingParameterRasterLayer(MASK_AFTER, _label(MASK_AFTER), optional=True),
        QgsProcessingParameterString(MASK_VALUES, _label(MASK_VALUES), optional=True),
    ]
