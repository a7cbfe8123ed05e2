"""The settings dialog's "Check backend": the backend reports its PyTorch and CUDA devices."""
from __future__ import annotations

import time

from qgis.PyQt.QtCore import QProcess
from qgis.PyQt.QtWidgets import QApplication


def wait_until_idle(dialog, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while (dialog.process.state() != QProcess.NotRunning or not dialog.check_button.isEnabled()) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    QApplication.processEvents()


def test_check_backend_shows_torch_version_and_cuda_devices(plugin, scd_python):
    from qgis_scd_plugin import settings
    from qgis_scd_plugin.backend_dialog import BackendDialog

    torch_version = __import__("subprocess").run(
        [scd_python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dialog = BackendDialog()
    try:
        dialog.python.setFilePath(scd_python)
        assert settings.backend_python() == scd_python, "the chosen backend is saved in the profile"
        dialog.check()
        wait_until_idle(dialog)
        report = dialog.log.toPlainText()
        assert f"PyTorch: {torch_version}" in report
        assert "CUDA devices: " in report
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
