"""The engine's stdlib-only modules that the plugin reads as they are, so the two cannot disagree:
the classes and change types and their colours (``legend``), every option with its label, range and
check (the ``vocabulary`` package), and the worker protocol's events (``events``).

In a checkout they are ``scd_core/legend.py``, ``scd_core/vocabulary/`` and ``scd_core/events.py``
beside the plugin folder; ``make plugin`` copies them into the zip's ``shared/`` folder. Plain copies,
not links, so a clone works on Windows too. QGIS's own Python reads them without scd's dependencies.

The folder that holds them is imported as the package ``qgis_scd_plugin.scd_shared`` (a package with
that folder as its path, not scd_core's own ``__init__``, which needs scd's dependencies), so the
vocabulary's modules find one another by relative import in both places.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

#: Where the modules are: in an installed plugin, then in a checkout.
PLACES = (Path(__file__).resolve().parent / "shared", Path(__file__).resolve().parent.parent / "scd_core")
PACKAGE = f"{__package__}.scd_shared"


def _package() -> str:
    """The name of a package whose path is the first of :data:`PLACES` that holds the modules."""
    for folder in PLACES:
        if (folder / "vocabulary" / "__init__.py").is_file():
            package = ModuleType(PACKAGE, "scd_core's stdlib-only modules, as the plugin reads them")
            package.__path__ = [str(folder)]
            sys.modules[PACKAGE] = package
            return PACKAGE
    raise ImportError(f"the plugin's copy of scd_core's legend, vocabulary and events is missing from {PLACES[0]}")


if TYPE_CHECKING:
    from scd_core import events, legend, vocabulary
else:
    _name = _package()
    legend, vocabulary, events = (
        importlib.import_module(f"{_name}.{name}") for name in ("legend", "vocabulary", "events")
    )
