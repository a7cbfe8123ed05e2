"""The plugin's parameters are the engine's options (scd_core/vocabulary/): their labels, choices,
ranges and defaults, and the checks of typed values. A range changed in the vocabulary is the
parameter's and the check's (the command line's side is tests/core/test_vocabulary.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from plugin_testing import REPO, detect_parameters
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingParameterNumber


def detect_algorithm():
    return QgsApplication.processingRegistry().createAlgorithmById("scd:detectchanges")


def test_every_option_parameter_is_the_engines_option(plugin):
    from qgis_scd_plugin.algorithms.parameters import OPTION_OF, choices
    from qgis_scd_plugin.shared import vocabulary

    algorithm = detect_algorithm()
    for name, option_name in OPTION_OF.items():
        option, definition = vocabulary.OPTIONS[option_name], algorithm.parameterDefinition(name)
        assert definition.description() == option.label
        if isinstance(definition, QgsProcessingParameterNumber):
            assert (definition.dataType() == QgsProcessingParameterNumber.Integer) == (option.type is int)
            assert definition.minimum() == (option.multiple_of or option.minimum or definition.minimum())
            if option.maximum is not None:
                assert definition.maximum() == option.maximum
        if option.choices or option_name == "device":
            assert set(definition.options()) == set(option.choices or vocabulary.DEVICES)
            assert definition.options()[definition.defaultValue()] == option.default
            assert tuple(definition.options()) == choices(name)


def test_the_plugin_reads_the_engines_own_files(plugin):
    """No copy that could drift: the installed plugin's shared modules are scd_core's files, as
    make plugin copies them (a checkout reads them in scd_core/ itself)."""
    from qgis_scd_plugin.shared import events, legend, vocabulary

    for name, module in (("events", events), ("legend", legend)):
        assert Path(module.__file__).read_bytes() == (REPO / "scd_core" / f"{name}.py").read_bytes()
    package = Path(vocabulary.__file__).parent
    engines = sorted(path.name for path in (REPO / "scd_core" / "vocabulary").glob("*.py"))
    assert sorted(path.name for path in package.glob("*.py")) == engines
    for name in engines:
        assert (package / name).read_bytes() == (REPO / "scd_core" / "vocabulary" / name).read_bytes()
    assert type(vocabulary.DETECT[0]).__module__ == "qgis_scd_plugin.scd_shared.vocabulary.option"


@pytest.fixture
def mmu_from_five(plugin, monkeypatch):
    """The vocabulary's minimum mapping unit made to start at 5, as if scd_core/vocabulary/ said so."""
    from qgis_scd_plugin.shared import vocabulary

    changed = dataclasses.replace(vocabulary.OPTIONS["mmu"], minimum=5, label="Smallest patch (pixels)")
    monkeypatch.setitem(vocabulary.OPTIONS, "mmu", changed)
    return changed


def test_a_range_and_label_changed_in_the_vocabulary_are_the_parameters(mmu_from_five, geo_pair, tiny_model, tmp_path):
    algorithm = detect_algorithm()
    definition = algorithm.parameterDefinition("MMU")
    assert (definition.minimum(), definition.description()) == (5, "Smallest patch (pixels)")
    parameters = detect_parameters(geo_pair, tiny_model, OUTPUT=str(tmp_path / "c.gpkg"), MMU="3")
    accepted, message = algorithm.checkParameterValues(parameters, QgsProcessingContext())
    assert not accepted
    assert message == "Smallest patch (pixels): must be at least 5, got 3."
