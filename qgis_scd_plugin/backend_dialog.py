"""The plugin's settings dialog: which backend to use, "Check backend" and "Install backend".

Commands run through QProcess, so QGIS stays responsive while PyTorch loads or pip downloads, and their
output streams into the dialog. An install can be cancelled; a cancelled or failed install removes the
virtual environment it was making (never one that was there before) and says why in one line.
"""

from __future__ import annotations

import os
import shutil
from typing import Callable

from qgis.core import QgsApplication, QgsProcessingUtils
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QProcess, QProcessEnvironment
from qgis.PyQt.QtWidgets import (
    QCheckBox,
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
        self.every_change_type = QCheckBox("Legends list every change type, not only those in the output")
        self.every_change_type.setChecked(settings.legend_of_every_change_type())
        self.every_change_type.toggled.connect(settings.set_legend_of_every_change_type)
        self.venv = default_venv(QgsApplication.qgisSettingsDirPath())
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.check_button = QPushButton("Check backend")
        self.check_button.clicked.connect(self.check)
        self.install_button = QPushButton("Install backend")
        self.install_button.clicked.connect(self.install)
        self.cancel_button = QPushButton("Cancel install")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
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
        self._stderr = ""
        self._queue: list[tuple[str, list[str]]] = []
        self._step = ""
        self._on_success: Callable[[], None] | None = None
        self._echo_stdout = True
        #: Whether an install is under way, was cancelled, and found its venv folder already there.
        self._installing = False
        self._cancelled = False
        self._venv_was_there = False
        self._layout()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Backend Python", self.python)
        form.addRow(
            _wrapped(
                "Empty: the SCD_PYTHON environment variable, else the scd command on PATH. "
                "The backend is a Python environment with PyTorch and scd-core; "
                "QGIS's own Python is never used for the model."
            )
        )
        form.addRow("Python to create the venv with (3.10+)", self.base_python)
        form.addRow("pip installs", self.pip_spec)
        form.addRow(_wrapped(f"Install backend creates a virtual environment in {self.venv} and selects it."))
        form.addRow(self.every_change_type)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.install_button)
        buttons.addWidget(self.cancel_button)
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
        self._run([("checking the backend", probe_command(backend.python))], self._show_report, echo_stdout=False)

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
        self._installing, self._cancelled, self._venv_was_there = True, False, self.venv.exists()
        commands = install_commands(python, self.venv, self.pip_spec.text())
        steps = ["creating the virtual environment", "installing scd-core with pip"]
        self._run(list(zip(steps, commands)), self._select_installed, echo_stdout=True)

    def cancel(self) -> None:
        """Stop the install under way; the unfinished virtual environment is then removed."""
        if self._installing and self.process.state() != QProcess.NotRunning:
            self._cancelled = True
            self.process.kill()

    def _select_installed(self) -> None:
        self._installing = False
        self.python.setFilePath(str(venv_python(self.venv)))
        self.check()

    def _stopped(self, why: str) -> None:
        """A command failed, could not start or was cancelled: nothing more runs. An install removes the
        virtual environment it was making (never one that was there before) and says why in one line."""
        self._queue = []
        self._set_busy(False)
        if not self._installing:
            self.log.appendPlainText(f"Stopped: {why}.")
            return
        self._installing = False
        said = "Install cancelled." if self._cancelled else f"Install failed while {self._step}: {why}."
        if not self._venv_was_there and self.venv.exists():
            shutil.rmtree(self.venv, ignore_errors=True)
            said += f" The unfinished virtual environment {self.venv} was removed."
        self.log.appendPlainText(said)

    def _show_report(self) -> None:
        try:
            self.log.appendPlainText(parse_report(self._stdout).summary())
        except ValueError as error:
            self.log.appendPlainText(f"The check failed: {error}")

    def _run(self, commands: list[tuple[str, list[str]]], on_success: Callable[[], None], echo_stdout: bool) -> None:
        """Run ``commands`` (what each does, its command line) one after the other; ``on_success`` once all
        succeeded."""
        self._queue = list(commands)
        self._on_success = on_success
        self._echo_stdout = echo_stdout
        self._set_busy(True)
        self._start_next()

    def _start_next(self) -> None:
        self._step, (program, *arguments) = self._queue.pop(0)
        self._stdout = ""
        self._stderr = ""
        shown = [program, *("<check script>" if "\n" in argument else argument for argument in arguments)]
        self.log.appendPlainText("$ " + " ".join(shown))
        self.process.start(program, arguments)

    def _read_stdout(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._stdout += text
        if self._echo_stdout:
            self.log.appendPlainText(text.rstrip())

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr += text
        self.log.appendPlainText(text.rstrip())

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if exit_status != QProcess.NormalExit or exit_code != 0:
            self._stopped(_reason(self._stderr, exit_code))
        elif self._queue:
            self._start_next()
        else:
            self._set_busy(False)
            if self._on_success is not None:
                self._on_success()

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.FailedToStart:
            self._stopped(f"{self.process.program()} could not be started")

    def _set_busy(self, busy: bool) -> None:
        self.check_button.setEnabled(not busy)
        self.install_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and self._installing)


def _wrapped(text: str) -> QLabel:
    """A label that wraps, so that a long path in it never widens the dialog or is cut off."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _reason(stderr: str, exit_code: int) -> str:
    """Why a command failed, in one line: pip's last ``ERROR:`` line, else its last line of text."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line[len("ERROR:") :].strip() for line in lines if line.startswith("ERROR:")]
    said = errors[-1] if errors else lines[-1] if lines else ""
    return f"{said.rstrip('.')} (exit code {exit_code})" if said else f"exit code {exit_code}"


def _environment() -> QProcessEnvironment:
    environment = QProcessEnvironment()
    for name, value in worker_environment(os.environ).items():
        environment.insert(name, value)
    return environment
