"""What the algorithms that read a run's change map share: the map given as a run's output folder or as
a change-type raster, and the run folder the engine reads it from.

``scd score``, ``scd sample`` and ``scd zones`` read an ``scd detect`` output folder. An analyst may
have the folder, or only a change layer: a run's ``change_type.tif`` (its folder is then the run), or
the *Change types* output of ``scd:detectchanges`` saved anywhere, from which :mod:`..run_folder`
rebuilds a folder in the algorithm's temporary folder.
"""

from __future__ import annotations

import os
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterLayer,
    QgsRasterLayer,
)

from ..inputs import dataset_name
from ..options import OptionError
from ..run_folder import folder_of_change_raster
from .base import ScdAlgorithm

RUN, CHANGES = "RUN", "CHANGES"
#: A run folder's change-type raster and its record, as ``scd detect`` names them.
CHANGE_TYPE_FILE, RUN_RECORD = "change_type.tif", "run.json"

#: A change map as given: ("folder", a run folder) or ("raster", a change-type raster that is no run's).
ChangeMap = tuple[str, str]


def change_map_parameters() -> list[QgsProcessingParameterDefinition]:
    """The run folder and the change layer, each optional: :meth:`ChangeMapAlgorithm._change_map`
    requires one of them."""
    run = QgsProcessingParameterFile(RUN, "Run output folder", QgsProcessingParameterFile.Folder, optional=True)
    run.setHelp("The output folder of scd detect (or one of scd batch's). Give this or Change types.")
    changes = QgsProcessingParameterRasterLayer(CHANGES, "Change types", optional=True)
    changes.setHelp(
        "A change-type raster: the Change types output of Detect semantic changes, or a run's change_type.tif."
    )
    return [run, changes]


class ChangeMapAlgorithm(ScdAlgorithm):
    """An algorithm whose engine command reads a run's change map (:func:`change_map_parameters`)."""

    def _change_map(self, parameters: dict[str, Any], context: QgsProcessingContext) -> ChangeMap:
        """The change map given, one of the two parameters; a run's own change_type.tif is its folder."""
        folder = self.parameterAsFile(parameters, RUN, context)
        layer = self.parameterAsRasterLayer(parameters, CHANGES, context) if parameters.get(CHANGES) else None
        if bool(folder) == (layer is not None):
            raise OptionError(f"{self._label(RUN)} or {self._label(CHANGES)}: give one of them.")
        if folder:
            if not os.path.isfile(os.path.join(folder, RUN_RECORD)):
                raise OptionError(f"{self._label(RUN)}: {folder} is not an scd output folder (it has no run.json).")
            return "folder", os.path.abspath(folder)
        raster = self._gdal_name(layer, CHANGES)
        run = os.path.dirname(raster)
        if os.path.basename(raster) == CHANGE_TYPE_FILE and os.path.isfile(os.path.join(run, RUN_RECORD)):
            return "folder", run
        return "raster", raster

    def _run_folder(self, change_map: ChangeMap, work_dir: str) -> str:
        """The run folder of ``change_map``: its own, or one rebuilt from its raster in ``work_dir``."""
        what, path = change_map
        if what == "folder":
            return path
        try:
            return folder_of_change_raster(path, os.path.join(work_dir, "run"), self._label(CHANGES))
        except OptionError as error:
            raise QgsProcessingException(str(error)) from None

    def _gdal_name(self, layer: QgsRasterLayer | None, name: str) -> str:
        """The name the engine's GDAL opens a raster parameter's layer by."""
        path = dataset_name(layer) if layer is not None else None
        if not path:
            raise OptionError(f"{self._label(name)}: choose a raster file (such as a GeoTIFF) the engine can read.")
        return path
