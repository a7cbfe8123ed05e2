"""The plugin installs from its zip, loads through classFactory and registers its Processing provider."""

from __future__ import annotations

import configparser
import zipfile
from pathlib import Path

from plugin_testing import PLUGIN, REPO
from qgis.core import QgsApplication, QgsProcessingParameterDefinition
from qgis.gui import QgsBrowserGuiModel
from qgis.PyQt.QtWidgets import QApplication, QDialog, QTextBrowser, QToolBar


def test_zip_holds_the_plugin_folder_with_its_metadata_icon_and_styles(plugin_zip: Path):
    with zipfile.ZipFile(plugin_zip) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"{PLUGIN}/metadata.txt").decode("utf-8")
        licence = archive.read(f"{PLUGIN}/LICENSE").decode("utf-8")
    assert {
        f"{PLUGIN}/__init__.py",
        f"{PLUGIN}/LICENSE",
        f"{PLUGIN}/icons/scd.svg",
        f"{PLUGIN}/models/demo.pt",
        f"{PLUGIN}/styles/changes.qml",
        f"{PLUGIN}/styles/change_type.qml",
        f"{PLUGIN}/styles/class.qml",
        f"{PLUGIN}/styles/change_prob.qml",
        f"{PLUGIN}/shared/legend.py",
        f"{PLUGIN}/shared/events.py",
        *(f"{PLUGIN}/shared/vocabulary/{module.name}" for module in (REPO / "scd_core" / "vocabulary").glob("*.py")),
    } <= names
    assert "GNU GENERAL PUBLIC LICENSE" in licence and "Version 2, June 1991" in licence
    assert all(name.startswith(f"{PLUGIN}/") for name in names)
    assert not any("__pycache__" in name for name in names)
    assert metadata == (REPO / "metadata.txt").read_text(encoding="utf-8"), (
        "the zip's metadata.txt is the top-level one"
    )


def test_metadata_declares_what_qgis_reads_and_no_placeholder_address():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    for key in ("name", "description", "about", "version", "author", "tags", "icon"):
        assert general[key].strip(), key
    assert (REPO / "resources" / general["icon"]).is_file()
    for key in ("email", "tracker", "repository", "homepage"):
        assert key not in general, f"{key}: none until the project has a real one"
    text = (REPO / "metadata.txt").read_text(encoding="utf-8")
    assert "@" not in text and "http" not in text, "no address in the metadata"


def test_class_factory_registers_the_provider_with_its_icon(plugin):
    provider = QgsApplication.processingRegistry().providerById("scd")
    assert provider is not None
    assert provider.name() == "Semantic change detection"
    assert not provider.icon().isNull()
    assert provider.versionInfo() == configparser_version()
    algorithm = QgsApplication.processingRegistry().algorithmById("scd:detectchanges")
    assert algorithm.displayName() == "Detect semantic changes"
    assert "from" in algorithm.shortHelpString() and "Cancel" in algorithm.shortHelpString()


