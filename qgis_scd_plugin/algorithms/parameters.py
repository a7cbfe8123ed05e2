"""The parameters of ``scd:detectchanges``: their names, their definitions and the help beside them.

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
)

from ..detect_request import DEVICES, RUNTIMES
from ..options import DEFAULT_MIN_AREA_M2, TILE_MULTIPLE

BEFORE, AFTER, MODEL, AOI, EXTENT = "BEFORE", "AFTER", "MODEL", "AOI", "EXTENT"
BANDS, SCALE, TILE_SIZE, OVERLAP, BATCH_SIZE = "BANDS", "SCALE", "TILE_SIZE", "OVERLAP", "BATCH_SIZE"
DEVICE, RUNTIME, THRESHOLD, MMU, MIN_AREA = "DEVICE", "RUNTIME", "THRESHOLD", "MMU", "MIN_AREA"
OUTPUT, OUTPUT_MATRIX, OUTPUT_RASTER = "OUTPUT", "OUTPUT_MATRIX", "OUTPUT_RASTER"
OUTPUT_PROBABILITY, OUTPUT_BEFORE_CLASSES, OUTPUT_AFTER_CLASSES = (
    "OUTPUT_PROBABILITY",
    "OUTPUT_BEFORE_CLASSES",
    "OUTPUT_AFTER_CLASSES",
)
#: The optional raster outputs: parameter → the worker output it copies (the protocol's names).
RASTER_OUTPUTS = {
    OUTPUT_RASTER: "change_type",
    OUTPUT_PROBABILITY: "change_prob",
    OUTPUT_BEFORE_CLASSES: "before_class",
    OUTPUT_AFTER_CLASSES: "after_class",
}

# One line of HTML: QGIS's dialog makes a paragraph of every line of the help, so a line break inside
# a sentence would break the sentence in two.
HELP = "".join(
    (
        "<p>Finds where the land cover changed between two images of the same place and what it changed ",
        "<b>from</b> and <b>to</b> (for example <i>low vegetation → building</i>), using the six land-cover ",
        "classes of the SECOND data set: water, non-vegetated ground surface, low vegetation, tree, building, ",
        "playground.</p>",
        "<p>The result is a polygon layer, one polygon per changed patch, styled by change type (the colour's ",
        "hue says what the land became, its lightness what it was), with the fields <code>change_type</code> ",
        "(1–36), <code>from_name</code>, <code>to_name</code>, <code>area_m2</code> and <code>mean_prob</code> ",
        "(the model's mean confidence), and a table of the changed area from each class to each class, in ",
        "hectares. Optionally also rasters of the change types, of the change probability and of each date's ",
        "classes where the land changed. Each output's metadata records the model, the threshold and the ",
        "inputs of the run.</p>",
        "<h3>Inputs</h3><ul>",
        "<li><b>Before</b> and <b>After</b>: the two images, with a coordinate reference system. They need not ",
        "share a grid: the after image is resampled onto the before image's. Sub-layers (GeoPackage raster ",
        "tables, NetCDF and HDF subdatasets) and VRTs are read as they are; layers that are not files (WMS, ",
        "XYZ/WMTS tiles, virtual rasters) are first exported by QGIS over the extent or AOI, so set one.</li>",
        "<li><b>Model</b>: an scd checkpoint (.pt) or its ONNX export (.onnx, from <code>scd export</code>); ",
        "empty runs the small demo model that comes with the plugin, ",
        "trained on synthetic scenes only. Results are only as good as the model's training data: use a model ",
        "trained on imagery like yours (resolution, bands, region). A relative path is read from the folder ",
        "QGIS (or qgis_process) was started in.</li>",
        "<li><b>Area of interest</b> or <b>Extent</b> (at most one): limit detection to polygons or a ",
        "rectangle. With <i>Selected features only</i>, only the selected AOI polygons are used. To draw a ",
        "polygon, use <i>Draw area of interest</i> in the Semantic change detection toolbar.</li></ul>",
        "<h3>Advanced</h3><ul>",
        "<li><b>Bands</b>: the bands of both images that feed the model, in order, such as 3,2,1 (empty: the ",
        "model's own choice, usually bands 1, 2, 3 as red, green, blue).</li>",
        "<li><b>Scale</b>: how pixel values reach the model: <i>auto</i> (8-bit images as they are, others ",
        "stretched between the 2nd and 98th percentiles of both dates together, so that a brighter date ",
        "still looks brighter), <i>auto-per-date</i> (each date stretched on its own, which hides a change of ",
        "illumination but also real brightening), <i>none</i> (raw values), or <i>LOW,HIGH</i>, the ",
        "raw values mapped onto the model's range, such as 0,3000 for Sentinel-2 reflectances (empty: the ",
        "model's own scaling, else auto).</li>",
        "<li><b>Tile size</b> and <b>Overlap</b> (pixels): the image is processed in overlapping tiles; larger ",
        f"tiles need more memory, overlap hides tile seams. Tile size is a multiple of {TILE_MULTIPLE} (empty: ",
        "the model's own); the overlap is at most half a tile (empty: a quarter of the tile).</li>",
        "<li><b>Batch size</b>: tiles per model call (empty: 8 on a GPU, 2 on the CPU).</li>",
        "<li><b>Device</b>: <i>auto</i> uses a CUDA GPU when the backend has one, otherwise the CPU.</li>",
        "<li><b>Runtime</b>: <i>auto</i> runs the model in ONNX Runtime on the CPU (exported once and ",
        "cached, it is faster there than PyTorch) and in PyTorch on a GPU; <i>torch</i> or <i>onnxruntime</i> ",
        "force one.</li>",
        "<li><b>Change threshold</b> (between 0 and 1): how confident the model must be to call a pixel ",
        "changed (empty: the threshold the model learnt). Lower finds more changes and more false alarms.</li>",
        "<li><b>Minimum mapping unit</b> (pixels): changed patches smaller than this are merged into their ",
        "surroundings before polygons are made (empty: 9 pixels; 0 keeps single pixels).</li>",
        f"<li><b>Minimum area</b> (m²): smaller change polygons are dropped; {DEFAULT_MIN_AREA_M2:g} m² by ",
        "default, about a garden shed, removes the specks of a few pixels that a model leaves along edges; 0 ",
        "keeps them all.</li></ul>",
        "<p>The model runs in a separate Python environment, the <i>backend</i>, never inside QGIS. Set it up ",
        "under Raster ▸ Semantic change detection ▸ Settings (there, <i>Check backend</i> shows PyTorch's ",
        "version, the runtime and its providers, and the GPUs it sees). ",
        "Cancel stops the backend within two seconds and writes no output. To ",
        "run many image pairs, use <i>Run as Batch Process…</i>.</p>",
    )
)


def add_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    """Add every parameter of the algorithm, in the dialog's order."""
    algorithm.addParameter(QgsProcessingParameterRasterLayer(BEFORE, "Before image"))
    algorithm.addParameter(QgsProcessingParameterRasterLayer(AFTER, "After image"))
    algorithm.addParameter(
        QgsProcessingParameterFile(
            MODEL,
            "Model checkpoint (empty: the bundled demo model)",
            fileFilter="scd models (*.pt *.pth *.ckpt *.onnx);;All files (*.*)",
            optional=True,
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterFeatureSource(AOI, "Area of interest", [QgsProcessing.TypeVectorPolygon], optional=True)
    )
    algorithm.addParameter(QgsProcessingParameterExtent(EXTENT, "Extent", optional=True))
    for parameter in _advanced_parameters():
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        algorithm.addParameter(parameter)
    algorithm.addParameter(
        QgsProcessingParameterFeatureSink(OUTPUT, "Changes (from-to polygons)", QgsProcessing.TypeVectorPolygon)
    )
    algorithm.addParameter(
        QgsProcessingParameterFeatureSink(
            OUTPUT_MATRIX, "Change matrix (hectares)", QgsProcessing.TypeVector, optional=True
        )
    )
    for name, description in (
        (OUTPUT_RASTER, "Change types (raster of codes)"),
        (OUTPUT_PROBABILITY, "Change probability (raster, 0 to 1)"),
        (OUTPUT_BEFORE_CLASSES, "Classes before, where changed (raster)"),
        (OUTPUT_AFTER_CLASSES, "Classes after, where changed (raster)"),
    ):
        algorithm.addParameter(
            QgsProcessingParameterRasterDestination(name, description, optional=True, createByDefault=False)
        )


def _advanced_parameters() -> list[QgsProcessingParameterDefinition]:
    integer, double = QgsProcessingParameterNumber.Integer, QgsProcessingParameterNumber.Double
    return [
        QgsProcessingParameterBand(BANDS, "Bands", parentLayerParameterName=BEFORE, optional=True, allowMultiple=True),
        QgsProcessingParameterString(SCALE, "Scale (auto, auto-per-date, none or LOW,HIGH)", optional=True),
        QgsProcessingParameterNumber(TILE_SIZE, "Tile size (pixels)", integer, optional=True, minValue=TILE_MULTIPLE),
        QgsProcessingParameterNumber(OVERLAP, "Tile overlap (pixels)", integer, optional=True, minValue=0),
        QgsProcessingParameterNumber(BATCH_SIZE, "Batch size", integer, optional=True, minValue=1),
        QgsProcessingParameterEnum(DEVICE, "Device", options=list(DEVICES), defaultValue=0),
        QgsProcessingParameterEnum(RUNTIME, "Runtime", options=list(RUNTIMES), defaultValue=0),
        QgsProcessingParameterNumber(THRESHOLD, "Change threshold", double, optional=True, minValue=0, maxValue=1),
        QgsProcessingParameterNumber(MMU, "Minimum mapping unit (pixels)", integer, optional=True, minValue=0),
        QgsProcessingParameterNumber(
            MIN_AREA, "Minimum area (m²)", double, defaultValue=DEFAULT_MIN_AREA_M2, minValue=0
        ),
    ]
