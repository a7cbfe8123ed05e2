"""``scd:accuracysample``: a stratified random sample of a run's change map to label, by ``scd sample``.

The first step of Olofsson et al. (2014)'s good practice for reporting areas of change: points drawn
in each stratum of the map (each change type and no change, change and no change, or groups of a YAML
file), as many as Cochran's formula asks for a target standard error unless a size is given. The
engine writes its GeoPackage (``points``, ``strata``, ``design``) in a temporary folder; only a
finished one is moved to the destination, where its points are made ready for labelling
(:mod:`..labelling`) and loaded on the map. *Estimate areas from labelled sample* reads it back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from ..labelling import prepare_for_labelling
from ..options import OptionError, parse_choice
from ..outputs import keep_file, load_on_completion
from ..shared import vocabulary
from ..worker import run_json_command
from .change_map import RUN, ChangeMap, ChangeMapAlgorithm, change_map_parameters
from .parameters import default_first, number_parameter

SIZE, ALLOCATION, MIN_PER_STRATUM, SEED = "SIZE", "ALLOCATION", "MIN_PER_STRATUM", "SEED"
STRATA, STRATA_FILE, TARGET_SE = "STRATA", "STRATA_FILE", "TARGET_SE"
EXPECTED_CHANGE, EXPECTED_STABLE = "EXPECTED_CHANGE", "EXPECTED_STABLE"
OUTPUT, POINTS = "OUTPUT", "POINTS"
#: Each number parameter and ``scd sample``'s option it sets (:data:`scd_core.vocabulary.SAMPLE`).
NUMBERS = {
    SIZE: "n",
    MIN_PER_STRATUM: "min_per_stratum",
    TARGET_SE: "target_se",
    EXPECTED_CHANGE: "users_change",
    EXPECTED_STABLE: "users_stable",
    SEED: "seed",
}
ALLOCATIONS = default_first(vocabulary.OPTIONS["allocation"], vocabulary.OPTIONS["allocation"].choices)
#: The strata the dialog offers, in its words, and ``--strata``'s word for each; a YAML file of groups
#: is :data:`STRATA_FILE`.
STRATA_KINDS = ("each change type, and no change", "change and no change")
STRATA_WORDS = ("change-types", "change")
#: Where the points are in the GeoPackage, and their name on the map.
POINTS_LAYER, LAYER_NAME = "points", "Accuracy sample"

PARAMETER_HELP = {
    SIZE: "Points in all. Empty: Cochran's formula gives the size for the target standard error of the overall "
    "accuracy, from the expected accuracies below (Olofsson et al. 2014, eq. 13).",
    ALLOCATION: "How the points are shared among the strata: olofsson (the rare strata get their minimum, the "
    "rest goes in proportion to area: Olofsson et al.'s recommendation), proportional, equal or neyman.",
    MIN_PER_STRATUM: "With the olofsson allocation: the points of each rare stratum.",
    STRATA: "What the strata are: each change type the map holds and no change, or change and no change.",
    STRATA_FILE: "A YAML file grouping change types into strata (such as built-up gain: [low vegetation → "
    "building, tree → building]); types it does not list are 'other change'. Leave Strata at its default.",
    TARGET_SE: "The standard error of the overall accuracy the sample's size aims at (0.01: ±2 points in 100 at 95 %).",
    EXPECTED_CHANGE: "The user's accuracy you expect of the change strata, for Cochran's size.",
    EXPECTED_STABLE: "The user's accuracy you expect of no change, for Cochran's size.",
    SEED: "The same map, options and seed draw the same points.",
    OUTPUT: "The GeoPackage of the sample: its points to label (field ref_class), the strata's mapped pixels and "
    "areas, and the design. It replaces an earlier file of that name, labels and all.",
}

HELP = "".join(
    (
        "<p>Draws a stratified random sample of a change map with the engine's <code>scd sample</code>, the ",
        "first step of the good practice of Olofsson et al. (2014) for areas of change with confidence ",
        "intervals. The change map is a run's output folder or a change-type raster.</p>",
        "<p>The points open ready for labelling: set each one's <b>ref_class</b> from the drop-down to what ",
        "reference imagery shows there (toggle editing, then the Identify or attribute form). Yellow points ",
        "are still to label; the look does not show the map's class, so that the labels stay blind to it. ",
        "Save the edits, then run <i>Estimate areas from labelled sample</i>.</p>",
    )
)


class AccuracySampleAlgorithm(ChangeMapAlgorithm):
    """Draw the points an interpreter labels by running ``scd sample`` in the backend."""

    def name(self) -> str:
        return "accuracysample"

    def displayName(self) -> str:
        return "Create accuracy sample"

    def shortHelpString(self) -> str:
        return HELP

    def tags(self) -> list[str]:
        return ["accuracy", "area estimation", "stratified sample", "Olofsson", "validation", "labelling"]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        for parameter in change_map_parameters():
            self.addParameter(parameter)
        for parameter in _parameters():
            parameter.setHelp(PARAMETER_HELP[parameter.name()])
            self.addParameter(parameter)
        self.addOutput(QgsProcessingOutputVectorLayer(POINTS, "Points to label"))

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[ChangeMap, list[str]]:
        """The change map and ``scd sample``'s options."""
        change_map = self._change_map(parameters, context)
        options = self._number_arguments(parameters, context, NUMBERS)
        allocation = parse_choice(parameters.get(ALLOCATION), ALLOCATIONS, self._label(ALLOCATION))
        self._check_extension(parameters, OUTPUT, context, ".gpkg")
        return change_map, [*options, "--allocation", allocation, "--strata", self._strata(parameters, context)]

    def _strata(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str:
        """``--strata``: the YAML file when one is given, else the dialog's choice."""
        groups = self._file(parameters, STRATA_FILE, context)
        choice = parse_choice(parameters.get(STRATA), STRATA_WORDS, self._label(STRATA))
        if groups and choice != STRATA_WORDS[0]:
            raise OptionError(
                f"{self._label(STRATA_FILE)}: a file of groups sets the strata itself; leave {self._label(STRATA)} at "
                f"'{STRATA_KINDS[0]}'."
            )
        return groups or choice

    def _engine_words(self) -> dict[str, str]:
        """``scd sample``'s words, each with its parameter's label (``--strata`` is wrong only as a file)."""
        flags = {vocabulary.OPTIONS[option].flag: self._label(name) for name, option in NUMBERS.items()}
        return {**flags, "OUT_DIR": self._label(RUN), "--strata": self._label(STRATA_FILE)}

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, (change_map, options) = self._prepare(parameters, context)
        destination = os.path.abspath(self.parameterAsFileOutput(parameters, OUTPUT, context))
        work_dir = tempfile.mkdtemp(prefix="scd_sample_", dir=QgsProcessingUtils.tempFolder())
        try:
            drawn_file = os.path.join(work_dir, "sample.gpkg")
            run_folder = self._run_folder(change_map, work_dir)
            arguments = ["sample", run_folder, "-o", drawn_file, *options, "--json"]
            drawn = self._run_engine(run_json_command, backend, arguments, feedback, work_dir, self._engine_words())
            keep_file(drawn_file, destination)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        for line in _drawn_lines(drawn):
            feedback.pushInfo(line)
        points = f"{destination}|layername={POINTS_LAYER}"
        strata = [row["stratum"] for row in drawn["strata"]]
        try:
            prepare_for_labelling(QgsVectorLayer(points, LAYER_NAME, "ogr"), strata)
        except QgsProcessingException as error:
            feedback.pushWarning(f"{destination} is written, but its points are not made ready for labelling: {error}")
        load_on_completion(context, QgsVectorLayer(points, LAYER_NAME, "ogr"), POINTS)  # with the style just saved
        return {OUTPUT: destination, POINTS: points}


def _drawn_lines(drawn: Mapping[str, Any]) -> list[str]:
    """``scd sample --json``'s answer in the log: the points and the design, then each stratum's."""
    design = f"{drawn['allocation']} allocation of a design size of {drawn['size']}"
    lines = [f"{drawn['points']} points drawn ({design}) in {len(drawn['strata'])} strata:"]
    lines += [
        f"  {row['stratum']}: {row['points']} points; {row['pixels']:,} pixels mapped, {row['area_ha']:,.2f} ha"
        for row in drawn["strata"]
    ]
    return lines


def _parameters() -> list[QgsProcessingParameterDefinition]:
    """The sample's parameters after the change map, in the dialog's order; the design's finer points
    are advanced."""
    definitions: list[QgsProcessingParameterDefinition] = [
        number_parameter(SIZE, vocabulary.OPTIONS["n"], None),
        QgsProcessingParameterEnum(
            ALLOCATION, vocabulary.OPTIONS["allocation"].label, options=list(ALLOCATIONS), defaultValue=0
        ),
        QgsProcessingParameterEnum(
            STRATA, vocabulary.OPTIONS["strata"].label, options=list(STRATA_KINDS), defaultValue=0
        ),
        QgsProcessingParameterFile(
            STRATA_FILE, "Strata groups (YAML)", fileFilter="YAML (*.yaml *.yml);;All files (*.*)", optional=True
        ),
    ]
    for name in (MIN_PER_STRATUM, TARGET_SE, EXPECTED_CHANGE, EXPECTED_STABLE, SEED):
        option = vocabulary.OPTIONS[NUMBERS[name]]
        advanced = number_parameter(name, option, option.default)
        advanced.setFlags(advanced.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        definitions.append(advanced)
    definitions.append(QgsProcessingParameterFileDestination(OUTPUT, "Sample", fileFilter="GeoPackage (*.gpkg)"))
    return definitions
