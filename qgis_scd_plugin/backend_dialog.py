"""The plugin's settings dialog: which backend to use, "Check backend" and "Install backend".

Commands run through QProcess, so QGIS stays responsive while PyTorch loads or pip downloads, and their
output streams into the dialog.
"""

from __future__ import annotations

import os
from typing import Callable

from qgis.core import QgsApplication, QgsProcessingUtils
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QProcess, QProcessEnvironment
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import settings
from .backend import BackendNotFoundError, find_backend, worker_environment
from .backend_setup import (
    base_python,
    default_pip_spec,
    default_venv,
    install_commands,
    parse_report,
    probe_command,
    venv_python,
)


class BackendDialog(QDialog):
    """Choose, check and install the backend that runs the model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Semantic change detection: settings")
        self.setMinimumWidth(640)
        self.python = QgsFileWidget()
        self.python.setFilePath(settings.backend_python())
        self.python.fileChanged.connect(settings.set_backend_python)
        self.base_python = QgsFileWidget()
        self.base_python.setFilePath(base_python() or "")
        self.pip_spec = QLineEdit(default_pip_spec())
        self.venv = default_venv(QgsApplication.qgisSettingsDirPath())
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.check_button = QPushButton("Check backend")
        self.check_button.clicked.connect(self.check)
        self.install_button = QPushButton("Install backend")
        self.install_button.clicked.connect(self.install)
        self.process = QProcess(self)
        self.process.setProcessEnvironment(_environment())
        # Not QGIS's working folder: Python imports from the working folder first, and a checkout of scd
        # there would shadow the backend's own scd_core.
        self.process.setWorkingDirectory(QgsProcessingUtils.tempFolder())
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self._stdout = ""
        self._queue: list[list[str]] = []
        self._on_success: Callable[[], None] | None = None
        self._echo_stdout = True
        self._layout()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Backend Python", self.python)
        form.addRow(
            QLabel(
                "Empty: the SCD_PYTHON environment variable, else the scd command on PATH. "
                "The backend is a Python environment with PyTorch and scd-core; "
                "QGIS's own Python is never used for the model."
            )
        )
        form.addRow("Python to create the venv with (3.10+)", self.base_python)
        form.addRow("pip installs", self.pip_spec)
        form.addRow(QLabel(f"Install backend creates a virtual environment in {self.venv} and selects it."))
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.install_button)
        buttons.addStretch()
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.log)
        layout.addWidget(close)

    def check(self) -> None:
        """Ask the backend the algorithm would use for its Python, scd-core, PyTorch and CUDA devices."""
        try:
            backend = find_backend(settings.backend_python(), os.environ)
        except BackendNotFoundError as error:
            self.log.setPlainText(str(error))
            return
        self.log.setPlainText(f"Checking the backend from {backend.found_in}: {backend.python}\n")
        self._run([probe_command(backend.python)], self._show_report, echo_stdout=False)

    def install(self) -> None:
        """Create the venv in the profile, pip-install scd-core into it, select it and check it."""
        python = self.base_python.filePath()
        if not python:
            self.log.setPlainText(
                "No Python found to create the virtual environment with; choose a Python 3.10 or newer."
            )
            return
        self.log.setPlainText(
            f"Installing the backend into {self.venv}; this downloads PyTorch and can take minutes.\n"
        )
        self._run(install_commands(python, self.venv, self.pip_spec.text()), self._select_installed, echo_stdout=True)

    def _select_installed(self) -> None:
        self.python.setFilePath(str(venv_python(self.venv)))
        self.check()

    def _show_report(self) -> None:
        try:
            self.log.appendPlainText(parse_report(self._stdout).summary())
        except ValueError as error:
            self.log.appendPlainText(f"The check failed: {error}")

    def _run(self, commands: list[list[str]], on_success: Callable[[], None], echo_stdout: bool) -> None:
        """Run ``commands`` one after the other; ``on_success`` once all succeeded."""
        self._queue = list(commands)
        self._on_success = on_success
        self._echo_stdout = echo_stdout
        self._set_busy(True)
        self._start_next()

    def _start_next(self) -> None:
        program, *arguments = self._queue.pop(0)
        self._stdout = ""
        shown = [program, *("<check script>" if "\n" in argument else argument for argument in arguments)]
        self.log.appendPlainText("$ " + " ".join(shown))
        self.process.start(program, arguments)

    def _read_stdout(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._stdout += text
        if self._echo_stdout:
            self.log.appendPlainText(text.rstrip())

    def _read_stderr(self) -> None:
        self.log.appendPlainText(bytes(self.process.readAllStandardError()).decode("utf-8", "replace").rstrip())

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if exit_status != QProcess.NormalExit or exit_code != 0:
            self.log.appendPlainText(f"Stopped: the command failed (exit code {exit_code}).")
            self._set_busy(False)
        elif self._queue:
            self._start_next()
        else:
            self._set_busy(False)
            if self._on_success is not None:
                self._on_success()

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.FailedToStart:
            self.log.appendPlainText(f"Stopped: {self.process.program()} could not be started.")
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        self.check_button.setEnabled(not busy)
        self.install_button.setEnabled(not busy)


def _environment() -> QProcessEnvironment:
    environment = QProcessEnvironment()
    for name, value in worker_environment(os.environ).items():
        environment.insert(name, value)
    return environment
