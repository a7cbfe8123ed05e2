"""``scd:zonestatistics``: a run's change in each zone (districts, parcels, watersheds), by ``scd zones``.

The zones are polygons in any CRS; the engine reads their file, or, for features that are not a whole
file as QGIS shows them (selected ones, a filtered or memory layer, unsaved edits), their export. It
writes the from × to hectares of each zone in long format (``zone, from, to, hectares``) and the zones
with their changed area in a GeoPackage beside it, both in a temporary folder; only finished ones are
moved to the destination (the GeoPackage named after the CSV) and loaded on the map.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from ..options import OptionError
from ..outputs import csv_table, destination_text, keep_file, load_on_completion
from ..shared import vocabulary
from ..worker import run_command
from .change_map import RUN, ChangeMap, ChangeMapAlgorithm, change_map_parameters

ZONES, FIELD, OUTPUT, OUTPUT_ZONES = "ZONES", "FIELD", "OUTPUT", "OUTPUT_ZONES"
#: The zone layer in ``scd zones``' GeoPackage.
ZONES_LAYER = "zones"
TABLE_NAME, ZONES_NAME = "Change by zone (ha)", "Zones with their changed area"
#: A field of the zones that ``scd zones`` writes: a GeoPackage with it is an earlier output.
EARLIER_FIELD = "changed_share"

PARAMETER_HELP = {
    ZONES: "Zone polygons, in any CRS; they may cover the run in part and overlap each other (a pixel counts "
    "in every zone that covers it). With Selected features only, only the selected ones.",
    FIELD: "The field that names each zone in the table.",
    OUTPUT: "A row per zone and change type in it: zone, from, to, hectares (geodesic). The zones with their "
    "changed_ha, unchanged_ha and changed_share are written beside it, as a GeoPackage of the same name.",
}

HELP = "".join(
    (
        "<p>Sums a run's change in each zone of a polygon layer (districts, parcels, watersheds) with the ",
        "engine's <code>scd zones</code>: the hectares changed from each class to each class, in long format ",
        "(<code>zone, from, to, hectares</code>), and the zones with their changed area, unchanged area and ",
        "changed share. The change map is a run's output folder or a change-type raster; the zones may be in ",
        "any CRS. Areas are geodesic.</p>",
    )
)


class ZoneStatisticsAlgorithm(ChangeMapAlgorithm):
    """Sum a run's change by zone by running ``scd zones`` in the backend."""

    def name(self) -> str:
        return "zonestatistics"

    def displayName(self) -> str:
        return "Change statistics by zone"

    def shortHelpString(self) -> str:
        return HELP

    def tags(self) -> list[str]:
        return ["change detection", "zonal statistics", "districts", "from-to", "hectares", "area"]

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        for parameter in change_map_parameters():
            self.addParameter(parameter)
        for parameter in (
            QgsProcessingParameterFeatureSource(ZONES, "Zones", [QgsProcessing.TypeVectorPolygon]),
            QgsProcessingParameterField(FIELD, vocabulary.OPTIONS["field"].label, parentLayerParameterName=ZONES),
            QgsProcessingParameterFileDestination(OUTPUT, TABLE_NAME, fileFilter="CSV (*.csv)"),
        ):
            parameter.setHelp(PARAMETER_HELP[parameter.name()])
            self.addParameter(parameter)
        self.addOutput(QgsProcessingOutputVectorLayer(OUTPUT_ZONES, ZONES_NAME))

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[ChangeMap, str]:
        """The change map and the zone field."""
        change_map = self._change_map(parameters, context)
        if not parameters.get(ZONES):
            raise OptionError(f"{self._label(ZONES)}: choose the zone polygons.")
        field = self._field(parameters, FIELD, context)
        if not field:
            raise OptionError(f"{self._label(FIELD)}: choose the field that names the zones.")
        self._check_extension(parameters, OUTPUT, context, ".csv")
        self._check_zones_destination(parameters, context)
        return change_map, field

    def _check_zones_destination(self, parameters: dict[str, Any], context: QgsProcessingContext) -> None:
        """Refuse a destination whose GeoPackage beside would replace a file that is no earlier output of
        this algorithm (the zones' own file, say); an earlier one is replaced, as the table is."""
        destination = destination_text(parameters.get(OUTPUT), context)
        if destination in ("", QgsProcessing.TEMPORARY_OUTPUT):
            return
        beside = zones_file_of(os.path.abspath(destination))
        if not os.path.lexists(beside):
            return
        earlier = QgsVectorLayer(f"{beside}|layername={ZONES_LAYER}", ZONES_LAYER, "ogr")
        if EARLIER_FIELD not in earlier.fields().names():
            raise OptionError(
                f"{self._label(OUTPUT)}: the zones are written beside it as {beside}, which would replace a file that "
                "is no earlier change by zone; choose another name."
            )

    def _engine_words(self) -> dict[str, str]:
        """``scd zones``' words, each with its parameter's label."""
        return {"OUT_DIR": self._label(RUN), "ZONES": self._label(ZONES), "--field": self._label(FIELD)}

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        backend, (change_map, field) = self._prepare(parameters, context)
        destination = os.path.abspath(self.parameterAsFileOutput(parameters, OUTPUT, context))
        zones_destination = zones_file_of(destination)
        work_dir = tempfile.mkdtemp(prefix="scd_zones_", dir=QgsProcessingUtils.tempFolder())
        try:
            zones = self._vector_file(parameters, ZONES, ZONES_LAYER, context, work_dir)
            table = os.path.join(work_dir, "change_by_zone.csv")  # the engine's GeoPackage: change_by_zone.gpkg
            arguments = ["zones", self._run_folder(change_map, work_dir), zones, "--field", field, "-o", table]
            self._run_engine(run_command, backend, arguments, feedback, work_dir, self._engine_words())
            keep_file(table, destination)
            keep_file(os.path.splitext(table)[0] + ".gpkg", zones_destination)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        feedback.pushInfo(f"Change by zone: {destination}; the zones with their changed area: {zones_destination}.")
        load_on_completion(context, csv_table(destination, TABLE_NAME), OUTPUT)
        zones_layer = f"{zones_destination}|layername={ZONES_LAYER}"
        load_on_completion(context, QgsVectorLayer(zones_layer, ZONES_NAME, "ogr"), OUTPUT_ZONES)
        return {OUTPUT: destination, OUTPUT_ZONES: zones_layer}


def zones_file_of(table: str) -> str:
    """The GeoPackage of the zones written beside the table ``table``, as ``scd zones`` names it."""
    return os.path.splitext(table)[0] + ".gpkg"
