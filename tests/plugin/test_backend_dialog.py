"""The settings dialog: "Check backend" shows PyTorch and the CUDA devices, "Install backend" makes one."""

from __future__ import annotations

import subprocess
import time
import zipfile
from pathlib import Path

from qgis.PyQt.QtCore import QProcess
from qgis.PyQt.QtWidgets import QApplication


def wait_until_idle(dialog, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while (
        dialog.process.state() != QProcess.NotRunning or not dialog.check_button.isEnabled()
    ) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    QApplication.processEvents()


def test_check_backend_shows_torch_version_and_cuda_devices(plugin, scd_python):
    from qgis_scd_plugin import settings
    from qgis_scd_plugin.backend_dialog import BackendDialog

    versions = "import torch, onnxruntime as o; print(torch.__version__, o.__version__, o.get_available_providers()[0])"
    torch_version, ort_version, providers = subprocess.run(
        [scd_python, "-c", versions], capture_output=True, text=True, check=True
    ).stdout.split()
    dialog = BackendDialog()
    try:
        dialog.python.setFilePath(scd_python)
        assert settings.backend_python() == scd_python, "the chosen backend is saved in the profile"
        dialog.check()
        wait_until_idle(dialog)
        report = dialog.log.toPlainText()
        assert f"PyTorch: {torch_version}" in report
        assert "CUDA devices: " in report
        assert f"ONNX Runtime: {ort_version} (providers: {providers}" in report
        assert "Runtime (auto): ONNX Runtime on the CPU" in report or "Runtime (auto): PyTorch on CUDA" in report
        assert "scd-core: " in report and "scd-core: missing" not in report
        assert "The backend is ready." in report
    finally:
        dialog.python.setFilePath("")
        dialog.close()
    assert settings.backend_python() == ""


def test_check_backend_without_one_explains_the_set_up(plugin, monkeypatch):
    from qgis_scd_plugin.backend_dialog import BackendDialog

    monkeypatch.delenv("SCD_PYTHON", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    dialog = BackendDialog()
    dialog.check()
    assert "No scd backend found" in dialog.log.toPlainText()
    dialog.close()


def write_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, so that pip installs offline (a stand-in for scd-core and PyTorch,
    which would be downloaded)."""
    package, info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{package}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    wheel = folder / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"]))
    return wheel


def test_install_backend_creates_a_venv_installs_with_pip_and_selects_it(plugin, tmp_path):
    from qgis_scd_plugin import settings
    from qgis_scd_plugin.backend_dialog import BackendDialog
    from qgis_scd_plugin.backend_setup import venv_python

    dialog = BackendDialog()
    try:
        assert dialog.base_python.filePath(), "QGIS's own Python interpreter is found to create the venv with"
        dialog.venv = tmp_path / "profile" / "scd-backend"
        dialog.pip_spec.setText(str(write_wheel(tmp_path, "scd-core", "0.0.1")))
        dialog.install()
        wait_until_idle(dialog, seconds=300)
        log = dialog.log.toPlainText()
        assert venv_python(dialog.venv).is_file(), log
        assert settings.backend_python() == str(venv_python(dialog.venv)), "the new backend is selected"
        assert "scd-core: 0.0.1" in log and "PyTorch: missing" in log, log
        assert "The backend cannot run the model yet." in log
    finally:
        dialog.python.setFilePath("")
        dialog.close()


def test_the_explanations_wrap_instead_of_being_cut_off(plugin):
    from qgis.PyQt.QtWidgets import QLabel

    from qgis_scd_plugin.backend_dialog import BackendDialog

    dialog = BackendDialog()
    try:
        dialog.resize(dialog.minimumWidth(), dialog.sizeHint().height())
        dialog.show()
        QApplication.processEvents()
        explanations = [label for label in dialog.findChildren(QLabel) if len(label.text()) > 60]
        assert len(explanations) == 2
        for label in explanations:
            assert label.wordWrap()
            assert label.width() <= dialog.width() and label.height() >= label.heightForWidth(label.width())
    finally:
        dialog.close()


def install_lines(dialog) -> list[str]:
    """The lines the install ended with: its one-line outcome."""
    return [line for line in dialog.log.toPlainText().splitlines() if line.startswith("Install ")]


def test_a_failed_install_removes_its_venv_and_says_why_in_one_line(plugin, tmp_path):
    from qgis_scd_plugin import settings
    from qgis_scd_plugin.backend_dialog import BackendDialog

    dialog = BackendDialog()
    try:
        dialog.venv = tmp_path / "profile" / "scd-backend"
        dialog.pip_spec.setText(str(tmp_path / "scd_core-9.9.9-py3-none-any.whl"))  # not there
        dialog.install()
        wait_until_idle(dialog, seconds=300)
        outcome = install_lines(dialog)[-1]
        assert outcome.startswith("Install failed while installing scd-core with pip: ")
        assert "scd_core-9.9.9-py3-none-any.whl" in outcome and "(exit code 1)" in outcome
        assert outcome.endswith(f"The unfinished virtual environment {dialog.venv} was removed.")
        assert not dialog.venv.exists()
        assert settings.backend_python() == "", "no backend is selected"
        assert dialog.install_button.isEnabled() and not dialog.cancel_button.isEnabled()
    finally:
        dialog.close()


def test_an_install_can_be_cancelled_and_leaves_nothing(plugin, tmp_path):
    from qgis_scd_plugin.backend_dialog import BackendDialog

    dialog = BackendDialog()
    try:
        dialog.venv = tmp_path / "profile" / "scd-backend"
        dialog.pip_spec.setText(str(write_wheel(tmp_path, "scd-core", "0.0.1")))
        assert not dialog.cancel_button.isEnabled()
        dialog.install()
        assert dialog.cancel_button.isEnabled() and not dialog.install_button.isEnabled()
        deadline = time.monotonic() + 60
        while not dialog.venv.exists() and time.monotonic() < deadline:  # venv is making the folder
            QApplication.processEvents()
            time.sleep(0.01)
        assert dialog.process.state() != QProcess.NotRunning, "cancelled while the install runs"
        dialog.cancel_button.click()
        wait_until_idle(dialog)
        assert install_lines(dialog)[-1] == (
            f"Install cancelled. The unfinished virtual environment {dialog.venv} was removed."
        )
        assert not dialog.venv.exists()
    finally:
        dialog.close()


def test_a_failed_install_keeps_a_folder_that_was_there_before(plugin, tmp_path):
    from qgis_scd_plugin.backend_dialog import BackendDialog

    dialog = BackendDialog()
    try:
        dialog.venv = tmp_path / "mine"
        dialog.venv.mkdir()
        (dialog.venv / "notes.txt").write_text("the analyst's own")
        dialog.base_python.setFilePath(str(tmp_path / "no-python"))
        dialog.install()
        wait_until_idle(dialog)
        assert install_lines(dialog)[-1].startswith("Install failed while creating the virtual environment: ")
        assert (dialog.venv / "notes.txt").read_text() == "the analyst's own"
    finally:
        dialog.close()
