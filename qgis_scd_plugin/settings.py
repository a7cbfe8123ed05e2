"""The plugin's settings, kept in the QGIS profile (QgsSettings) under ``scd/``."""

from __future__ import annotations

from qgis.core import QgsSettings

_BACKEND_PYTHON = "scd/backend_python"


def backend_python() -> str:
    """The backend Python the analyst chose, or "" when none is set."""
    return str(QgsSettings().value(_BACKEND_PYTHON, "", type=str))


def set_backend_python(path: str) -> None:
    """Remember the backend Python ("" forgets it, so SCD_PYTHON or ``scd`` on PATH apply again)."""
    if path:
        QgsSettings().setValue(_BACKEND_PYTHON, path)
    else:
        QgsSettings().remove(_BACKEND_PYTHON)
