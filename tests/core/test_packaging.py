"""What is installed, and as which version: one version for the engine, the wheel and the plugin."""

from __future__ import annotations

import configparser
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import scd_core

REPO = Path(__file__).resolve().parents[2]


def test_the_engine_the_installed_distribution_and_the_plugin_share_one_version():
    plugin = configparser.ConfigParser(interpolation=None)
    plugin.read(REPO / "metadata.txt", encoding="utf-8")
    assert plugin["general"]["version"] == scd_core.__version__
    assert importlib.metadata.version("scd-core") == scd_core.__version__


def test_training_is_run_from_a_checkout_not_installed_as_a_top_level_package(tmp_path):
    """``training`` is a research folder run as ``python -m training.train`` from the checkout; an
    installed top-level package of that name would shadow any other project's ``training``."""
    code = "import importlib.util, sys; print(importlib.util.find_spec('training'))"
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "None"


def test_the_wheel_ships_its_type_hints_and_the_model_table(tmp_path):
    """``py.typed`` (PEP 561) tells users' type checkers to read scd_core's hints."""
    wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*wheel, str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("scd_core-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"scd_core/py.typed", "scd_core/models/model_table.json"} <= names
    assert not any(name.startswith(("training/", "tests/")) for name in names)
