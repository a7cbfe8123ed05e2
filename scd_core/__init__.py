"""scd: semantic change detection for aerial and satellite imagery."""

from typing import Any

from scd_core.version import __version__

__all__ = ["__version__", "detect"]


def __getattr__(name: str) -> Any:
    # ``scd_core.detect`` is imported on first use, so ``import scd_core`` stays light (no torch, no GDAL).
    if name == "detect":
        from scd_core.geo.pipeline import detect

        return detect
    raise AttributeError(f"module 'scd_core' has no attribute {name!r}")
