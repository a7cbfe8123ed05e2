"""Files of a source checkout's ``resources/`` folder that the engine uses. Importing this module is
free (no torch), so the command line can name defaults without loading a model."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: The demo checkpoint (trained on synthetic scenes by ``make demo-model``): what ``scd detect`` runs
#: when no ``--model`` is given. A wheel install has no such file, and then ``--model`` is needed.
DEMO_MODEL = RESOURCES / "models" / "demo.pt"
