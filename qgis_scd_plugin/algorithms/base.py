"""What every scd algorithm shares: its icon and Help link, a fresh instance of its own class, its
values checked in the dialog's words before the run, and the engine run in the backend.

Each algorithm is a thin layer over one ``scd`` command: it checks values, prepares files, runs the
command as a worker (:mod:`..worker`) and writes what comes back. The checks and the run go through
one place, so that a refusal reads the same in the dialog, ``processing.run`` and ``qgis_process``,
and a cancelled or failed worker ends every algorithm the same way.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProperty,
    QgsRasterLayer,
)
from qgis.PyQt.QtGui import QIcon

from .. import settings
from ..backend import Backend, BackendNotFoundError, find_backend, worker_environment
from ..inputs import require_crs
from ..options import OptionError
from ..paths import ICON, help_url
from ..worker import WorkerCancelledError, WorkerFailedError

#: How a worker is run: :func:`..worker.run_worker` (to its last event) or :func:`..worker.run_json_command`.
Runner = Callable[[list[str], Mapping[str, str], QgsProcessingFeedback, str, Mapping[str, str]], Mapping[str, Any]]
CANCELLED = "Cancelled; the worker was stopped and no output was written."


class ScdAlgorithm(QgsProcessingAlgorithm):
    """An algorithm of the scd provider; subclasses name themselves, define their parameters and
    :meth:`_check_values`, and run their command with :meth:`_run_engine`."""

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def helpUrl(self) -> str:
        return help_url()

    def createInstance(self) -> ScdAlgorithm:
        return type(self)()

    def checkParameterValues(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[bool, str]:
        """The plugin's own checks first, in the dialog's words, then QGIS's generic ones ("Incorrect
        parameter value for …") for what is left, such as a missing image."""
        try:
            self._check_values(parameters, context)
        except OptionError as problem:
            return False, str(problem)
        return super().checkParameterValues(parameters, context)

    def _check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> Any:
        """Refuse what the run could not use (:class:`OptionError`, naming the value by its label);
        what the run needs of the values."""
        raise NotImplementedError

    def _label(self, name: str) -> str:
        return self.parameterDefinition(name).description()

    def _value(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> Any:
        """A parameter's value as given, its default when it is not given at all, an expression's (batch,
        model) evaluated. Unlike QGIS's ``parameterAs…``, an empty value stays empty: an analyst who
        clears a field with a default means "none"."""
        value = parameters.get(name, self.parameterDefinition(name).defaultValue())
        if isinstance(value, QgsProperty):
            value, _ = value.value(context.expressionContext(), None)
        return value

    def _raster(
        self, parameters: dict[str, Any], name: str, context: QgsProcessingContext, role: str
    ) -> QgsRasterLayer:
        """The image ``name``, the ``role`` image of the run, which must have a CRS."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(f"The {role} image '{parameters.get(name)}' cannot be opened as a raster.")
        require_crs(layer, role)
        return layer

    def _prepare(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple[Backend, Any]:
        """The backend and the checked values (:meth:`_check_values`, again: QgsProcessingAlgorithm.run()
        does not check); either's problem as the algorithm's error."""
        try:
            return find_backend(settings.backend_python(), os.environ), self._check_values(parameters, context)
        except (BackendNotFoundError, OptionError) as error:
            raise QgsProcessingException(str(error)) from None

    def _run_engine(
        self,
        runner: Runner,
        backend: Backend,
        arguments: list[str],
        feedback: QgsProcessingFeedback,
        work_dir: str,
        words: Mapping[str, str],
    ) -> Mapping[str, Any]:
        """Run ``scd <arguments>`` in the backend, in ``work_dir``, with ``runner``; its last event (or
        answer). The engine's ``words`` for options and inputs are said by their labels in the dialog."""
        command = backend.command(*arguments)
        feedback.pushInfo(f"Backend from {backend.found_in}: {backend.python}")
        feedback.pushCommandInfo(shlex.join(command))
        try:
            return runner(command, worker_environment(os.environ), feedback, work_dir, words)
        except WorkerCancelledError:
            raise QgsProcessingException(CANCELLED) from None
        except WorkerFailedError as failure:
            raise QgsProcessingException(str(failure)) from None
