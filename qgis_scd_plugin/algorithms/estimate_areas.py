"""``scd:estimateareas``: areas of change with 95 % confidence intervals from a labelled sample, by
``scd assess``.

The points are those of *Create accuracy sample*, their ``ref_class`` labelled. The engine reads the
GeoPackage as saved, so a points layer with unsaved edits is refused rather than committed: saving is
the interpreter's decision, and the estimates must come from the labels the file keeps. The engine
writes the estimates as a CSV, a row per class (moved to the destination only once finished, and
loaded as a table), and answers them in JSON, from which the log shows the overall accuracy and each
class's area with its interval.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsProviderRegistry,
)

from ..options import OptionError
from ..outputs import csv_table, keep_file, load_on_completion
from ..shared import vocabulary
from ..worker import run_json_command
from .base import ScdAlgorithm

POINTS, REF_FIELD, MAP_FIELD, STRATA_AREAS, DROP_UNLABELLED, OUTPUT = (
    "POINTS", "REF_FIELD", "MAP_FIELD", "STRATA_AREAS", "DROP_UNLABELLED", "OUTPUT",
)  # fmt: skip
#: Each parameter and ``scd assess``'s option it sets (:data:`scd_core.vocabulary.ASSESS`).
OPTION_OF = {
    REF_FIELD: "ref_field",
    MAP_FIELD: "map_field",
    STRATA_AREAS: "strata_areas",
    DROP_UNLABELLED: "drop_unlabelled",
}
#: The layer of ``scd sample``'s GeoPackage that holds the points (the engine reads no other).
POINTS_LAYER = "points"
TABLE_NAME = "Area estimates"

PARAMETER_HELP = {
    POINTS: "The points layer of a GeoPackage that Create accuracy sample wrote, labelled and saved. The "
    "estimates are made from the file: save your edits first.",
    REF_FIELD: "The field holding each point's reference class: a stratum's name, or a change type's code or name. "
    "Empty: ref_class.",
    MAP_FIELD: "The field holding each point's map class. Empty: its stratum, as drawn.",
    STRATA_AREAS: "For a sample drawn elsewhere: a CSV of each stratum's mapped area, stratum,area_ha (or "
    "stratum,pixels,pixel_area_ha). Empty: the areas the sample measured.",
    DROP_UNLABELLED: "Leave out the points without a reference. Off, they are an error that says how many: "
    "dropping the points that were hard to label biases the estimates.",
    OUTPUT: "A row per class: its points, mapped and estimated areas (ha) with the 95 % interval, user's and "
    "producer's accuracies with theirs (as shares).",
}

HELP = "".join(
    (
        "<p>Estimates the area of each class, with its 95 % confidence interval, from the labelled points ",
        "of <i>Create accuracy sample</i>, with the engine's <code>scd assess</code>: the stratified ",
        "estimators of Olofsson et al. (2014). Map pixel counts are biased by the map's errors; these ",
        "error-adjusted areas are not.</p>",
        "<p>The log shows the overall accuracy and each class's estimated area ± its interval beside the ",
        "mapped area; the table adds user's and producer's accuracies. Save the labels first: the estimates ",
        "are made from the saved file.</p>",
    )
)


class EstimateAreasAlgorithm(ScdAlgorithm):
    """Estimate areas and accuracies from a labelled sample by running ``scd assess`` in the backend."""

    def name(self) -> str:
        return "estimateareas"

    def displayName(self) -> str:
        return "Estimate areas from labelled sample"

    def shortHelpString(self) -> str:
        return HELP

    def tags(self) -> list[str]:
        return ["accuracy", "area estimation", "confidence interval", "Olofsson", "error matrix", "validation"]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        for parameter in _parameters():
            parameter.setHelp(PARAMETER_HELP[parameter.name()])
            self.addParameter(parameter)

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[str, list[str]]:
        """The sample's GeoPackage and ``scd assess``'s options."""
        points = self._sample_file(parameters, context)
        values = {
            REF_FIELD: self._field(parameters, REF_FIELD, context),
            MAP_FIELD: self._field(parameters, MAP_FIELD, context),
            STRATA_AREAS: self._file(parameters, STRATA_AREAS, context),
        }
        options = [word for name, value in values.items() if value for word in (self._flag(name), value)]
        if self.parameterAsBoolean(parameters, DROP_UNLABELLED, context):
            options.append(self._flag(DROP_UNLABELLED))
        self._check_extension(parameters, OUTPUT, context, ".csv")
        return points, options

    @staticmethod
    def _flag(name: str) -> str:
        return str(vocabulary.OPTIONS[OPTION_OF[name]].flag)

    def _sample_file(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str:
        """The GeoPackage whose points layer ``POINTS`` is, whole and saved."""
        label = self._label(POINTS)
        layer = self.parameterAsVectorLayer(parameters, POINTS, context)
        if layer is None:
            raise OptionError(f"{label}: choose the points of Create accuracy sample.")
        if layer.isModified():
            raise OptionError(
                f"{label}: '{layer.name()}' has unsaved edits. Save them (Layer ▸ Save Layer Edits) and run again: "
                "the estimates are made from the saved file."
            )
        if layer.subsetString():
            raise OptionError(f"{label}: the estimates use every point of the sample; clear the layer's filter.")
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source()) if layer.providerType() == "ogr" else {}
        path = parts.get("path") or ""
        if not (path.lower().endswith(".gpkg") and os.path.isfile(path)) or parts.get("layerName") not in (
            None,
            POINTS_LAYER,
        ):
            raise OptionError(
                f"{label}: choose the {POINTS_LAYER} layer of a GeoPackage that Create accuracy sample wrote; got "
                f"{layer.source()}."
            )
        return os.path.abspath(path)

    def _engine_words(self) -> dict[str, str]:
        """``scd assess``'s words, each with its parameter's label."""
        return {**{self._flag(name): self._label(name) for name in OPTION_OF}, "POINTS": self._label(POINTS)}

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, (points, options) = self._prepare(parameters, context)
        destination = os.path.abspath(self.parameterAsFileOutput(parameters, OUTPUT, context))
        work_dir = tempfile.mkdtemp(prefix="scd_assess_", dir=QgsProcessingUtils.tempFolder())
        try:
            table = os.path.join(work_dir, "estimates.csv")
            arguments = ["assess", points, *options, "-o", table, "--json"]
            estimates = self._run_engine(run_json_command, backend, arguments, feedback, work_dir, self._engine_words())
            keep_file(table, destination)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        for line in estimate_lines(estimates):
            feedback.pushInfo(line)
        load_on_completion(context, csv_table(destination, TABLE_NAME), OUTPUT)
        return {OUTPUT: destination}


def estimate_lines(estimates: Mapping[str, Any]) -> list[str]:
    """``scd assess --json``'s answer in the log: the overall accuracy, then each class's estimated area
    ± its 95 % interval beside its mapped area, and its accuracies."""
    overall = estimates["overall_accuracy"]
    lines = [f"Overall accuracy: {overall['estimate']:.3f} ± {overall['ci95']:.3f} (95 % confidence interval)"]
    if estimates["dropped_unlabelled"]:
        lines.append(f"{estimates['dropped_unlabelled']} unlabelled points left out.")
    lines.append("Estimated area of each class, ± its 95 % confidence interval (mapped area beside it):")
    for name in estimates["classes"]:
        area, users, producers = (estimates[key][name] for key in ("area_ha", "users_accuracy", "producers_accuracy"))
        mapped = estimates["mapped_area_ha"][name]
        lines.append(
            f"  {name}: {area['estimate']:,.2f} ± {area['ci95']:,.2f} ha (mapped {mapped:,.2f} ha); user's accuracy "
            f"{users['estimate']:.3f} ± {users['ci95']:.3f}, producer's {producers['estimate']:.3f} ± "
            f"{producers['ci95']:.3f}"
        )
    return lines


def _parameters() -> list[QgsProcessingParameterDefinition]:
    """Every parameter, in the dialog's order; labels of the engine's options are the vocabulary's."""

    def label(name: str) -> str:
        return vocabulary.OPTIONS[OPTION_OF[name]].label

    return [
        QgsProcessingParameterVectorLayer(POINTS, "Labelled sample points", [QgsProcessing.TypeVectorPoint]),
        # optional, as QGIS 3.22 applies a field's default in the dialog only: empty is the engine's default
        QgsProcessingParameterField(
            REF_FIELD, label(REF_FIELD), vocabulary.OPTIONS["ref_field"].default, POINTS, optional=True
        ),
        QgsProcessingParameterField(MAP_FIELD, label(MAP_FIELD), parentLayerParameterName=POINTS, optional=True),
        QgsProcessingParameterFile(
            STRATA_AREAS, label(STRATA_AREAS), fileFilter="CSV (*.csv);;All files (*.*)", optional=True
        ),
        QgsProcessingParameterBoolean(DROP_UNLABELLED, label(DROP_UNLABELLED), defaultValue=False),
        QgsProcessingParameterFileDestination(OUTPUT, TABLE_NAME, fileFilter="CSV (*.csv)"),
    ]
