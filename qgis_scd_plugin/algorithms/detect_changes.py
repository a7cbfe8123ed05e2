"""``scd:detectchanges``: compare a before and an after raster and map what changed from what to what.

The algorithm only prepares files and talks to the worker: it turns the parameters into a
``scd detect`` command, runs it in the backend (see :mod:`..backend` and :mod:`..worker`), and
copies the worker's GeoPackage and change-type raster to the destinations, styled.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QIcon

from .. import settings
from ..backend import Backend, BackendNotFoundError, find_backend, worker_environment
from ..detect_request import DEVICES, DetectRequest
from ..inputs import export_raster, extent_in, local_file, require_crs, write_aoi
from ..paths import DEMO_MODEL, ICON
from ..styling import (
    CHANGES_LAYER,
    STYLE_CHANGE_TYPES_ON_LOAD,
    STYLE_CHANGES_ON_LOAD,
    change_types_layer_name,
    changes_layer_name,
    embed_changes_style,
    write_change_types_style,
)
from ..worker import WorkerCancelledError, WorkerFailedError, run_worker

BEFORE, AFTER, MODEL, AOI, EXTENT = "BEFORE", "AFTER", "MODEL", "AOI", "EXTENT"
BANDS, TILE_SIZE, OVERLAP, BATCH_SIZE, DEVICE = "BANDS", "TILE_SIZE", "OVERLAP", "BATCH_SIZE", "DEVICE"
THRESHOLD, MIN_AREA = "THRESHOLD", "MIN_AREA"
OUTPUT, OUTPUT_RASTER = "OUTPUT", "OUTPUT_RASTER"

HELP = """<p>Finds where the land cover changed between two images of the same place and what it changed
<b>from</b> and <b>to</b> (for example <i>low vegetation → building</i>), using the six land-cover classes of
the SECOND data set: water, non-vegetated ground surface, low vegetation, tree, building, playground.</p>
<p>The result is a polygon layer, one polygon per changed patch, styled by change type (the colour's hue
says what the land became, its lightness what it was), with the fields <code>change_type</code> (1–36),
<code>from_name</code>, <code>to_name</code>, <code>area_m2</code> and <code>mean_prob</code> (the model's
mean confidence). Optionally also a raster of the change-type codes (0 = no change).</p>
<h3>Inputs</h3>
<ul>
<li><b>Before</b> and <b>After</b>: the two images, with a coordinate reference system. They need not share
a grid: the after image is resampled onto the before image's. Layers that are not local files (WMS,
XYZ/WMTS tiles, virtual rasters) are first exported by QGIS over the extent or AOI, so set one of them.</li>
<li><b>Model</b>: an scd checkpoint (.pt); by default the small demo model that comes with the plugin.
Results are only as good as the model's training data: use a model trained on imagery like yours
(resolution, bands, region).</li>
<li><b>Area of interest</b> or <b>Extent</b> (at most one): limit detection to polygons or a rectangle.
With <i>Selected features only</i>, only the selected AOI polygons are used.</li>
</ul>
<h3>Advanced</h3>
<ul>
<li><b>Bands</b>: the bands of both images that feed the model, in order (empty: the model's own choice,
usually bands 1, 2, 3 as red, green, blue).</li>
<li><b>Tile size</b> and <b>Overlap</b> (pixels): the image is processed in overlapping tiles; larger tiles
need more memory, overlap hides tile seams. Tile size is a multiple of 32 (empty: the model's own; overlap
empty: a quarter of the tile).</li>
<li><b>Batch size</b>: tiles per model call (empty: 8 on a GPU, 2 on the CPU).</li>
<li><b>Device</b>: <i>auto</i> uses a CUDA GPU when the backend has one, otherwise the CPU.</li>
<li><b>Change threshold</b> (0–1): how confident the model must be to call a pixel changed (empty: the
threshold the model learnt). Lower finds more changes and more false alarms.</li>
<li><b>Minimum area</b> (m²): smaller change polygons are dropped (empty: none are).</li>
</ul>
<p>The model runs in a separate Python environment, the <i>backend</i>, never inside QGIS. Set it up under
Raster ▸ Semantic change detection ▸ Settings (there, <i>Check backend</i> shows PyTorch's version and the
GPUs it sees). Cancel stops the backend within two seconds and writes no output. To run many image pairs,
use <i>Run as Batch Process…</i>.</p>"""


class DetectChangesAlgorithm(QgsProcessingAlgorithm):
    """Detect semantic changes between two rasters by running the scd worker out of process."""

    def name(self) -> str:
        return "detectchanges"

    def displayName(self) -> str:
        return "Detect semantic changes"

    def shortHelpString(self) -> str:
        return HELP

    def shortDescription(self) -> str:
        return "From-to land-cover change polygons between two images, by a deep-learning model run out of process."

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def createInstance(self) -> DetectChangesAlgorithm:
        return DetectChangesAlgorithm()

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(BEFORE, "Before image"))
        self.addParameter(QgsProcessingParameterRasterLayer(AFTER, "After image"))
        self.addParameter(
            QgsProcessingParameterFile(
                MODEL,
                "Model checkpoint",
                fileFilter="scd checkpoints (*.pt *.pth *.ckpt);;All files (*.*)",
                defaultValue=str(DEMO_MODEL) if DEMO_MODEL.is_file() else None,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                AOI, "Area of interest", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(QgsProcessingParameterExtent(EXTENT, "Extent", optional=True))
        for parameter in (
            QgsProcessingParameterBand(
                BANDS, "Bands", parentLayerParameterName=BEFORE, optional=True, allowMultiple=True
            ),
            QgsProcessingParameterNumber(
                TILE_SIZE, "Tile size (pixels)", QgsProcessingParameterNumber.Integer, optional=True, minValue=32
            ),
            QgsProcessingParameterNumber(
                OVERLAP, "Tile overlap (pixels)", QgsProcessingParameterNumber.Integer, optional=True, minValue=0
            ),
            QgsProcessingParameterNumber(
                BATCH_SIZE, "Batch size", QgsProcessingParameterNumber.Integer, optional=True, minValue=1
            ),
            QgsProcessingParameterEnum(DEVICE, "Device", options=list(DEVICES), defaultValue=0),
            QgsProcessingParameterNumber(
                THRESHOLD,
                "Change threshold",
                QgsProcessingParameterNumber.Double,
                optional=True,
                minValue=0,
                maxValue=1,
            ),
            QgsProcessingParameterNumber(
                MIN_AREA, "Minimum area (m²)", QgsProcessingParameterNumber.Double, optional=True, minValue=0
            ),
        ):
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(
            QgsProcessingParameterVectorDestination(
                OUTPUT, "Changes (from-to polygons)", QgsProcessing.TypeVectorPolygon
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                OUTPUT_RASTER, "Change types (raster of codes)", optional=True, createByDefault=False
            )
        )

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        try:
            backend = find_backend(settings.backend_python(), os.environ)
        except BackendNotFoundError as error:
            raise QgsProcessingException(str(error)) from None
        before = self._raster(parameters, BEFORE, context, "before")
        after = self._raster(parameters, AFTER, context, "after")
        model = self.parameterAsFile(parameters, MODEL, context)
        if not model or not os.path.isfile(model):
            raise QgsProcessingException(
                f"The model checkpoint '{model}' does not exist; choose an scd checkpoint (.pt)."
            )
        output = self.parameterAsOutputLayer(parameters, OUTPUT, context)
        output_raster = self.parameterAsOutputLayer(parameters, OUTPUT_RASTER, context)
        work_dir = tempfile.mkdtemp(prefix="scd_detect_", dir=QgsProcessingUtils.tempFolder())
        try:
            request = self._request(parameters, context, feedback, before, after, model, work_dir)
            outputs = self._detect(backend, request, feedback, work_dir)
            _copy(outputs["changes"], output)
            embed_changes_style(output)
            if output_raster:
                _copy(outputs["change_type"], output_raster)
                write_change_types_style(output_raster)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        self._prepare_map_layers(context, output, output_raster, before, after)
        feedback.pushInfo(f"{_count_changes(output)} change polygons written to {output}.")
        return {OUTPUT: output, OUTPUT_RASTER: output_raster or None}

    def _raster(
        self, parameters: dict[str, Any], name: str, context: QgsProcessingContext, role: str
    ) -> QgsRasterLayer:
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(f"The {role} image '{parameters.get(name)}' cannot be opened as a raster.")
        require_crs(layer, role)
        return layer

    def _request(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        before: QgsRasterLayer,
        after: QgsRasterLayer,
        model: str,
        work_dir: str,
    ) -> DetectRequest:
        """The worker's request: inputs as files (exporting what is not one), the area, the options."""
        aoi = self.parameterAsSource(parameters, AOI, context)
        extent = self.parameterAsExtent(parameters, EXTENT, context, before.crs())
        if aoi is not None and not extent.isNull():
            raise QgsProcessingException("Give an area of interest or an extent, not both.")

        def as_file(layer: QgsRasterLayer, role: str) -> str:
            path = local_file(layer)
            if path:
                return path
            if aoi is not None:
                area = extent_in(aoi.sourceExtent(), aoi.sourceCrs(), layer.crs(), context)
            elif not extent.isNull():
                area = self.parameterAsExtent(parameters, EXTENT, context, layer.crs())
            else:
                area = layer.extent()
            path = export_raster(layer, area, os.path.join(work_dir, f"{role}.tif"), context, feedback)
            if feedback.isCanceled():
                raise QgsProcessingException("Cancelled; no output was written.")
            return path

        return DetectRequest(
            before=as_file(before, "before"),
            after=as_file(after, "after"),
            out_dir=os.path.join(work_dir, "detect"),
            model=model,
            aoi=write_aoi(aoi, os.path.join(work_dir, "aoi.gpkg"), context) if aoi is not None else None,
            bbox=None
            if extent.isNull()
            else (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
            bbox_crs=before.crs().authid(),
            bands=self.parameterAsInts(parameters, BANDS, context),
            tile_size=self._optional(parameters, TILE_SIZE, context, int),
            overlap=self._optional(parameters, OVERLAP, context, int),
            batch_size=self._optional(parameters, BATCH_SIZE, context, int),
            device=DEVICES[self.parameterAsEnum(parameters, DEVICE, context)],
            threshold=self._optional(parameters, THRESHOLD, context, float),
            min_area=self._optional(parameters, MIN_AREA, context, float),
        )

    def _optional(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext, kind: type) -> Any:
        """A number parameter's value, or None when it is empty (the engine's default then applies)."""
        value = parameters.get(name, self.parameterDefinition(name).defaultValue())
        if value is None or value == "":
            return None
        if kind is int:
            return self.parameterAsInt(parameters, name, context)
        return self.parameterAsDouble(parameters, name, context)

    def _detect(
        self, backend: Backend, request: DetectRequest, feedback: QgsProcessingFeedback, work_dir: str
    ) -> dict[str, str]:
        """Run the worker; its ``done`` event's output paths."""
        command = backend.command(*request.arguments())
        feedback.pushInfo(f"Backend from {backend.found_in}: {backend.python}")
        feedback.pushCommandInfo(shlex.join(command))
        try:
            done = run_worker(command, worker_environment(os.environ), feedback, work_dir)
        except WorkerCancelledError:
            raise QgsProcessingException("Cancelled; the worker was stopped and no output was written.") from None
        except WorkerFailedError as failure:
            raise QgsProcessingException(str(failure)) from None
        return done["outputs"]

    def _prepare_map_layers(
        self,
        context: QgsProcessingContext,
        output: str,
        output_raster: str,
        before: QgsRasterLayer,
        after: QgsRasterLayer,
    ) -> None:
        """Name and style the layers Processing adds to the map: what they are and which images they compare."""
        for path, name, post_processor in (
            (output, changes_layer_name(before.name(), after.name()), STYLE_CHANGES_ON_LOAD),
            (output_raster, change_types_layer_name(before.name(), after.name()), STYLE_CHANGE_TYPES_ON_LOAD),
        ):
            if path and context.willLoadLayerOnCompletion(path):
                details = context.layerToLoadOnCompletionDetails(path)
                details.name = name
                details.setPostProcessor(post_processor)


def _copy(source: str, destination: str) -> None:
    """Copy a worker output to its destination, making the destination's folder when needed."""
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    shutil.copyfile(source, destination)


def _count_changes(geopackage: str) -> int:
    return QgsVectorLayer(f"{geopackage}|layername={CHANGES_LAYER}", CHANGES_LAYER, "ogr").featureCount()
