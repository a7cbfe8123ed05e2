"""A QGIS desktop session as an analyst has it, run inside the real QGIS (``qgis --code``) by
test_desktop.py under Xvfb: Processing's own dialogs, driven from Python, run "Detect semantic
changes" several times in one session and once as a batch of three rows, with the layers loaded on
completion. It writes what happened to ``$SCD_DESKTOP_OUT/report.json`` (each run's errors, the layers
loaded and their renderers) and a screenshot after each run, then quits QGIS.

Not a test module itself (QGIS runs it); the inputs come from the environment: SCD_DESKTOP_PAIR (a
folder with before.tif and after.tif), SCD_DESKTOP_MODEL, SCD_DESKTOP_OUT.
"""

import json
import os
import traceback

import processing
from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
from qgis.core import QgsApplication, QgsProcessingContext, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

PAIR, MODEL, OUT = (os.environ[f"SCD_DESKTOP_{name}"] for name in ("PAIR", "MODEL", "OUT"))
ALGORITHM = "scd:detectchanges"
RASTERS = ("OUTPUT_RASTER", "OUTPUT_PROBABILITY", "OUTPUT_BEFORE_CLASSES", "OUTPUT_AFTER_CLASSES")
INPUTS = {
    "BEFORE": os.path.join(PAIR, "before.tif"),
    "AFTER": os.path.join(PAIR, "after.tif"),
    "MODEL": MODEL,
    "TILE_SIZE": 128,
    "THRESHOLD": 0.05,
    "DEVICE": 1,
}
#: The dialog runs, in this order, in one session: every output (both class rasters), every output
#: again (the second run of a session), temporary outputs, and the matrix as CSV.
RUNS = {
    "every output": {
        "OUTPUT": os.path.join(OUT, "first.gpkg"),
        "OUTPUT_MATRIX": os.path.join(OUT, "first_matrix.gpkg"),
        **{name: os.path.join(OUT, f"first_{name}.tif") for name in RASTERS},
    },
    "every output, again": {
        "OUTPUT": os.path.join(OUT, "second.gpkg"),
        "OUTPUT_MATRIX": os.path.join(OUT, "second_matrix.gpkg"),
        **{name: os.path.join(OUT, f"second_{name}.tif") for name in RASTERS},
    },
    "temporary outputs": {"OUTPUT": "TEMPORARY_OUTPUT", "OUTPUT_MATRIX": "TEMPORARY_OUTPUT"},
    "CSV matrix": {"OUTPUT": os.path.join(OUT, "csv.gpkg"), "OUTPUT_MATRIX": os.path.join(OUT, "matrix.csv")},
}
report: dict = {}


def errors_of(dialog) -> list:
    """The errors the dialog's log receives, kept (Processing makes a feedback per run)."""
    errors: list = []
    make_feedback = dialog.createFeedback

    def recording_feedback():
        feedback = make_feedback()
        feedback.errorReported.connect(lambda error, fatal: errors.append(error))
        return feedback

    dialog.createFeedback = recording_feedback
    return errors


def layers_on_the_map() -> list:
    layers = []
    for layer in QgsProject.instance().mapLayers().values():
        renderer = layer.renderer() if isinstance(layer, (QgsRasterLayer, QgsVectorLayer)) else None
        layers.append(
            {
                "name": layer.name(),
                "valid": layer.isValid(),
                "spatial": layer.isSpatial(),
                "renderer": renderer.type() if renderer is not None else None,
            }
        )
    return sorted(layers, key=lambda layer: layer["name"])


def screenshot(name: str) -> None:
    QgsApplication.processEvents()
    iface.mainWindow().grab().save(os.path.join(OUT, f"{name}.png"))


def run_dialog(names: list) -> None:
    """Run the next dialog run; the next one starts when it has finished."""
    if not names:
        QTimer.singleShot(0, run_batch)
        return
    name = names.pop(0)
    dialog = processing.createAlgorithmDialog(ALGORITHM, {**INPUTS, **RUNS[name]})
    errors = errors_of(dialog)
    dialog.show()

    def finished(successful, results):
        report[name] = {"successful": successful, "errors": errors, "layers": layers_on_the_map()}
        screenshot(name.replace(" ", "_").replace(",", ""))
        dialog.close()
        QgsProject.instance().removeAllMapLayers()
        QTimer.singleShot(0, lambda: run_dialog(names))

    dialog.algorithmFinished.connect(finished)
    dialog.runAlgorithm()


def run_batch() -> None:
    """Three rows in Processing's batch dialog, "Load layers on completion" on."""
    dialog = BatchAlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById(ALGORITHM))
    errors = errors_of(dialog)
    dialog.show()
    panel = dialog.mainWidget()
    while panel.batchRowCount() < 3:
        panel.addRow()
    context = QgsProcessingContext()
    for row in range(3):
        for name, value in INPUTS.items():
            panel.wrappers[row][panel.parameter_to_column[name]].setParameterValue(value, context)
        destination = os.path.join(OUT, f"batch_{row}.gpkg")
        panel.tblParameters.cellWidget(row + 1, panel.parameter_to_column["OUTPUT"]).setValue(destination)
    panel.checkLoadLayersOnCompletion.setChecked(True)
    dialog.runAlgorithm()  # the batch dialog runs its rows on the main thread, one after the other
    report["batch"] = {"rows": panel.batchRowCount(), "errors": errors, "layers": layers_on_the_map()}
    screenshot("batch")
    dialog.close()
    finish()


def finish() -> None:
    with open(os.path.join(OUT, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    QgsProject.instance().setDirty(False)
    os._exit(0)  # no "save the project?" question, and no wait for QGIS's own shutdown


def start() -> None:
    try:
        run_dialog(list(RUNS))
    except Exception:
        report["crash"] = traceback.format_exc()
        finish()


QTimer.singleShot(2000, start)
