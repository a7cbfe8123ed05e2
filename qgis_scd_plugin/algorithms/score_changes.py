"""``scd:scorechanges``: score a change map against reference data, through ``scd score --json``.

The change map is a run's output folder (``scd detect``'s, or one of ``scd batch``'s) or a change-type
raster, such as the *Change types* output of ``scd:detectchanges`` (:mod:`..run_folder` rebuilds a
folder from it). The references are one raster (binary change, or from-to change codes) or two per-date
class rasters. The engine scores in the backend, as it detects there; the scores come back as a table
and in the log.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ..options import OptionError, parse_choice
from ..outputs import destination_text, make_destination_folder
from ..shared import vocabulary
from ..worker import run_json_command
from .change_map import RUN, ChangeMap, ChangeMapAlgorithm, change_map_parameters

REFERENCE, REFERENCE2, KIND, OUTPUT = "REFERENCE", "REFERENCE2", "KIND", "OUTPUT"
#: ``scd score --kind``'s choices, its default first.
KINDS = vocabulary.OPTIONS["kind"].choices
#: The groups of scores in ``scd score --json``'s answer, with their names in the table.
_GROUPS = (("binary", "change / no change"), ("per_date", "per-date SCD"), ("from_to", "from-to SCD"))

HELP = "".join(
    (
        "<p>Scores a change map against reference data with the engine's <code>scd score</code>: precision, ",
        "recall, F1, IoU, overall accuracy and kappa of change, and with a from-to or per-date reference the ",
        "semantic scores (SeK, mIoU, Fscd) in both conventions, every score in percent.</p>",
        "<p>The change map is a run's output folder or a change-type raster (the <i>Change types</i> output of ",
        "<i>Detect semantic changes</i>). The reference is one raster, binary change (any value above 0 is ",
        "change) or from-to change codes, or two rasters of each date's classes. It may lie on any grid; only ",
        "its footprint where it has data is scored.</p>",
    )
)


class ScoreChangesAlgorithm(ChangeMapAlgorithm):
    """Score a change map against one or two reference rasters by running ``scd score`` in the backend."""

    def name(self) -> str:
        return "scorechanges"

    def displayName(self) -> str:
        return "Score change map against reference"

    def shortHelpString(self) -> str:
        return HELP

    def tags(self) -> list[str]:
        return ["change detection", "accuracy", "score", "validation", "reference", "SeK", "F1"]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        reference = QgsProcessingParameterRasterLayer(REFERENCE, "Reference")
        reference.setHelp(
            "Binary change (any value above 0 is change), from-to change codes, or the classes before when "
            "a second reference gives the classes after."
        )
        second = QgsProcessingParameterRasterLayer(REFERENCE2, "Reference classes after", optional=True)
        second.setHelp("With a per-date reference: the classes of the after date; Reference then holds those before.")
        kind = QgsProcessingParameterEnum(KIND, vocabulary.OPTIONS["kind"].label, options=list(KINDS), defaultValue=0)
        kind.setHelp("What the reference holds; auto tells it from its values and the number of references.")
        output = QgsProcessingParameterFeatureSink(OUTPUT, "Scores", QgsProcessing.TypeVector)
        output.setHelp("One row per score: its group, its name and its value in percent.")
        for parameter in (*change_map_parameters(), reference, second, kind, output):
            self.addParameter(parameter)

    def _check_values(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> tuple[ChangeMap, list[str], str]:
        """The change map (:meth:`_change_map`), the reference files and the reference kind."""
        return (
            self._change_map(parameters, context),
            self._references(parameters, context),
            parse_choice(parameters.get(KIND), KINDS, self._label(KIND)),
        )

    def _references(self, parameters: dict[str, Any], context: QgsProcessingContext) -> list[str]:
        names = [name for name in (REFERENCE, REFERENCE2) if parameters.get(name)]
        if REFERENCE not in names:
            raise OptionError(f"{self._label(REFERENCE)}: choose the reference raster.")
        return [self._gdal_name(self.parameterAsRasterLayer(parameters, name, context), name) for name in names]

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, (change_map, references, kind) = self._prepare(parameters, context)
        work_dir = tempfile.mkdtemp(prefix="scd_score_", dir=QgsProcessingUtils.tempFolder())
        try:
            arguments = ["score", self._run_folder(change_map, work_dir), *references, "--kind", kind, "--json"]
            score = self._run_engine(run_json_command, backend, arguments, feedback, work_dir, self._engine_words())
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        return {OUTPUT: self._write_scores(parameters, context, feedback, score)}

    def _engine_words(self) -> dict[str, str]:
        """The engine's words for the inputs, as the dialog labels them."""
        return {"OUT_DIR": self._label(RUN), "REFERENCE": self._label(REFERENCE), "--kind": self._label(KIND)}

    def _write_scores(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        score: Mapping[str, Any],
    ) -> str:
        """The scores in the log and as a table; the table's destination."""
        feedback.pushInfo(
            f"Scored {score['pixels']:,} pixels against a {score['kind']} reference; {score['outside_reference']:,} "
            "of the run's valid pixels lie outside the reference or on its nodata and are not scored."
        )
        fields = QgsFields()
        for name, kind in (("group", QVariant.String), ("score", QVariant.String), ("percent", QVariant.Double)):
            fields.append(QgsField(name, kind))
        make_destination_folder(destination_text(parameters.get(OUTPUT), context))
        sink, destination = self.parameterAsSink(
            parameters, OUTPUT, context, fields, QgsWkbTypes.NoGeometry, QgsCoordinateReferenceSystem()
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        for group, title in _GROUPS:
            scores = score.get(group) or {}
            if scores:
                feedback.pushInfo(f"{title}: " + "  ".join(f"{key} {value:.2f}" for key, value in scores.items()))
            for key, value in scores.items():
                feature = QgsFeature(fields)
                feature.setAttributes([title, key, float(value)])
                sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return str(destination)
