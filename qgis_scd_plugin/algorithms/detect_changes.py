"""``scd:detectchanges``: compare a before and an after raster and map what changed from what to what.

The algorithm only checks values, prepares files and talks to the worker: it turns the parameters
into a ``scd detect`` command, runs it in the backend (see :mod:`..backend` and :mod:`..worker`), and
writes the worker's results to the destinations, styled and described (:mod:`..outputs`).

Values are checked in :meth:`DetectChangesAlgorithm.checkParameterValues`, which the dialog,
``processing.run`` and ``qgis_process`` all call before the run: a bad value is refused there, in
the dialog's words, before the worker starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessingContext,
    QgsProcessingDestinationParameter,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsWkbTypes,
)

from .. import settings
from ..backend import Backend, worker_environment
from ..backend_setup import parse_report, probe_command
from ..detect_request import DetectRequest
from ..inputs import dataset_name, export_raster, extent_in, write_vector
from ..options import (
    OptionError,
    check_bands,
    check_option,
    check_overlap,
    parse_bands,
    parse_choice,
    parse_mask_values,
    parse_number,
    parse_scale,
)
from ..outputs import (
    RASTER_KEEPS_SMALL_PATCHES,
    attribute_fields,
    copy_features,
    copy_raster,
    describe_vector_output,
    destination_text,
    make_destination_folder,
    ran_on,
    read_matrix,
    read_run,
    run_metadata,
    worker_changes,
)
from ..paths import DEMO_MODEL, metadata
from ..shared import vocabulary
from ..styling import Looks, changes_layer_name, looks_of, style_on_load
from ..worker import run_worker
from .base import ScdAlgorithm
from .parameters import (
    AFTER,
    AOI,
    BANDS,
    BATCH_SIZE,
    BEFORE,
    DECODE,
    DEVICE,
    EXTENT,
    HELP,
    MASK_AFTER,
    MASK_BEFORE,
    MASK_VALUES,
    MIN_AREA,
    MMU,
    MODEL,
    OPTION_OF,
    OUTPUT,
    OUTPUT_MATRIX,
    OVERLAP,
    PRECISION,
    RASTER_OUTPUTS,
    RUNTIME,
    SCALE,
    THRESHOLD,
    TILE_SIZE,
    add_parameters,
    choices,
    engine_words,
)

#: How long the check of a backend's GPUs may take (it imports PyTorch).
_GPU_CHECK_SECONDS = 120
_CHOOSE_MODEL = "choose an scd checkpoint (.pt) or its ONNX export (.onnx)."
#: What a layer that is no file is exported over, as the messages of :func:`..inputs.export_raster` name it.
_EXPORT_AREA = "the Area of interest or Extent"


def resolve_model(value: str, label: str) -> str:
    """The checkpoint to run: the bundled demo model when MODEL is empty, else MODEL made absolute
    against the caller's working folder (QGIS's or qgis_process's), not the worker's."""
    if not value:
        if not DEMO_MODEL.is_file():
            raise OptionError(f"{label}: this copy of the plugin has no demo model; {_CHOOSE_MODEL}")
        return str(DEMO_MODEL)
    path = os.path.abspath(os.path.expanduser(value))
    if not os.path.isfile(path):
        raise OptionError(f"{label}: the file '{value}' does not exist; {_CHOOSE_MODEL}")
    return path


def check_gpu(backend: Backend, label: str) -> None:
    """Refuse ``cuda`` when the backend's PyTorch sees no CUDA GPU, before the worker starts (the
    backend's own check, a few seconds: it imports PyTorch)."""
    try:
        probe = subprocess.run(
            probe_command(backend.python),
            env=worker_environment(os.environ),
            capture_output=True,
            text=True,
            timeout=_GPU_CHECK_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        report = parse_report(probe.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        raise OptionError(f"{label}: cannot ask the backend {backend.python} which GPUs it has: {error}") from None
    if not report.cuda_devices:
        raise OptionError(
            f"{label}: cuda was chosen, but the backend's PyTorch ({backend.python}) sees no CUDA GPU; "
            "choose auto or cpu (Settings ▸ Check backend shows what it sees)."
        )


class DetectChangesAlgorithm(ScdAlgorithm):
    """Detect semantic changes between two rasters by running the scd worker out of process."""

    def name(self) -> str:
        return "detectchanges"

    def displayName(self) -> str:
        return "Detect semantic changes"

    def shortHelpString(self) -> str:
        return HELP

    def shortDescription(self) -> str:
        return "From-to land-cover change polygons between two images, by a deep-learning model run out of process."

    def tags(self) -> list[str]:
        return [tag.strip() for tag in metadata("tags").split(",")]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        add_parameters(self)

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        """Refuse what the run could not use, naming the value by its label in the dialog; the options
        of the run (:meth:`_options`)."""
        options = self._options(parameters, context)
        for name, which in ((BEFORE, "earlier"), (AFTER, "later")):
            if not parameters.get(name, self.parameterDefinition(name).defaultValue()):
                raise OptionError(f"{self._label(name)}: choose the {which} image, a raster layer or file.")
        if parameters.get(AOI) and not self.parameterAsExtent(parameters, EXTENT, context).isNull():
            raise OptionError(f"{self._label(AOI)} and {self._label(EXTENT)}: give one of them, not both.")
        images = [
            (role, layer.name(), layer.bandCount())
            for role, layer in (
                ("before", self.parameterAsRasterLayer(parameters, BEFORE, context)),
                ("after", self.parameterAsRasterLayer(parameters, AFTER, context)),
            )
            if layer is not None
        ]
        check_bands(options["bands"], images, self._label(BANDS))
        if options["mask_values"] and not (parameters.get(MASK_BEFORE) or parameters.get(MASK_AFTER)):
            raise OptionError(
                f"{self._label(MASK_VALUES)}: they say which values of a mask to mask; choose "
                f"{self._label(MASK_BEFORE)} or {self._label(MASK_AFTER)}, or leave them empty."
            )
        for definition in self.destinationParameterDefinitions():
            self._check_destination(definition, parameters, context)
        return options

    def _options(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        """The model and the options of :class:`DetectRequest`, read from the parameters and checked."""
        model = resolve_model(str(self._value(parameters, MODEL, context) or ""), self._label(MODEL))
        options: dict[str, Any] = {
            "model": model,
            "bands": parse_bands(parameters.get(BANDS), self._label(BANDS)),
            "scale": parse_scale(parameters.get(SCALE), self._label(SCALE)),
            "mask_values": parse_mask_values(parameters.get(MASK_VALUES), self._label(MASK_VALUES)),
        }
        for name in (DEVICE, RUNTIME, PRECISION, DECODE):
            options[OPTION_OF[name]] = parse_choice(self._value(parameters, name, context), choices(name),
                                                    self._label(name))  # fmt: skip
        for name in (TILE_SIZE, OVERLAP, BATCH_SIZE, THRESHOLD, MMU, MIN_AREA):
            option = OPTION_OF[name]
            integer = vocabulary.OPTIONS[option].type is int
            options[option] = parse_number(self._value(parameters, name, context), self._label(name), integer)
            check_option(options[option], option, self._label(name))
        check_overlap(options["tile"], options["overlap"], self._label(OVERLAP))
        if model.lower().endswith(".onnx") and options["runtime"] == "torch":
            raise OptionError(
                f"{self._label(RUNTIME)}: torch cannot run an ONNX model ({os.path.basename(model)}); choose "
                f"auto or onnxruntime, or a .pt checkpoint as {self._label(MODEL)}."
            )
        return options

    def _check_destination(
        self,
        definition: QgsProcessingDestinationParameter,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
    ) -> None:
        """Refuse, before the run, a destination in a format that cannot hold the output (the provider's
        rule, which the dialog also applies as the destination is chosen)."""
        value = parameters.get(definition.name())
        if self.provider() is None or value is None:
            return
        supported, problem = definition.isSupportedOutputValue(value, context)
        if not supported:
            raise OptionError(problem)

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, options = self._prepare(parameters, context)
        if options["device"] == "cuda":
            try:
                check_gpu(backend, self._label(DEVICE))
            except OptionError as error:
                raise QgsProcessingException(str(error)) from None
        before = self._raster(parameters, BEFORE, context, "before")
        after = self._raster(parameters, AFTER, context, "after")
        if _same_image(before, after):
            feedback.pushWarning(
                f"The before and after images are the same image ({before.source()}): nothing can have "
                "changed, so every change found is the model's error. Choose two dates of the same place."
            )
        work_dir = tempfile.mkdtemp(prefix="scd_detect_", dir=QgsProcessingUtils.tempFolder())
        try:
            request = self._request(parameters, context, feedback, before, after, options, work_dir)
            outputs = self._detect(backend, request, feedback, work_dir)
            return self._write_outputs(parameters, context, feedback, outputs, (before.name(), after.name()))
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _request(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        before: QgsRasterLayer,
        after: QgsRasterLayer,
        options: dict[str, Any],
        work_dir: str,
    ) -> DetectRequest:
        """The worker's request: inputs as files (exporting what is not one), the area, the options."""
        aoi = self.parameterAsSource(parameters, AOI, context)
        extent = self.parameterAsExtent(parameters, EXTENT, context, before.crs())

        def as_file(layer: QgsRasterLayer, role: str) -> str:
            name = dataset_name(layer)
            if name:
                return name
            if aoi is not None:
                area = extent_in(aoi.sourceExtent(), aoi.sourceCrs(), layer.crs(), context)
            elif not extent.isNull():
                area = self.parameterAsExtent(parameters, EXTENT, context, layer.crs())
            else:
                area = layer.extent()
            path = export_raster(layer, area, os.path.join(work_dir, f"{role}.tif"), context, feedback, _EXPORT_AREA)
            if feedback.isCanceled():
                raise QgsProcessingException("Cancelled; no output was written.")
            return path

        def mask_file(name: str, role: str) -> str | None:
            layer = self.parameterAsRasterLayer(parameters, name, context)
            return None if layer is None else as_file(layer, role)

        return DetectRequest(
            before=as_file(before, "before"),
            after=as_file(after, "after"),
            out_dir=os.path.join(work_dir, "detect"),
            aoi=write_vector(aoi, os.path.join(work_dir, "aoi.gpkg"), "aoi", context) if aoi is not None else None,
            bbox=None
            if extent.isNull()
            else (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
            bbox_crs=before.crs().authid(),
            mask_before=mask_file(MASK_BEFORE, "mask_before"),
            mask_after=mask_file(MASK_AFTER, "mask_after"),
            **options,
        )

    def _detect(
        self, backend: Backend, request: DetectRequest, feedback: QgsProcessingFeedback, work_dir: str
    ) -> dict[str, str]:
        """Run the worker; its ``done`` event's output paths."""
        if _may_export(request) and not settings.model_has_run(request.model):
            feedback.pushInfo(
                "First run of this model here: exporting the model for the CPU runtime (once, ~30 s) before "
                "detection starts."
            )
        done = self._run_engine(run_worker, backend, request.arguments(), feedback, work_dir, self._engine_words())
        settings.remember_model_run(request.model)
        return dict(done["outputs"])

    def _engine_words(self) -> dict[str, str]:
        """The engine's names of the options and inputs (its flags, its arguments), each with its label."""
        return {word: self._label(name) for word, name in engine_words().items()}

    def _write_outputs(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        outputs: dict[str, str],
        names: tuple[str, str],
    ) -> dict[str, Any]:
        """Write the worker's results to the destinations that were asked for, styled as the kind of run
        (:func:`~..styling.looks_of`) says; the algorithm's results."""
        run = read_run(outputs["run"])
        looks = looks_of(run)
        feedback.pushInfo(ran_on(run))
        title = changes_layer_name(*names)
        changes = worker_changes(outputs["changes"])
        fields, indexes = attribute_fields(changes)
        make_destination_folder(destination_text(parameters.get(OUTPUT), context))
        sink, destination = self.parameterAsSink(parameters, OUTPUT, context, fields, changes.wkbType(), changes.crs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        count = copy_features(changes, indexes, sink, feedback)
        del sink, changes  # closes the destination and the worker's file
        metadata = run_metadata(run, title, looks.polygons_what)
        describe_vector_output(destination, context, feedback, metadata, looks.polygons_style)
        feedback.pushInfo(f"{count} change polygons written to {destination}.")
        results: dict[str, Any] = {OUTPUT: destination}
        style_on_load(context, destination, title, looks.polygons_style)
        matrix = self._write_matrix(parameters, context, feedback, outputs["summary"], run, names, looks)
        results[OUTPUT_MATRIX] = matrix
        if matrix:
            style_on_load(context, matrix, looks.table_name(*names), None)  # a table: only its name
        for name, worker_output in RASTER_OUTPUTS.items():
            path = self._raster_destination(parameters, name, context, feedback, worker_output in looks.rasters)
            results[name] = path
            if path:
                style, layer_name = looks.rasters[worker_output]
                what = f"{self.parameterDefinition(name).description()}. {RASTER_KEEPS_SMALL_PATCHES}"
                copy_raster(outputs[worker_output], path, style, run_metadata(run, layer_name(*names), what))
                style_on_load(context, path, layer_name(*names), style)
        return results

    def _raster_destination(
        self,
        parameters: dict[str, Any],
        name: str,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        written: bool,
    ) -> str | None:
        """Where the raster output ``name`` goes; None when it is not asked for, or when the run did not
        write it (``written`` false: a change-only model's class maps, which the log then names)."""
        if _left_empty(parameters, name, context):
            return None
        if not written:
            if destination_text(parameters.get(name), context):
                feedback.pushWarning(f"{self._label(name)}: a change-only model maps no classes; not written.")
            return None
        return self.parameterAsOutputLayer(parameters, name, context) or None

    def _write_matrix(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        summary_csv: str,
        run: dict[str, Any],
        names: tuple[str, str],
        looks: Looks,
    ) -> str | None:
        """The run's table (the from × to matrix, or a change-only model's changed area), when asked
        for; its destination."""
        if _left_empty(parameters, OUTPUT_MATRIX, context):
            return None
        fields, features = read_matrix(summary_csv)
        make_destination_folder(destination_text(parameters.get(OUTPUT_MATRIX), context))
        sink, destination = self.parameterAsSink(
            parameters, OUTPUT_MATRIX, context, fields, QgsWkbTypes.NoGeometry, QgsCoordinateReferenceSystem()
        )
        if sink is None:
            return None
        if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(f"Cannot write the change matrix: {sink.lastError()}")
        del sink
        metadata = run_metadata(run, looks.table_name(*names), looks.table_what)
        describe_vector_output(destination, context, feedback, metadata, None)
        return str(destination)


def _left_empty(parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> bool:
    """Whether an optional output was given as an empty destination, as the batch dialog gives each one
    left empty: no output then (reading it as a layer would register a layer "" to load, which Processing
    reports as "not correctly generated")."""
    return name in parameters and not destination_text(parameters[name], context)


def _may_export(request: DetectRequest) -> bool:
    """Whether the engine may export the model to ONNX for this run: a checkpoint (not an .onnx file)
    that may run in ONNX Runtime on the CPU (the engine's ``auto`` runs it in torch on a GPU)."""
    return not request.model.lower().endswith(".onnx") and request.runtime != "torch" and request.device != "cuda"


def _same_image(before: QgsRasterLayer, after: QgsRasterLayer) -> bool:
    return before.id() == after.id() or (dataset_name(before) or before.source()) == (
        dataset_name(after) or after.source()
    )
