"""Check a backend and install one: what the settings dialog runs, as plain commands.

The check runs a few lines in the backend's Python that report its versions, CUDA devices and ONNX
Runtime providers as one JSON line; QGIS's Python learns them without importing torch itself. The
install creates a virtual environment in the QGIS profile and pip-installs scd-core (which brings
PyTorch and ONNX Runtime) into it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .paths import backend_source

#: Runs in the backend's Python; prints one JSON object. Errors are reported, not raised.
PROBE = """
import json, sys
report = {"python": sys.version.split()[0], "executable": sys.executable}
try:
    import scd_core
    report["scd"] = getattr(scd_core, "__version__", "unknown")
except Exception as error:
    report["scd_error"] = f"{type(error).__name__}: {error}"
try:
    import torch
    report["torch"] = torch.__version__
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    report["cuda"] = [torch.cuda.get_device_name(i) for i in range(count)]
except Exception as error:
    report["torch_error"] = f"{type(error).__name__}: {error}"
try:
    import onnxruntime
    report["onnxruntime"] = onnxruntime.__version__
    report["providers"] = list(onnxruntime.get_available_providers())
except Exception as error:
    report["onnxruntime_error"] = f"{type(error).__name__}: {error}"
print(json.dumps(report))
"""


@dataclass(frozen=True)
class BackendReport:
    """What a backend's Python said about itself."""

    python: str
    executable: str
    scd: str | None = None
    torch: str | None = None
    cuda_devices: list[str] = field(default_factory=list)
    onnxruntime: str | None = None
    #: ONNX Runtime's execution providers, in its order of preference.
    providers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.scd is not None and self.torch is not None

    @property
    def runtime(self) -> str:
        """What ``--runtime auto`` runs the model in with ``--device auto`` (the engine's rule)."""
        if self.cuda_devices:
            return "PyTorch on CUDA (with mixed precision)"
        if self.onnxruntime:
            return "ONNX Runtime on the CPU for models that export to ONNX, else PyTorch"
        return "PyTorch on the CPU (ONNX Runtime is missing)"

    def summary(self) -> str:
        """A few lines for the analyst."""
        devices = ", ".join(f"cuda:{i} {name}" for i, name in enumerate(self.cuda_devices)) or "none (the CPU is used)"
        lines = [
            f"Python {self.python} ({self.executable})",
            f"scd-core: {self.scd or 'missing'}",
            f"PyTorch: {self.torch or 'missing'}",
            f"CUDA devices: {devices}",
            f"ONNX Runtime: {self.onnxruntime or 'missing'}"
            + (f" (providers: {', '.join(self.providers)})" if self.providers else ""),
            f"Runtime (auto): {self.runtime}",
        ]
        lines += [f"Problem: {problem}" for problem in self.problems]
        lines.append("The backend is ready." if self.usable else "The backend cannot run the model yet.")
        return "\n".join(lines)


def parse_report(stdout: str) -> BackendReport:
    """The report in the probe's output (its last JSON line; anything a library printed before is skipped)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        return BackendReport(
            python=raw.get("python", "?"),
            executable=raw.get("executable", "?"),
            scd=raw.get("scd"),
            torch=raw.get("torch"),
            cuda_devices=list(raw.get("cuda", [])),
            onnxruntime=raw.get("onnxruntime"),
            providers=list(raw.get("providers", [])),
            problems=[raw[key] for key in ("scd_error", "torch_error", "onnxruntime_error") if key in raw],
        )
    raise ValueError(f"the backend printed no report: {stdout.strip()[-500:] or '(nothing)'}")


def probe_command(python: str) -> list[str]:
    return [python, "-c", PROBE]


def default_venv(profile_dir: str) -> Path:
    """Where "Install backend" puts the virtual environment: inside the active QGIS profile."""
    return Path(profile_dir) / "scd-backend"


def venv_python(venv: Path) -> Path:
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def default_pip_spec() -> str:
    """What pip installs: the scd-core that came with the plugin (its wheel, or the source checkout),
    with PyTorch and the rest as its dependencies, from the user's package index."""
    return str(backend_source())


def install_commands(base_python: str, venv: Path, pip_spec: str) -> list[list[str]]:
    """Create ``venv`` with ``base_python`` (Python 3.10 or newer) and install ``pip_spec`` into it."""
    python = str(venv_python(venv))
    return [
        [base_python, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", pip_spec],
    ]


def base_python() -> str | None:
    """A plain Python to create the venv with: QGIS's own Python's interpreter (QGIS's ``sys.executable``
    is QGIS itself), else ``python3`` on PATH; None when there is none."""
    prefix = Path(sys.base_exec_prefix)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (prefix / "python.exe", prefix / "bin" / f"python{version}", prefix / "bin" / "python3"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("python3")
