"""Where the plugin's own files are: the one place that knows the plugin folder's layout.

An installed plugin (``make plugin``'s zip) has ``metadata.txt``, ``icons/``, ``styles/`` and
``models/`` in its folder; a checkout has them once, at the top level and in ``resources/``, and no
links (which a clone on Windows would not have), so each path is the first of the two that exists.
"""

from __future__ import annotations

import configparser
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent  # a checkout linked into a QGIS profile: the checkout
#: A checkout's resources folder (an installed plugin has none).
RESOURCES = PLUGIN_DIR.parent / "resources"


def _installed_or_checkout(installed: str, checkout: Path) -> Path:
    """``installed`` (relative to the plugin folder) where it exists, else the checkout's ``checkout``."""
    path = PLUGIN_DIR / installed
    return path if path.exists() else checkout


METADATA = _installed_or_checkout("metadata.txt", PLUGIN_DIR.parent / "metadata.txt")
ICON = _installed_or_checkout("icons/scd.svg", RESOURCES / "icons" / "scd.svg")
#: The small demo checkpoint shipped with the plugin (resources/models/demo.pt): what runs when MODEL is empty.
DEMO_MODEL = _installed_or_checkout("models/demo.pt", RESOURCES / "models" / "demo.pt")
_STYLES = _installed_or_checkout("styles", RESOURCES / "styles")
#: Categorized style of the from-to polygons (field ``change_type``), made by scripts/generate_styles.py.
CHANGES_STYLE = _STYLES / "changes.qml"
#: Paletted style of the change-type raster, made by scripts/generate_styles.py.
CHANGE_TYPE_STYLE = _STYLES / "change_type.qml"
#: Paletted style of the per-date class maps (before_class.tif, after_class.tif), "no change" transparent.
CLASS_STYLE = _STYLES / "class.qml"
#: Pseudocolour style of the change probability (0 to 1), made by scripts/generate_styles.py.
CHANGE_PROBABILITY_STYLE = _STYLES / "change_prob.qml"


#: The README's section on the plugin: the algorithm's Help button opens it. In a checkout the README is
#: beside the plugin folder; ``make plugin`` puts a copy in the zip.
README_FILES = (PLUGIN_DIR / "README.md", PLUGIN_DIR.parent / "README.md")
README_PLUGIN_ANCHOR = "qgis-plugin"


def help_url() -> str:
    """A ``file://`` URL of the README's plugin section, or "" when this copy has no README."""
    readme = next((path for path in README_FILES if path.is_file()), None)
    return f"{readme.resolve().as_uri()}#{README_PLUGIN_ANCHOR}" if readme else ""


def backend_source() -> Path:
    """What "Install backend" pip-installs: the scd-core wheel ``make plugin`` bundles in ``wheels/``,
    or, in a source checkout (no wheel there), the checkout itself."""
    wheels = sorted((PLUGIN_DIR / "wheels").glob("scd_core-*.whl"))
    return wheels[-1] if wheels else PLUGIN_DIR.parent


def metadata(key: str) -> str:
    """A value of ``metadata.txt``'s ``[general]`` section, e.g. ``metadata("version")``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(METADATA, encoding="utf-8")
    return parser["general"][key]
