"""Accuracy, areas and zones in real QGIS with the real engine, and through ``qgis_process``:
``scd:accuracysample`` draws points of a detection run (``scd sample``) that open ready for labelling,
``scd:estimateareas`` turns them, labelled, into areas with 95 % intervals (``scd assess``), and
``scd:zonestatistics`` sums the run's change in zones of another CRS (``scd zones``).

The run is the tiny model's on the synthetic pair at a threshold of one half: no change and one
change type, two strata."""

from __future__ import annotations

import csv
import shlex
import subprocess
import time
from pathlib import Path

import processing
import pytest
from plugin_testing import RecordingFeedback
from processing.gui.Postprocessing import handleAlgorithmResults
from processing.tools.dataobjects import createContext
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QCoreApplication
from test_qgis_process import profile_environment, run_qgis_process  # noqa: F401 (a fixture)

#: A sample of 30 points, at least 5 in each stratum.
SMALL = {"SIZE": 30, "MIN_PER_STRATUM": 5}


@pytest.fixture(scope="module")
def run_folder(scd_python, geo_pair, tiny_model, tmp_path_factory) -> Path:
    """An scd detect output folder: the tiny model at a threshold of 0.5 maps some change, not all."""
    folder = tmp_path_factory.mktemp("accounting") / "run"
    done = subprocess.run(
        [scd_python, "-m", "scd_core", "detect", str(geo_pair / "before.tif"), str(geo_pair / "after.tif"), "-o",
         str(folder), "--model", str(tiny_model), "--tile", "128", "--threshold", "0.5", "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def project():
    yield QgsProject.instance()
    QgsProject.instance().clear()


def loaded(project: QgsProject, name: str) -> QgsVectorLayer:
    (layer,) = project.mapLayersByName(name)
    return layer


def value_map(layer: QgsVectorLayer, field: str) -> dict:
    """The drop-down of ``field``: each entry's value by its description."""
    setup = layer.editorWidgetSetup(layer.fields().indexOf(field))
    assert setup.type() == "ValueMap"
    return {description: value for entry in setup.config()["map"] for description, value in entry.items()}


def label_points(layer: QgsVectorLayer, wrong: int = 0) -> None:
    """Label every point's ref_class with its stratum, as an interpreter does in QGIS's editing, but the
    first ``wrong`` points of no change with the other stratum (changes the map missed); saved."""
    strata = sorted({feature["stratum"] for feature in layer.getFeatures()})
    other = next(name for name in strata if name != "no change")
    reference = layer.fields().indexOf("ref_class")
    assert layer.startEditing()
    for feature in layer.getFeatures():
        missed = feature["stratum"] == "no change" and wrong > 0
        wrong -= missed
        assert layer.changeAttributeValue(feature.id(), reference, other if missed else feature["stratum"])
    assert layer.commitChanges(), layer.commitErrors()


def test_a_run_is_sampled_into_points_that_open_ready_for_labelling(plugin, run_folder, tmp_path, project):
    feedback = RecordingFeedback()
    output = tmp_path / "sample.gpkg"
    results = processing.runAndLoadResults(
        "scd:accuracysample", {"RUN": str(run_folder), **SMALL, "OUTPUT": str(output)}, feedback=feedback
    )
    assert results["OUTPUT"] == str(output) and results["POINTS"] == f"{output}|layername=points"
    points = loaded(project, "Accuracy sample")
    assert points.featureCount() == 30
    strata = {feature["stratum"] for feature in points.getFeatures()}
    assert len(strata) == 2 and "no change" in strata
    choices = value_map(points, "ref_class")
    assert {name: name for name in strata}.items() <= choices.items() and len(choices) == 3, "the strata, and empty"
    assert points.renderer().type() == "RuleRenderer"
    assert [rule.label() for rule in points.renderer().rootRule().children()] == ["to label", "labelled"]
    form = points.editFormConfig()
    assert [form.readOnly(index) for index in range(points.fields().count())] == [
        name != "ref_class" for name in points.fields().names()
    ]
    reopened = QgsVectorLayer(results["POINTS"], "points", "ogr")
    assert reopened.renderer().type() == "RuleRenderer", "the GeoPackage's default style"
    assert value_map(reopened, "ref_class") == choices
    drawn = next(index for index, info in enumerate(feedback.infos) if info.startswith("30 points drawn "))
    assert feedback.infos[drawn] == "30 points drawn (olofsson allocation of a design size of 30) in 2 strata:"
    assert feedback.infos[drawn + 1].startswith("  no change: 25 points; ")
    (command,) = feedback.commands
    assert f" sample {run_folder} -o " in command and " --n 30 --min-per-stratum 5 " in command


def test_a_labelled_sample_gives_areas_with_their_intervals_in_the_log_and_a_table(
    plugin, run_folder, tmp_path, project
):
    processing.runAndLoadResults(
        "scd:accuracysample", {"RUN": str(run_folder), **SMALL, "OUTPUT": str(tmp_path / "s.gpkg")}
    )
    points = loaded(project, "Accuracy sample")
    label_points(points, wrong=1)
    feedback, table = RecordingFeedback(), tmp_path / "estimates.csv"
    processing.runAndLoadResults("scd:estimateareas", {"POINTS": points.id(), "OUTPUT": str(table)}, feedback=feedback)
    estimates = loaded(project, "Area estimates")
    rows = {feature["class"]: feature for feature in estimates.getFeatures()}
    assert sorted(rows) == sorted({feature["stratum"] for feature in points.getFeatures()})
    changed = next(name for name in rows if name != "no change")
    assert rows[changed]["area_ha"] > rows[changed]["mapped_area_ha"] > 0, "a change the map missed adds to its area"
    assert isinstance(rows[changed]["area_ci95_ha"], float), "numbers, not text"
    assert any(line.startswith("Overall accuracy: 0.9") and "± 0.0" in line for line in feedback.infos)
    (line,) = [info for info in feedback.infos if info.startswith(f"  {changed}: ")]
    assert f"{rows[changed]['area_ha']:,.2f} ± {rows[changed]['area_ci95_ha']:,.2f} ha (mapped " in line
    (command,) = feedback.commands
    assert " assess " in command and " --ref-field ref_class -o " in command and command.endswith(" --json")


def test_the_dialogs_background_run_loads_the_points_ready_for_labelling(plugin, run_folder, project):
    """As the dialog runs it: in a task on another thread, whose layers come back to the main one."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:accuracysample")
    values = {"RUN": str(run_folder), **SMALL, "OUTPUT": "TEMPORARY_OUTPUT"}
    context, feedback = createContext(), RecordingFeedback()  # the task holds neither: they must outlive it
    task, finished = QgsProcessingAlgRunnerTask(algorithm, values, context, feedback), []
    task.executed.connect(lambda ok, results: finished.append(ok))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 60
    while not finished and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert finished == [True], feedback.errors
    assert handleAlgorithmResults(algorithm, context, feedback, False, values), feedback.errors
    points = loaded(project, "Accuracy sample")
    assert points.renderer().type() == "RuleRenderer" and "no change" in value_map(points, "ref_class")


def test_unsaved_labels_are_refused_and_a_refused_run_writes_nothing(plugin, run_folder, tmp_path, project):
    processing.runAndLoadResults(
        "scd:accuracysample", {"RUN": str(run_folder), **SMALL, "OUTPUT": str(tmp_path / "s.gpkg")}
    )
    points = loaded(project, "Accuracy sample")
    estimate = QgsApplication.processingRegistry().createAlgorithmById("scd:estimateareas")
    values = {"POINTS": points.id(), "OUTPUT": str(tmp_path / "estimates.csv")}
    context = QgsProcessingContext()
    context.setProject(project)
    points.startEditing()
    points.changeAttributeValue(next(points.getFeatures()).id(), points.fields().indexOf("ref_class"), "no change")
    accepted, message = estimate.checkParameterValues(values, context)
    points.rollBack()
    assert not accepted and message.startswith("Labelled sample points: 'Accuracy sample' has unsaved edits.")
    with pytest.raises(
        QgsProcessingException, match=r"s\.gpkg: 30 of 30 points have no ref_class: label them, or Drop"
    ):
        processing.run("scd:estimateareas", values)
    assert not (tmp_path / "estimates.csv").exists()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"REF_FIELD": "label"}, r"s\.gpkg: the points have no field 'label' \(their fields: "),
        (
            {"MAP_FIELD": "map_class_name", "DROP_UNLABELLED": True},
            r"s\.gpkg: strata \[.*\] have fewer than 2 labelled",
        ),
    ],
)
def test_the_engines_refusal_of_a_sample_is_its_one_line(plugin, run_folder, tmp_path, given, message):
    sample = processing.run("scd:accuracysample", {"RUN": str(run_folder), **SMALL, "OUTPUT": str(tmp_path / "s.gpkg")})
    with pytest.raises(QgsProcessingException, match=message) as error:
        processing.run("scd:estimateareas", {"POINTS": sample["POINTS"], **given, "OUTPUT": str(tmp_path / "e.csv")})
    assert "\n" not in str(error.value) and "--" not in str(error.value)
    assert not (tmp_path / "e.csv").exists()


def test_a_change_layer_is_sampled_from_its_run_folder_or_a_folder_rebuilt_from_it(plugin, run_folder, tmp_path):
    elsewhere = tmp_path / "change types.tif"
    elsewhere.write_bytes((run_folder / "change_type.tif").read_bytes())
    folders = []
    for layer in (run_folder / "change_type.tif", elsewhere):
        feedback = RecordingFeedback()
        output = tmp_path / f"{layer.stem}.gpkg"
        processing.run("scd:accuracysample", {"CHANGES": str(layer), **SMALL, "OUTPUT": str(output)}, feedback=feedback)
        assert QgsVectorLayer(str(output), "s", "ogr").featureCount() == 30
        arguments = shlex.split(feedback.commands[0])
        folders.append(Path(arguments[arguments.index("sample") + 1]))
    assert folders[0] == run_folder
    assert folders[1].name == "run" and folders[1].parent.name.startswith("scd_sample_") and not folders[1].exists()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"CHANGES": "{run}/change_type.tif"}, "Run output folder or Change types: give one of them."),
        ({"STRATA": 1, "STRATA_FILE": "{run}/run.json"}, "Strata groups (YAML): a file of groups sets the strata"),
        ({"TARGET_SE": 0}, "Target standard error: must lie in (0, 1), got 0."),
        ({"OUTPUT": "{run}/sample.shp"}, "Sample: save it as a .gpkg file; got "),
    ],
)
def test_sample_values_the_run_cannot_use_are_refused_naming_them(plugin, run_folder, given, message):
    values = {"RUN": str(run_folder), "OUTPUT": "TEMPORARY_OUTPUT"}
    values.update(
        {name: value.format(run=run_folder) if isinstance(value, str) else value for name, value in given.items()}
    )
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:accuracysample")
    accepted, problem = algorithm.checkParameterValues(values, QgsProcessingContext())
    assert not accepted and problem.startswith(message), problem


def zones_layer(run_folder: Path, halves: bool = True) -> QgsVectorLayer:
    """Zones in WGS 84 (the run is in UTM 31N): its west and east halves, or one zone far from it."""
    raster = QgsRasterLayer(str(run_folder / "change_type.tif"), "run")
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    box = QgsCoordinateTransform(raster.crs(), wgs84, QgsProject.instance()).transformBoundingBox(raster.extent())
    box.grow(box.width() / 10)
    middle = box.center().x()
    zones = QgsVectorLayer("Polygon?crs=EPSG:4326&field=district:string", "districts", "memory")
    parts = {"west": QgsRectangle(box.xMinimum(), box.yMinimum(), middle, box.yMaximum()),
             "east": QgsRectangle(middle, box.yMinimum(), box.xMaximum(), box.yMaximum())}  # fmt: skip
    if not halves:
        parts = {"far": QgsRectangle(box.xMinimum() + 5, box.yMinimum(), box.xMaximum() + 5, box.yMaximum())}
    features = []
    for name, rectangle in parts.items():
        feature = QgsFeature(zones.fields())
        feature.setGeometry(QgsGeometry.fromRect(rectangle))
        feature.setAttributes([name])
        features.append(feature)
    zones.dataProvider().addFeatures(features)
    return zones


def test_zones_of_another_crs_give_the_change_of_each_as_a_table_and_a_layer(plugin, run_folder, tmp_path, project):
    table = tmp_path / "by district.csv"
    results = processing.runAndLoadResults(
        "scd:zonestatistics",
        {"RUN": str(run_folder), "ZONES": zones_layer(run_folder), "FIELD": "district", "OUTPUT": str(table)},
    )
    assert results["OUTPUT_ZONES"] == f"{tmp_path / 'by district.gpkg'}|layername=zones"
    with open(table, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["zone"] for row in rows} == {"west", "east"} and list(rows[0]) == ["zone", "from", "to", "hectares"]
    zones = {feature["district"]: feature for feature in loaded(project, "Zones with their changed area").getFeatures()}
    assert sum(zone["changed_ha"] for zone in zones.values()) == pytest.approx(
        sum(float(row["hectares"]) for row in rows), abs=1e-5
    )
    assert all(0 < zone["changed_share"] < 1 for zone in zones.values())
    assert loaded(project, "Change by zone (ha)").featureCount() == len(rows)


@pytest.mark.parametrize(
    ("halves", "field", "message"),
    [
        (False, "district", r"zones\.gpkg: no zone overlaps the run's change map$"),
        (True, "name", r"zones\.gpkg: the zones have no field 'name' \(their fields: district\)$"),
    ],
)
def test_the_engines_refusal_of_zones_is_its_one_line(plugin, run_folder, tmp_path, halves, field, message):
    values = {"RUN": str(run_folder), "ZONES": zones_layer(run_folder, halves), "FIELD": field,
              "OUTPUT": str(tmp_path / "zones.csv")}  # fmt: skip
    with pytest.raises(QgsProcessingException, match=message):
        processing.run("scd:zonestatistics", values)
    assert list(tmp_path.iterdir()) == []


def test_zones_beside_the_table_never_replace_another_file(plugin, run_folder, tmp_path):
    (tmp_path / "districts.gpkg").write_bytes(b"")
    values = {"RUN": str(run_folder), "ZONES": zones_layer(run_folder), "FIELD": "district",
              "OUTPUT": str(tmp_path / "districts.csv")}  # fmt: skip
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("scd:zonestatistics")
    accepted, problem = algorithm.checkParameterValues(values, QgsProcessingContext())
    assert not accepted and problem.startswith("Change by zone (ha): the zones are written beside it as "), problem


def qgis_process(algorithm: str, environment: dict, **values) -> subprocess.CompletedProcess:
    run = run_qgis_process(
        ["run", algorithm, "--", *(f"{name}={value}" for name, value in values.items())], environment
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_qgis_process_samples_estimates_and_sums_by_zone(plugin, profile_environment, run_folder, tmp_path):  # noqa: F811
    from qgis_scd_plugin.inputs import write_vector

    sample = tmp_path / "sample.gpkg"
    qgis_process("scd:accuracysample", profile_environment, RUN=run_folder, SIZE=30, MIN_PER_STRATUM=5, OUTPUT=sample)
    points = QgsVectorLayer(f"{sample}|layername=points", "points", "ogr")
    assert points.renderer().type() == "RuleRenderer" and "no change" in value_map(points, "ref_class")
    label_points(points)
    estimates = qgis_process("scd:estimateareas", profile_environment, POINTS=sample, OUTPUT=tmp_path / "areas.csv")
    assert "Overall accuracy: 1.000 ± 0.000" in estimates.stdout
    assert (tmp_path / "areas.csv").read_text(encoding="utf-8").startswith("class,points,mapped_area_ha,area_ha,")
    zones = tmp_path / "districts.gpkg"
    write_vector(zones_layer(run_folder), str(zones), "districts", QgsProcessingContext())
    qgis_process("scd:zonestatistics", profile_environment, RUN=run_folder, ZONES=zones, FIELD="district",
                 OUTPUT=tmp_path / "by zone.csv")  # fmt: skip
    assert (tmp_path / "by zone.csv").is_file() and (tmp_path / "by zone.gpkg").is_file()
