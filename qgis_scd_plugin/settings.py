"""The plugin's settings, kept in the QGIS profile (QgsSettings) under ``scd/``."""

from __future__ import annotations

from qgis.core import QgsSettings

_BACKEND_PYTHON = "scd/backend_python"
_EVERY_CHANGE_TYPE = "scd/legend_every_change_type"


def backend_python() -> str:
    """The backend Python the analyst chose, or "" when none is set."""
    return str(QgsSettings().value(_BACKEND_PYTHON, "", type=str))


def set_backend_python(path: str) -> None:
    """Remember the backend Python ("" forgets it, so SCD_PYTHON or ``scd`` on PATH apply again)."""
    if path:
        QgsSettings().setValue(_BACKEND_PYTHON, path)
    else:
        QgsSettings().remove(_BACKEND_PYTHON)


def legend_of_every_change_type() -> bool:
    """Whether legends list all the change types, not only those an output holds (the default)."""
    return bool(QgsSettings().value(_EVERY_CHANGE_TYPE, False, type=bool))


def set_legend_of_every_change_type(every: bool) -> None:
    QgsSettings().setValue(_EVERY_CHANGE_TYPE, bool(every))
