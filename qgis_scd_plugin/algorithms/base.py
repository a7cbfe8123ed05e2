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
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProperty,
    QgsRasterLayer,
)
from qgis.PyQt.QtGui import QIcon

from .. import settings
from ..backend import Backend, BackendNotFoundError, find_backend, worker_environment
from ..inputs import plain_vector_file, require_crs, write_vector
from ..options import OptionError, check_option, parse_number
from ..outputs import destination_text
from ..paths import ICON, help_url
from ..shared import vocabulary
from ..worker import WorkerCancelledError, WorkerFailedError

#: How a worker is run: :func:`..worker.run_worker` (to its last event), :func:`..worker.run_json_command`
#: (to its answer) or :func:`..worker.run_command` (to its exit).
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

    def _number_arguments(
        self, parameters: dict[str, Any], context: QgsProcessingContext, options: Mapping[str, str]
    ) -> list[str]:
        """The engine's flags and values of the number parameters in ``options`` (each parameter with
        the option it sets), read and checked in the dialog's words; one left empty is the engine's."""
        arguments = []
        for name, option_name in options.items():
            option = vocabulary.OPTIONS[option_name]
            value = parse_number(self._value(parameters, name, context), self._label(name), option.type is int)
            check_option(value, option.name, self._label(name))
            arguments += [option.flag, str(value)] if value is not None else []
        return arguments

    def _check_extension(
        self, parameters: dict[str, Any], name: str, context: QgsProcessingContext, extension: str
    ) -> None:
        """Refuse a file destination whose name is not of the format the engine writes (``extension``)."""
        destination = destination_text(parameters.get(name), context)
        if destination not in ("", QgsProcessing.TEMPORARY_OUTPUT) and not destination.lower().endswith(extension):
            raise OptionError(f"{self._label(name)}: save it as a {extension} file; got {destination}.")

    def _file(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> str:
        """A file parameter's file, absolute against the caller's working folder; "" when not given."""
        value = str(self._value(parameters, name, context) or "")
        path = os.path.abspath(os.path.expanduser(value)) if value else ""
        if path and not os.path.isfile(path):
            raise OptionError(f"{self._label(name)}: the file '{value}' does not exist.")
        return path

    def _field(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> str:
        """A field parameter's field; "" when not given."""
        fields = self.parameterAsFields(parameters, name, context)
        return fields[0] if fields else ""

    def _vector_file(
        self, parameters: dict[str, Any], name: str, layer_name: str, context: QgsProcessingContext, work_dir: str
    ) -> str:
        """The file the engine reads the features of ``name`` from: the layer's own, so that the engine's
        messages name it, or, for features that are not a whole file as QGIS shows them (selected ones, a
        filtered layer, a memory layer, unsaved edits), their export as ``layer_name`` in ``work_dir``."""
        value = parameters[name]
        whole = not isinstance(value, QgsProcessingFeatureSourceDefinition) or (
            not value.selectedFeaturesOnly and value.featureLimit == -1
        )
        layer = self.parameterAsVectorLayer(parameters, name, context)
        path = plain_vector_file(layer) if whole and layer is not None and not layer.isModified() else None
        if path:
            return path
        return write_vector(
            self.parameterAsSource(parameters, name, context),
            os.path.join(work_dir, f"{layer_name}.gpkg"),
            layer_name,
            context,
        )

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
