"""``scd:detectseries``: changes over a series of images, one per date, and when each pixel changed.

The algorithm runs ``scd series`` in the backend (:mod:`..worker`), as Detect semantic changes runs
``scd detect``, with the same detection options (the same parameters, read and checked the same way).
The images are ordered by date as the engine orders them: by the Dates given, else by each file's
metadata (acquisition tags, Sentinel-2 and Landsat names), else in the order listed. The series is
written into the output folder as the engine writes it, so a second run into the same folder skips the
pairs done before; the first-change, last-change and change-count rasters load paletted with the
periods' names, and the polygons of every period coloured by period.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from .. import settings
from ..inputs import dataset_name
from ..options import OptionError, parse_choice
from ..outputs import load_on_completion
from ..series_styles import period_layer, periods_layer
from ..shared import vocabulary
from ..worker import run_worker
from .detect_changes import DetectChangesAlgorithm
from .parameters import (
    BANDS,
    EXTENT,
    MASK_AFTER,
    MASK_BEFORE,
    MASK_VALUES,
    PARAMETER_HELP,
    advanced_parameters,
    default_first,
    engine_words,
    model_parameter,
)

RASTERS, DATES, PAIRS, MASKS, OUTPUT_FOLDER = "RASTERS", "DATES", "PAIRS", "MASKS", "OUTPUT_FOLDER"
FIRST_CHANGE, LAST_CHANGE, CHANGE_COUNT, CHANGES, REPORT = (
    "FIRST_CHANGE",
    "LAST_CHANGE",
    "CHANGE_COUNT",
    "CHANGES",
    "REPORT",
)
#: The detection options Detect semantic changes has that a series has not: Bands (a before image's
#: list) and the two dates' masks (a series has one per date, Masks).
_NOT_HERE = (BANDS, MASK_BEFORE, MASK_AFTER)
#: Each raster output, the engine's product it is and its layer's name.
_RASTERS = {
    FIRST_CHANGE: ("first_change", "First change"),
    LAST_CHANGE: ("last_change", "Last change"),
    CHANGE_COUNT: ("change_count", "Periods with change"),
}
_HELP = {
    RASTERS: "The images, one per date, all of one place. They are ordered by date: by Dates, else by each "
    "file's metadata (an acquisition date tag, a Sentinel-2 or Landsat file name), else in the order listed. "
    "Each must be a file GDAL reads (save other layers as GeoTIFF first).",
    DATES: "The images' dates, one per image in the order listed: YYYY-MM-DD, YYYYMMDD, YYYY-MM or YYYY, "
    "separated by commas. Empty: from the files, else the order listed (dates 1, 2, 3…).",
    PAIRS: "consecutive compares each date with the next; first compares the first date with each later one.",
    MASKS: "Optional: one mask per image, in the same order (clouds, shadows; any grid). Its non-zero pixels, "
    "or those of Mask values, are left out of every output of the pairs that image is in.",
    OUTPUT_FOLDER: "The series' folder: a folder per pair of dates as Detect semantic changes writes it, and "
    "the series' rasters, tables, polygons and report. Run again into the same folder, the pairs done before "
    "with the same inputs and options are skipped.",
}
HELP = "".join(
    (
        "<p>Finds what changed between the dates of a series of images of one place and <b>when</b> each ",
        "pixel changed: each pair of dates (each date and the next, or the first and each later one) is ",
        "compared as <i>Detect semantic changes</i> compares two images, with one model.</p>",
        "<p>Loads the period in which each pixel first and last changed and how many periods it changed in, ",
        "with a legend of the periods, and the change polygons of every period coloured by period; the ",
        "folder also holds each pair's outputs, series.csv (hectares of each change in each period) and ",
        "report.html.</p>",
    )
)


class DetectSeriesAlgorithm(DetectChangesAlgorithm):
    """Detect changes over a series of dates by running ``scd series`` out of process."""

    def name(self) -> str:
        return "detectseries"

    def displayName(self) -> str:
        return "Detect changes in a time series"

    def shortHelpString(self) -> str:
        return HELP

    def shortDescription(self) -> str:
        return "When each pixel changed over a series of images, and what it changed from and to in each period."

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        pairings = vocabulary.OPTIONS["pairing"]
        main = [
            QgsProcessingParameterMultipleLayers(RASTERS, "Images, one per date", QgsProcessing.TypeRaster),
            QgsProcessingParameterString(DATES, vocabulary.OPTIONS["dates"].label, optional=True),
            QgsProcessingParameterEnum(
                PAIRS, pairings.label, options=list(default_first(pairings, pairings.choices)), defaultValue=0
            ),
            model_parameter(),
            QgsProcessingParameterExtent(EXTENT, vocabulary.OPTIONS["bbox"].label, optional=True),
        ]
        advanced = [p for p in advanced_parameters() if p.name() not in _NOT_HERE]
        advanced.append(
            QgsProcessingParameterMultipleLayers(
                MASKS, vocabulary.OPTIONS["mask_series"].label, QgsProcessing.TypeRaster, optional=True
            )
        )
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        for parameter in [*main, *advanced, QgsProcessingParameterFolderDestination(OUTPUT_FOLDER, "Series folder")]:
            parameter.setHelp(_HELP.get(parameter.name()) or PARAMETER_HELP.get(parameter.name(), ""))
            self.addParameter(parameter)
        for name, (_, title) in _RASTERS.items():
            self.addOutput(QgsProcessingOutputRasterLayer(name, title))
        self.addOutput(
            QgsProcessingOutputVectorLayer(CHANGES, "Changes of every period", QgsProcessing.TypeVectorPolygon)
        )
        self.addOutput(QgsProcessingOutputFile(REPORT, "Report (report.html)"))

    def _label(self, name: str) -> str:
        """A parameter's label; a detection option this algorithm has not (Bands) by its name."""
        definition = self.parameterDefinition(name)
        return definition.description() if definition is not None else name

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        """The detection options (Detect semantic changes' checks), and the series' own: two images or
        more, a mask per image, Mask values only with masks, one date per image."""
        options = self._options(parameters, context)
        images = self.parameterAsLayerList(parameters, RASTERS, context)
        if len(images) < 2:
            raise OptionError(f"{self._label(RASTERS)}: choose two images or more, one per date.")
        masks = self.parameterAsLayerList(parameters, MASKS, context)
        if masks and len(masks) != len(images):
            raise OptionError(f"{self._label(MASKS)}: choose one mask per image ({len(images)}), or none.")
        if options.get("mask_values") and not masks:
            raise OptionError(f"{self._label(MASK_VALUES)}: they say which values of the masks to mask; choose Masks.")
        dates = str(self._value(parameters, DATES, context) or "").strip()
        if dates and len(dates.split(",")) != len(images):
            raise OptionError(f"{self._label(DATES)}: give one date per image ({len(images)}), separated by commas.")
        pairings = vocabulary.OPTIONS["pairing"]
        options["pairing"] = parse_choice(
            self._value(parameters, PAIRS, context), default_first(pairings, pairings.choices), self._label(PAIRS)
        )
        options["dates"] = dates or None
        return options

    def _files(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> list[str]:
        """The files of a layer list, each a name GDAL reads."""
        files = []
        for layer in self.parameterAsLayerList(parameters, name, context):
            file = dataset_name(layer)
            if not file:
                raise QgsProcessingException(
                    f"{self._label(name)}: {layer.name()} is no file GDAL reads; save it as a GeoTIFF first."
                )
            files.append(file)
        return files

    def _arguments(
        self, parameters: dict[str, Any], context: QgsProcessingContext, options: dict[str, Any]
    ) -> list[str]:
        """``series …``: the images, the folder, the model and every option given."""
        images = self._files(parameters, RASTERS, context)
        folder = self.parameterAsFileOutput(parameters, OUTPUT_FOLDER, context)
        arguments = ["series", *images, "-o", folder, "--model", options["model"]]
        for name, value in options.items():
            if name in ("model", "bands") or value is None:
                continue
            arguments += [vocabulary.OPTIONS[name].flag, str(value)]
        extent = self.parameterAsExtent(parameters, EXTENT, context)
        if not extent.isNull():
            crs = self.parameterAsExtentCrs(parameters, EXTENT, context).authid()
            corners = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
            arguments += ["--bbox", ",".join(repr(float(v)) for v in corners) + (f",{crs}" if crs else "")]
        masks = self._files(parameters, MASKS, context)
        return [*arguments, *(["--mask-series", *masks] if masks else []), "--progress", "json"]

    def _engine_words(self) -> dict[str, str]:
        """The engine's names of this algorithm's options, each with its label."""
        names = {**engine_words(), "--dates": DATES, "--pairs": PAIRS, "--mask-series": MASKS, "RASTER": RASTERS}
        return {word: self._label(name) for word, name in names.items() if self.parameterDefinition(name)}

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, options = self._prepare(parameters, context)
        arguments = self._arguments(parameters, context, options)
        work_dir = tempfile.mkdtemp(prefix="scd_series_", dir=QgsProcessingUtils.tempFolder())
        try:
            done = self._run_engine(run_worker, backend, arguments, feedback, work_dir, self._engine_words())
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        settings.remember_model_run(options["model"])
        return self._load(dict(done["outputs"]), list(done["periods"]), context, feedback)

    def _load(
        self, products: dict[str, str], periods: list[dict[str, Any]], context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:  # fmt: skip
        """Style the series' rasters and polygons and load them once the run is over; the results."""
        feedback.pushInfo(f"{len(periods)} periods: {', '.join(p['label'] for p in periods)}.")
        results: dict[str, Any] = {OUTPUT_FOLDER: os.path.dirname(products["report"]), REPORT: products["report"]}
        layers = {}
        for name, (product, title) in _RASTERS.items():
            layers[name] = period_layer(products[product], title)
            results[name] = products[product]
            load_on_completion(context, layers[name], name)
        changes = periods_layer(products["series_layer"], "Changes by period", layers[FIRST_CHANGE])
        results[CHANGES] = products["series_layer"]
        load_on_completion(context, changes, CHANGES)
        return results
