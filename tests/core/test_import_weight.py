"""What a module drags in when imported: each check runs in a fresh interpreter, whose ``sys.modules``
starts empty of scd."""

from __future__ import annotations

import subprocess
import sys


def imported_after(*modules: str) -> set[str]:
    """The module names a fresh interpreter holds once it has imported ``modules``."""
    code = f"import sys\nimport {', '.join(modules)}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_training_normalises_without_the_detect_wing() -> None:
    """Normalisation lives outside ``scd_core.geo``: training's datasets import it without rasterio or
    any of the detection modules."""
    loaded = imported_after("training.datasets")
    assert "scd_core.normalise" in loaded
    assert not {name for name in loaded if name.startswith("scd_core.geo")}
    assert "rasterio" not in loaded


def test_maps_polygons_and_reports_import_without_torch() -> None:
    """The probability scale, the engine's regions and their crop live with the maps: the sieve, the
    polygons, the reports and the pipeline's stages after inference load no torch."""
    loaded = imported_after(
        "scd_core.geo.maps", "scd_core.geo.sieve", "scd_core.geo.vectorize", "scd_core.geo.reports",
        "scd_core.geo.pipeline",
    )  # fmt: skip
    assert {"scd_core.geo.maps", "scd_core.geo.pipeline"} <= loaded
    assert "torch" not in loaded
