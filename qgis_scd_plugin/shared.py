"""The engine's stdlib-only modules that the plugin reads as they are, so the two cannot disagree:
the classes and change types and their colours (``legend``), every option with its label, range and
check (``vocabulary``), and the worker protocol's events (``events``).

In a checkout they are ``scd_core/legend.py``, ``vocabulary.py`` and ``events.py`` beside the plugin
folder; ``make plugin`` copies them into the zip's ``shared/`` folder. Plain copies, not links, so a
clone works on Windows too. QGIS's own Python reads them without scd's dependencies.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

#: Where the modules are: in an installed plugin, then in a checkout.
PLACES = (Path(__file__).resolve().parent / "shared", Path(__file__).resolve().parent.parent / "scd_core")


def _load(name: str) -> ModuleType:
    """The module ``name`` of the first of :data:`PLACES` that has it, under this package's name."""
    for folder in PLACES:
        path = folder / f"{name}.py"
        if path.is_file():
            qualified = f"{__package__}.shared_{name}"
            spec = importlib.util.spec_from_file_location(qualified, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[qualified] = module  # before running it: dataclasses look their module up
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"the plugin's copy of scd_core's {name}.py is missing from {PLACES[0]}")


if TYPE_CHECKING:
    from scd_core import events, legend, vocabulary
else:
    legend, vocabulary, events = (_load(name) for name in ("legend", "vocabulary", "events"))
