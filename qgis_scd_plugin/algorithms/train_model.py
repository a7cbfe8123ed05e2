"""``scd:trainmodel``: teach a change model the analyst's own imagery and labels, with ``scd train``.

The inputs are a before and an after image and their labels (a raster, or polygons with the fields
that say what changed), or a PAIRS.csv of many pairs as ``scd train`` reads it. The images and labels
become a one-row PAIRS.csv in a temporary folder, each layer by its file where the engine can read it,
else exported there. ``scd train`` then runs in the backend, its run folder in the temporary folder
too; only a finished run is moved beside the output checkpoint, and its ``model.pt`` copied to it, so
a cancelled or failed run leaves nothing behind. The checkpoint becomes the model "Detect semantic
changes" offers (:func:`..settings.last_trained_model`).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFolder,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsRectangle,
)

from .. import settings
from ..inputs import export_raster, extent_in, plain_raster_file
from ..options import OptionError, parse_choice
from ..outputs import destination_text, make_destination_folder
from ..shared import vocabulary
from ..worker import run_worker
from .base import CANCELLED, ScdAlgorithm
from .parameters import number_parameter

BEFORE, AFTER, PAIRS, OUTPUT, RUN_FOLDER = "BEFORE", "AFTER", "PAIRS", "OUTPUT", "RUN_FOLDER"
LABELS, LABEL_KIND, POLYGONS, LAND_COVER_AFTER = "LABELS", "LABEL_KIND", "POLYGONS", "LAND_COVER_AFTER"
CHANGE_FIELD, FROM_FIELD, TO_FIELD, CLASS_FIELD = "CHANGE_FIELD", "FROM_FIELD", "TO_FIELD", "CLASS_FIELD"
NO_CHANGE_OUTSIDE, CLASSES, BASE_MODEL = "NO_CHANGE_OUTSIDE", "CLASSES", "BASE_MODEL"
EPOCHS, CHIPS, CHIP_SIZE, BATCH_SIZE = "EPOCHS", "CHIPS", "CHIP_SIZE", "BATCH_SIZE"
#: Each option parameter and ``scd train``'s option it sets (:data:`scd_core.vocabulary.TRAIN`).
OPTION_OF = {
    EPOCHS: "epochs",
    CHIPS: "chips",
    CHIP_SIZE: "chip_size",
    BATCH_SIZE: "batch_size",
    BASE_MODEL: "init",
    CLASSES: "classes",
    CHANGE_FIELD: "change_field",
    FROM_FIELD: "from_field",
    TO_FIELD: "to_field",
    CLASS_FIELD: "class_field",
    NO_CHANGE_OUTSIDE: "unlabelled",
}
NUMBERS = (EPOCHS, CHIPS, CHIP_SIZE, BATCH_SIZE)
FILES = (BASE_MODEL, CLASSES)
FIELDS = (CHANGE_FIELD, FROM_FIELD, TO_FIELD, CLASS_FIELD)
#: The label raster's kinds, in the dialog's words, and PAIRS.csv's column of each.
LABEL_KINDS = ("change (values above 0; nodata ignored)", "from-to change codes")
LABEL_COLUMNS = ("change", "fromto")
#: PAIRS.csv's columns of the polygon labels: change polygons, or the land cover of each date.
CHANGE_POLYGONS, LAND_COVERS = ("labels",), ("labels1", "labels2")
#: The run folder beside the trained model ``name.pt``: ``name`` and this.
RUN_SUFFIX = "_run"

PARAMETER_HELP = {
    BEFORE: "The earlier image, with a coordinate reference system: the labels are read on its grid.",
    AFTER: "The later image of the same place (resampled onto the before image's grid).",
    PAIRS: "Instead of the images and labels: a PAIRS.csv of many pairs, as scd train reads it (columns "
    "id, before, after, optional split, and the labels: change, label1+label2, fromto, labels, or "
    "labels1+labels2). The fields below apply to its polygon labels.",
    LABELS: "The labels as a raster on any grid that overlaps the images; its nodata is unlabelled.",
    LABEL_KIND: "What the label raster holds: change (any value above 0 is change, 0 no change), or the "
    "from-to change codes that Detect semantic changes writes as Change types (then give the Class table, "
    "unless the raster names its categories).",
    POLYGONS: "The labels as polygons (any CRS): change polygons, or with Land cover after, the land cover "
    "before. With Selected features only, only the selected ones.",
    LAND_COVER_AFTER: "Land cover polygons of the after date; Labels (polygons) then holds those of the before "
    "date, both classed by Class field, and a change is where they differ.",
    CHANGE_FIELD: "Change polygons: the field that says changed (above 0, true or yes); empty: every polygon "
    "is change.",
    FROM_FIELD: "Change polygons: the class before (a code or a name); with To field.",
    TO_FIELD: "Change polygons: the class after (a code or a name); with From field.",
    CLASS_FIELD: "Land cover polygons: the class of each (a code or a name).",
    NO_CHANGE_OUTSIDE: "Whether the ground outside every label polygon did not change; otherwise it is "
    "unlabelled and does not train.",
    CLASSES: "A YAML list of the classes, code 1 first (names, or {name:, colour: [r, g, b]}). Empty: the "
    "label raster's categories and colours, or the classes the polygons name.",
    BASE_MODEL: "A checkpoint to fine-tune (a trained model, the plugin's demo model…): its model, bands and "
    "normalisation. Empty: a fresh model by scd train's recipe.",
    EPOCHS: "Passes over the training chips; the recipe's default fits a small labelled set on a laptop CPU "
    "in about an hour.",
    CHIPS: "Random training chips an epoch, half of them centred on a changed pixel.",
    CHIP_SIZE: f"The side of a training chip in pixels, a multiple of {vocabulary.TILE_MULTIPLE}.",
    BATCH_SIZE: "Chips a training step; more needs more memory.",
    OUTPUT: "The trained checkpoint (.pt). The run folder (log, metrics per epoch, the state scd train "
    "--resume continues) is written beside it, named after it with _run.",
}

HELP = "".join(
    (
        "<p>Trains a change detection model on your own imagery and labels with the engine's ",
        "<code>scd train</code>, in the backend. Give a before and an after image and their labels, a raster ",
        "(change, or from-to codes) or polygons (change polygons, or the land cover of each date), or a ",
        "PAIRS.csv of many pairs. Change-only labels train a change / no change model; classes train a ",
        "semantic one.</p>",
        "<p>Progress shows each epoch's loss and validation score (change F1, SeK for classes), on a part of ",
        "the labels held out. The result is a checkpoint that <i>Detect semantic changes</i> offers as its ",
        "model at once. Cancel stops the training and writes nothing.</p>",
    )
)


def run_folder_of(model: str) -> str:
    """The run folder written beside the trained model ``model``."""
    return os.path.splitext(model)[0] + RUN_SUFFIX


class TrainModelAlgorithm(ScdAlgorithm):
    """Train a change model on the analyst's pairs by running ``scd train`` in the backend."""

    def name(self) -> str:
        return "trainmodel"

    def displayName(self) -> str:
        return "Train change detection model"

    def shortHelpString(self) -> str:
        return HELP

    def tags(self) -> list[str]:
        return ["change detection", "deep learning", "training", "fine-tuning", "labels", "model"]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        for parameter in _parameters():
            parameter.setHelp(PARAMETER_HELP[parameter.name()])
            self.addParameter(parameter)
        self.addOutput(QgsProcessingOutputFolder(RUN_FOLDER, "Run folder"))

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> list[str]:
        """Refuse what the run could not use, naming the value by its label; ``scd train``'s options."""
        self._check_inputs(parameters, context)
        arguments = self._number_arguments(parameters, context, {name: OPTION_OF[name] for name in NUMBERS})
        for name in FILES:
            path = self._file(parameters, name, context)
            arguments += [vocabulary.OPTIONS[OPTION_OF[name]].flag, path] if path else []
        for name, field in self._fields(parameters, context).items():
            arguments += [vocabulary.OPTIONS[OPTION_OF[name]].flag, field]
        if self.parameterAsBoolean(parameters, NO_CHANGE_OUTSIDE, context):
            arguments += [vocabulary.OPTIONS["unlabelled"].flag, "no-change"]
        self._check_run_folder(parameters, context)
        return arguments

    def _check_inputs(self, parameters: dict[str, Any], context: QgsProcessingContext) -> None:
        """The images and labels, or a PAIRS.csv: one of the two, whole."""
        layers = [name for name in (BEFORE, AFTER, LABELS, POLYGONS, LAND_COVER_AFTER) if parameters.get(name)]
        if self._file(parameters, PAIRS, context):
            if layers:
                raise OptionError(
                    f"{self._label(PAIRS)} or the images and labels ({self._label(layers[0])}): give one of them."
                )
            return
        for name, which in ((BEFORE, "earlier"), (AFTER, "later")):
            if name not in layers:
                raise OptionError(f"{self._label(name)}: choose the {which} image (or give {self._label(PAIRS)}).")
        if (LABELS in layers) == (POLYGONS in layers):
            raise OptionError(f"{self._label(LABELS)} or {self._label(POLYGONS)}: give one of them.")
        parse_choice(parameters.get(LABEL_KIND), LABEL_COLUMNS, self._label(LABEL_KIND))
        land_cover = LAND_COVER_AFTER in layers
        if land_cover and POLYGONS not in layers:
            raise OptionError(
                f"{self._label(LAND_COVER_AFTER)}: give the land cover before as {self._label(POLYGONS)}."
            )
        if land_cover != bool(self._field(parameters, CLASS_FIELD, context)):
            raise OptionError(
                f"{self._label(LAND_COVER_AFTER)} and {self._label(CLASS_FIELD)}: land cover polygons of both "
                "dates need both."
            )

    def _fields(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, str]:
        """The fields given, by parameter: a change field, or from and to fields together."""
        fields = {name: self._field(parameters, name, context) for name in FIELDS}
        given = {name: field for name, field in fields.items() if field}
        if bool(fields[FROM_FIELD]) != bool(fields[TO_FIELD]):
            raise OptionError(f"{self._label(FROM_FIELD)} and {self._label(TO_FIELD)}: give both, or neither.")
        if fields[CHANGE_FIELD] and fields[FROM_FIELD]:
            raise OptionError(
                f"{self._label(CHANGE_FIELD)}, or {self._label(FROM_FIELD)} and {self._label(TO_FIELD)}: "
                "give one way of telling change."
            )
        return given

    def _check_run_folder(self, parameters: dict[str, Any], context: QgsProcessingContext) -> None:
        """Refuse a destination whose run folder's name is taken by something that is no run folder
        (an earlier run's is replaced, as the checkpoint is)."""
        destination = destination_text(parameters.get(OUTPUT), context)
        if not destination or destination == QgsProcessing.TEMPORARY_OUTPUT:
            return
        folder = run_folder_of(os.path.abspath(destination))
        if os.path.lexists(folder) and not os.path.isfile(os.path.join(folder, "config.yaml")):
            raise OptionError(
                f"{self._label(OUTPUT)}: its run folder {folder} would replace something that is no training "
                "run; choose another name."
            )

    def _engine_words(self) -> dict[str, str]:
        """``scd train``'s flags, each with its parameter's label."""
        return {vocabulary.OPTIONS[option].flag: self._label(name) for name, option in OPTION_OF.items()}

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, options = self._prepare(parameters, context)
        destination = os.path.abspath(self.parameterAsFileOutput(parameters, OUTPUT, context))
        run_folder = run_folder_of(destination)
        work_dir = tempfile.mkdtemp(prefix="scd_train_", dir=QgsProcessingUtils.tempFolder())
        try:
            pairs = self._pairs_file(parameters, context, feedback, work_dir)
            arguments = ["train", pairs, "-o", os.path.join(work_dir, "run"), *options, "--progress", "json"]
            trained = self._run_engine(run_worker, backend, arguments, feedback, work_dir, self._engine_words())
            _keep(trained, destination, run_folder)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        settings.remember_trained_model(destination)
        feedback.pushInfo(
            f"Trained model written to {destination} (its run folder: {run_folder}); Detect semantic changes "
            "now offers it as its model."
        )
        return {OUTPUT: destination, RUN_FOLDER: run_folder}

    def _pairs_file(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback, work_dir: str
    ) -> str:
        """PAIRS.csv: the one given, or one row of the images and labels, written in ``work_dir``."""
        pairs = self._file(parameters, PAIRS, context)
        if pairs:
            return pairs
        images = [
            self._raster(parameters, BEFORE, context, "before"),
            self._raster(parameters, AFTER, context, "after"),
        ]
        row = {"id": _pair_id(*images)}
        raster = self.parameterAsRasterLayer(parameters, LABELS, context) if parameters.get(LABELS) else None
        if raster is not None:
            extent, crs = raster.extent(), raster.crs()
            column = parse_choice(parameters.get(LABEL_KIND), LABEL_COLUMNS, self._label(LABEL_KIND))
            row[column] = self._raster_file(raster, column, extent, crs, context, feedback, work_dir)
        else:
            names = [name for name in (POLYGONS, LAND_COVER_AFTER) if parameters.get(name)]
            source = self.parameterAsSource(parameters, POLYGONS, context)
            extent, crs = source.sourceExtent(), source.sourceCrs()
            for column, name in zip(LAND_COVERS if len(names) == 2 else CHANGE_POLYGONS, names):
                row[column] = self._vector_file(parameters, name, column, context, work_dir)
        for image, column in zip(images, ("before", "after")):
            row[column] = self._raster_file(image, column, extent, crs, context, feedback, work_dir)
        path = os.path.join(work_dir, "pairs.csv")
        with open(path, "w", newline="", encoding="utf-8") as table:
            writer = csv.DictWriter(table, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        return path

    @staticmethod
    def _raster_file(
        layer: QgsRasterLayer,
        role: str,
        extent: QgsRectangle,
        crs: QgsCoordinateReferenceSystem,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        work_dir: str,
    ) -> str:
        """The file the engine reads ``layer`` from: its own, or its export over the labels' ``extent``
        (in ``crs``), all that training reads of it."""
        path = plain_raster_file(layer)
        if path:
            return path
        area = extent_in(extent, crs, layer.crs(), context)
        path = export_raster(layer, area, os.path.join(work_dir, f"{role}.tif"), context, feedback, "the labels")
        if feedback.isCanceled():
            raise QgsProcessingException(CANCELLED)
        return path


def _parameters() -> list[QgsProcessingParameterDefinition]:
    """Every parameter, in the dialog's order; labels of the engine's options are the vocabulary's."""

    def label(name: str) -> str:
        return vocabulary.OPTIONS[OPTION_OF[name]].label

    def field(name: str) -> QgsProcessingParameterField:
        return QgsProcessingParameterField(name, label(name), parentLayerParameterName=POLYGONS, optional=True)

    polygons = [QgsProcessing.TypeVectorPolygon]
    parameters = [
        QgsProcessingParameterRasterLayer(BEFORE, "Before image", optional=True),
        QgsProcessingParameterRasterLayer(AFTER, "After image", optional=True),
        QgsProcessingParameterRasterLayer(LABELS, "Labels (raster)", optional=True),
        QgsProcessingParameterEnum(LABEL_KIND, "Label kind", options=list(LABEL_KINDS), defaultValue=0),
        QgsProcessingParameterFeatureSource(POLYGONS, "Labels (polygons)", polygons, optional=True),
        QgsProcessingParameterFeatureSource(LAND_COVER_AFTER, "Land cover after (polygons)", polygons, optional=True),
        *(field(name) for name in FIELDS),
        QgsProcessingParameterBoolean(NO_CHANGE_OUTSIDE, "Outside the polygons is no change", defaultValue=False),
        QgsProcessingParameterFile(
            PAIRS, "Pairs table (PAIRS.csv, instead of the above)", fileFilter="CSV (*.csv *.txt)", optional=True
        ),
        QgsProcessingParameterFile(
            CLASSES, label(CLASSES), fileFilter="YAML (*.yaml *.yml);;All files (*.*)", optional=True
        ),
        QgsProcessingParameterFile(
            BASE_MODEL,
            f"{label(BASE_MODEL)} to fine-tune (empty: train from scratch)",
            fileFilter="scd checkpoints (*.pt *.pth *.ckpt);;All files (*.*)",
            optional=True,
        ),
        number_parameter(EPOCHS, vocabulary.OPTIONS["epochs"], vocabulary.OPTIONS["epochs"].default),
    ]
    for name in (CHIPS, CHIP_SIZE, BATCH_SIZE):
        option = vocabulary.OPTIONS[OPTION_OF[name]]
        advanced = number_parameter(name, option, option.default)
        advanced.setFlags(advanced.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        parameters.append(advanced)
    parameters.append(
        QgsProcessingParameterFileDestination(OUTPUT, "Trained model", fileFilter="scd checkpoints (*.pt)")
    )
    return parameters


def _pair_id(before: QgsRasterLayer, after: QgsRasterLayer) -> str:
    """The pair's id in PAIRS.csv, which the engine's messages name it by: its images' names (an id
    names a folder, so without slashes)."""
    return f"{before.name()} → {after.name()}".replace("/", "-").replace("\\", "-")


def _keep(trained: Mapping[str, Any], destination: str, run_folder: str) -> None:
    """Move the finished run folder beside ``destination`` (replacing an earlier run of that name) and
    copy its checkpoint to ``destination``."""
    make_destination_folder(destination)
    if os.path.isdir(run_folder):
        shutil.rmtree(run_folder)
    shutil.move(str(trained["run_dir"]), run_folder)
    shutil.copyfile(os.path.join(run_folder, os.path.basename(str(trained["model"]))), destination)