def configparser_version() -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def test_algorithm_has_the_parameters_an_analyst_sets(plugin):
    algorithm = QgsApplication.processingRegistry().algorithmById("scd:detectchanges")
    definitions = {definition.name(): definition for definition in algorithm.parameterDefinitions()}
    assert list(definitions) == [
        "BEFORE",
        "AFTER",
        "MODEL",
        "AOI",
        "EXTENT",
        "BANDS",
        "SCALE",
        "TILE_SIZE",
        "OVERLAP",
        "BATCH_SIZE",
        "DEVICE",
        "RUNTIME",
        "PRECISION",
        "DECODE",
        "THRESHOLD",
        "MMU",
        "MIN_AREA",
        "MASK_BEFORE",
        "MASK_AFTER",
        "MASK_VALUES",
        "OUTPUT",
        "OUTPUT_MATRIX",
        "OUTPUT_RASTER",
        "OUTPUT_PROBABILITY",
        "OUTPUT_BEFORE_CLASSES",
        "OUTPUT_AFTER_CLASSES",
    ]
    advanced = {
        name
        for name, definition in definitions.items()
        if definition.flags() & QgsProcessingParameterDefinition.FlagAdvanced
    }
    assert advanced == {
        "BANDS", "SCALE", "TILE_SIZE", "OVERLAP", "BATCH_SIZE", "DEVICE", "RUNTIME", "PRECISION", "DECODE", "THRESHOLD",
        "MMU", "MIN_AREA", "MASK_BEFORE", "MASK_AFTER", "MASK_VALUES",
    }  # fmt: skip
    optional = {
        name
        for name, definition in definitions.items()
        if definition.flags() & QgsProcessingParameterDefinition.FlagOptional
    }
    assert {"MODEL", "AOI", "EXTENT", "BANDS", "SCALE", "BATCH_SIZE", "THRESHOLD", "MMU", "OUTPUT_MATRIX"} <= optional
    assert {"OUTPUT_RASTER", "OUTPUT_PROBABILITY", "OUTPUT_BEFORE_CLASSES", "OUTPUT_AFTER_CLASSES"} <= optional
    assert {"MASK_BEFORE", "MASK_AFTER", "MASK_VALUES"} <= optional
    assert definitions["MIN_AREA"].defaultValue() == 10.0, "a minimum area by default: no specks of a few pixels"
    assert definitions["DEVICE"].options() == ["auto", "cpu", "cuda"]
    assert definitions["RUNTIME"].options() == ["auto", "torch", "onnxruntime"]
    assert definitions["MMU"].defaultValue() == 9, "the engine's default sieve, shown"
    assert definitions["OUTPUT"].type() == "sink" and definitions["OUTPUT_MATRIX"].type() == "sink"
    assert not definitions["OUTPUT_MATRIX"].hasGeometry(), "the change matrix is a table"
    assert definitions["OUTPUT"].defaultFileExtension() == "gpkg"
    for raster in ("OUTPUT_RASTER", "OUTPUT_PROBABILITY", "OUTPUT_BEFORE_CLASSES", "OUTPUT_AFTER_CLASSES"):
        assert definitions[raster].defaultFileExtension() == "tif"
        assert not definitions[raster].createByDefault(), "the rasters are there when asked for"


def test_menu_and_toolbar_entries_open_the_algorithm_dialog(plugin, qgis_iface, monkeypatch):
    # pytest-qgis's stand-in for QGIS's main window has no browser model, which Processing's dialog reads.
    browser = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    toolbar = qgis_iface.mainWindow().findChild(QToolBar, "scdToolbar")
    assert toolbar is not None
    detect = next(action for action in toolbar.actions() if action.objectName() == "scdDetectChanges")
    assert detect in plugin.actions and not detect.icon().isNull()
    detect.trigger()
    dialog = plugin.detect_dialog
    assert dialog.isVisible()
    assert dialog.algorithm().id() == "scd:detectchanges"
    help_panel = dialog.findChild(QTextBrowser, "textShortHelp")
    shown = help_panel.toPlainText()
    assert "what it changed from and to (for example low vegetation → building), with a deep-learning" in shown, (
        "a sentence of the help reads as one: QGIS makes a paragraph of every line of the help"
    )
    assert "\n" not in algorithm_help(), "the help has no hard line breaks"
    dialog.close()


def algorithm_help() -> str:
    return QgsApplication.processingRegistry().algorithmById("scd:detectchanges").shortHelpString()


def test_settings_entry_opens_the_backend_dialog(plugin):
    settings = next(action for action in plugin.actions if action.objectName() == "scdSettings")
    settings.trigger()
    dialog = plugin.settings_dialog
    assert isinstance(dialog, QDialog) and dialog.isVisible()
    assert dialog.check_button.text() == "Check backend"
    dialog.close()
    QApplication.processEvents()


def test_zip_bundles_the_scd_core_wheel_that_install_backend_installs(plugin_zip: Path, plugin):
    from qgis_scd_plugin.backend_setup import default_pip_spec

    with zipfile.ZipFile(plugin_zip) as archive:
        wheels = [name for name in archive.namelist() if name.startswith(f"{PLUGIN}/wheels/scd_core-")]
    assert len(wheels) == 1 and wheels[0].endswith(".whl")
    spec = Path(default_pip_spec())
    assert spec.name == Path(wheels[0]).name and spec.is_file()  # the installed copy points at its own wheel
    with zipfile.ZipFile(spec) as wheel:
        names = set(wheel.namelist())
    assert {"scd_core/__init__.py", "scd_core/cli/detect.py", "scd_core/legend.py"} <= names
    assert not any(name.startswith("training/") for name in names), "training/ is run from a checkout only"
