"""The plugin's settings, kept in the QGIS profile (QgsSettings) under ``scd/``."""

from __future__ import annotations

import os

from qgis.core import QgsSettings

_BACKEND_PYTHON = "scd/backend_python"
_EVERY_CHANGE_TYPE = "scd/legend_every_change_type"
_MODELS_RUN = "scd/models_run"
_LAST_TRAINED_MODEL = "scd/last_trained_model"
#: Models remembered as run (the most recent ones).
_MODELS_KEPT = 100


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


def last_trained_model() -> str:
    """The model "Train change detection model" wrote last, which "Detect semantic changes" offers as its
    model; "" when none was trained here or the file has gone since."""
    path = str(QgsSettings().value(_LAST_TRAINED_MODEL, "", type=str))
    return path if path and os.path.isfile(path) else ""


def remember_trained_model(path: str) -> None:
    QgsSettings().setValue(_LAST_TRAINED_MODEL, os.path.abspath(path))


def model_has_run(model: str) -> bool:
    """Whether this model file, as it is now, has run here before (and so is in the engine's cache of
    ONNX exports, unless the cache was cleared)."""
    return _model_key(model) in _models_run()


def remember_model_run(model: str) -> None:
    runs = [key for key in _models_run() if key != _model_key(model)]
    QgsSettings().setValue(_MODELS_RUN, [*runs, _model_key(model)][-_MODELS_KEPT:])


def _models_run() -> list[str]:
    return [str(key) for key in QgsSettings().value(_MODELS_RUN, [], type=list)]


def _model_key(model: str) -> str:
    """The model file by its path, size and modification time: a model trained again is a new model."""
    status = os.stat(model)
    return f"{os.path.abspath(model)}|{status.st_size}|{status.st_mtime_ns}"
