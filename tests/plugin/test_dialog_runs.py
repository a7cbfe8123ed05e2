"""Runs as the Processing dialog makes them, several in one session: every destination an
``QgsProcessingOutputLayerDefinition`` aimed at the project ("Open output file after running"),
``checkParameterValues`` and the run with one context, the results loaded by Processing's own
``handleAlgorithmResults``, then the context dropped, which deletes each layer's post-processor.
``processing.run`` does none of this, so a fresh test of it cannot see what a second dialog run meets."""

from __future__ import annotations

import gc
import weakref

import pytest
from plugin_testing import RecordingFeedback, detect_parameters
from processing.gui.Postprocessing import handleAlgorithmResults
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingOutputLayerDefinition,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)

EVERY_RASTER = ("OUTPUT_RASTER", "OUTPUT_PROBABILITY", "OUTPUT_BEFORE_CLASSES", "OUTPUT_AFTER_CLASSES")


def run_as_the_dialog(parameters: dict) -> RecordingFeedback:
    """One run as processing.gui.AlgorithmDialog.runAlgorithm does it in QGIS 3.22, every output loaded on
    completion; the feedback, after the context is gone. Fails where the dialog would show an error."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")
    values = dict(parameters)
    for definition in algorithm.destinationParameterDefinitions():
        if definition.name() in values:
            values[definition.name()] = QgsProcessingOutputLayerDefinition(
                values[definition.name()], QgsProject.instance()
            )
            supported, error = definition.isSupportedOutputValue(values[definition.name()], QgsProcessingContext())
            assert supported, error
    feedback = RecordingFeedback()
    context = QgsProcessingContext()
    accepted, message = algorithm.checkParameterValues(values, context)
    assert accepted, message
    results, finished = algorithm.run(values, context, feedback)
    assert finished, feedback.warnings
    assert handleAlgorithmResults(algorithm, context, feedback, False, results), feedback.errors
    del context  # as the dialog's `self.context = None`: QGIS deletes the post-processors it was given
    gc.collect()
    return feedback


@pytest.fixture
def project():
    yield QgsProject.instance()
    QgsProject.instance().clear()


def loaded(project: QgsProject) -> dict:
    return {layer.name(): layer for layer in project.mapLayers().values()}


def test_two_runs_with_every_output_load_styled_layers_in_one_session(plugin, geo_pair, tiny_model, tmp_path, project):
    """Both class rasters together crashed QGIS (one post-processor deleted twice); the second run failed
    with "wrapped C/C++ object of type StyleOnLoad has been deleted"."""
    for run in ("first", "second"):
        outputs = {name: str(tmp_path / f"{run}_{name}.tif") for name in EVERY_RASTER}
        run_as_the_dialog(
            detect_parameters(
                geo_pair, tiny_model, OUTPUT=str(tmp_path / f"{run}.gpkg"), OUTPUT_MATRIX="TEMPORARY_OUTPUT", **outputs
            )
        )
        layers = loaded(project)
        assert len(layers) == 6
        assert layers["Changes before → after"].renderer().type() == "categorizedSymbol"
        assert layers["Change types before → after"].renderer().type() == "paletted"
        assert layers["Change probability before → after"].renderer().type() == "singlebandpseudocolor"
        for image in ("before", "after"):
            classes = layers[f"Classes of {image} where changed"]
            assert classes.renderer().type() == "paletted" and "Change threshold" in classes.metadata().abstract()
        assert not loaded(project)["Change matrix before → after (ha)"].isSpatial()
        project.clear()


def test_a_post_processor_lives_until_qgis_deletes_it(plugin):
    """Handed to a context, a post-processor outlives the Python names of it (QGIS would otherwise call
    a collected object) and goes with the context (none is kept for ever)."""
    from qgis_scd_plugin.styling import style_on_load

    context = QgsProcessingContext()
    context.addLayerToLoadOnCompletion("x.gpkg", QgsProcessingContext.LayerDetails("x", QgsProject.instance()))
    style_on_load(context, "x.gpkg", "Changes", None)
    alive = weakref.ref(context.layerToLoadOnCompletionDetails("x.gpkg").postProcessor())
    gc.collect()
    assert alive() is not None
    assert context.layerToLoadOnCompletionDetails("x.gpkg").name == "Changes"
    del context
    gc.collect()
    assert alive() is None


def test_a_run_with_temporary_outputs_loads_them_without_an_error(plugin, geo_pair, tiny_model, project):
    """The default run: deriving the destination folders registered a bogus "memory:Changes …" layer,
    which Processing then reported as "not correctly generated"."""
    outputs = {"OUTPUT": "TEMPORARY_OUTPUT", "OUTPUT_MATRIX": "TEMPORARY_OUTPUT", "OUTPUT_RASTER": "TEMPORARY_OUTPUT"}
    feedback = run_as_the_dialog(detect_parameters(geo_pair, tiny_model, **outputs))
    assert not feedback.errors
    layers = loaded(project)
    assert sorted(layers) == [
        "Change matrix before → after (ha)",
        "Change types before → after",
        "Changes before → after",
    ]
    changes = layers["Changes before → after"]
    assert isinstance(changes, QgsVectorLayer) and changes.renderer().type() == "categorizedSymbol"
    assert isinstance(layers["Change types before → after"], QgsRasterLayer)


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_the_matrix_is_written_in_the_formats_its_save_dialog_offers(
    plugin, geo_pair, tiny_model, tmp_path, project, extension
):
    """QGIS 3.22 judged a table destination by the vector extensions and refused these."""
    matrix = tmp_path / f"matrix.{extension}"
    assert f"*.{extension}" in plugin_algorithm().parameterDefinition("OUTPUT_MATRIX").createFileFilter()
    run_as_the_dialog(
        detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "c.gpkg"), OUTPUT_MATRIX=str(matrix))
    )
    table = loaded(project)["Change matrix before → after (ha)"]
    assert matrix.is_file() and not table.isSpatial() and table.featureCount() == 7


def plugin_algorithm():
    return QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")


def test_a_batch_row_that_leaves_the_optional_outputs_empty_loads_without_an_error(
    plugin, geo_pair, tiny_model, tmp_path, project
):
    """Processing's batch dialog hands every destination over, an empty text for each one left empty,
    with "Load layers on completion" on; each of those was registered as a layer "" to load, and every
    row ended in "The following layers were not correctly generated"."""
    algorithm = plugin_algorithm()
    parameters = detect_parameters(geo_pair, tiny_model)
    for definition in algorithm.destinationParameterDefinitions():
        text = str(tmp_path / "row.gpkg") if definition.name() == "OUTPUT" else ""
        parameters[definition.name()] = QgsProcessingOutputLayerDefinition(text, QgsProject.instance())
    feedback = RecordingFeedback()
    context = QgsProcessingContext()
    results, finished = algorithm.run(parameters, context, feedback)
    assert finished, feedback.warnings
    assert handleAlgorithmResults(algorithm, context, feedback, False, parameters), feedback.errors
    assert list(loaded(project)) == ["Changes before → after"]
    assert all(results[name] is None for name in (*EVERY_RASTER, "OUTPUT_MATRIX"))
