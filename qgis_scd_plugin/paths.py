"""Where the plugin's own files are: the one place that knows the plugin folder's layout.

In the repository ``metadata.txt``, ``icons/``, ``styles/`` and ``models/`` are links to the top-level
``metadata.txt`` and to folders of ``resources/``; ``make plugin`` copies the files they point at into
the zip, so the plugin reads the same paths in a checkout and in an installed copy.
"""

from __future__ import annotations

import configparser
from pathlib import Path

PLUGIN_DIR = Path(__file__).parent
METADATA = PLUGIN_DIR / "metadata.txt"
ICON = PLUGIN_DIR / "icons" / "scd.svg"
#: The small demo checkpoint shipped with the plugin (resources/models/demo.pt): what runs when MODEL is empty.
DEMO_MODEL = PLUGIN_DIR / "models" / "demo.pt"
#: Categorized style of the from-to polygons (field ``change_type``), made by scripts/generate_styles.py.
CHANGES_STYLE = PLUGIN_DIR / "styles" / "changes.qml"
#: Paletted style of the change-type raster, made by scripts/generate_styles.py.
CHANGE_TYPE_STYLE = PLUGIN_DIR / "styles" / "change_type.qml"
#: Paletted style of the per-date class maps (before_class.tif, after_class.tif), "no change" transparent.
CLASS_STYLE = PLUGIN_DIR / "styles" / "class.qml"
#: Pseudocolour style of the change probability (0 to 1), made by scripts/generate_styles.py.
CHANGE_PROBABILITY_STYLE = PLUGIN_DIR / "styles" / "change_prob.qml"


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
