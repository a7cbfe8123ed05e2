"""Find the backend, the separate Python environment that has torch and the scd engine, and prepare
the environment it runs in.

QGIS's own Python never imports torch: loading torch's native libraries next to QGIS's GDAL and PROJ
is what crashes QGIS in other deep-learning plugins. So the engine always runs as a child process,
started as ``<backend python> -m scd_core``, with QGIS's Python, GDAL and PROJ settings removed from
its environment (they point at QGIS's copies, not at the ones the backend's packages were built with).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Variables of QGIS's Python that would make the backend's Python import QGIS's packages.
_PYTHON_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
#: Prefixes of the GDAL (GDAL_*, and CPL_* configuration options) and PROJ variables QGIS sets for its own libraries.
_GEO_PREFIXES = ("GDAL_", "PROJ_", "CPL_")

SETUP_HELP = (
    "The scd plugin runs its model in a separate Python environment (the backend) that has PyTorch "
    "and the scd engine (the scd-core package); QGIS's own Python is never used for it. Set one up in "
    "one of these ways:\n"
    '  1. In QGIS: Raster ▸ Semantic change detection ▸ Settings…, press "Install backend" (it creates '
    "a virtual environment in your QGIS profile and installs scd-core and PyTorch into it with pip), or "
    'pick the Python of an environment you already have, then press "Check backend".\n'
    "  2. Set the SCD_PYTHON environment variable to that Python before starting QGIS.\n"
    "  3. Put the `scd` command of an installed scd-core on PATH."
)


class BackendNotFoundError(Exception):
    """No backend could be found; the message says where the plugin looked and how to set one up."""


@dataclass(frozen=True)
class Backend:
    """The backend's Python interpreter and where the plugin learnt of it (shown in the log)."""

    python: str
    found_in: str

    def command(self, *arguments: str) -> list[str]:
        """The command line running ``scd <arguments>`` in the backend."""
        return [self.python, "-m", "scd_core", *arguments]


def find_backend(configured_python: str, environ: Mapping[str, str]) -> Backend:
    """The backend, from the first of: the plugin setting, ``SCD_PYTHON``, an ``scd`` command on PATH.

    A setting or variable that names a missing file is an error, not a reason to look further: the
    analyst chose that backend and should hear that it is gone.
    """
    for python, found_in in ((configured_python, "the plugin settings"), (environ.get("SCD_PYTHON", ""), "SCD_PYTHON")):
        if python:
            if not Path(python).is_file():
                raise BackendNotFoundError(
                    f"The backend Python set in {found_in}, {python}, does not exist.\n\n{SETUP_HELP}"
                )
            return Backend(python, found_in)
    executable = shutil.which("scd", path=environ.get("PATH"))
    if executable:
        return Backend(python_of_executable(Path(executable)), f"the scd command on PATH ({executable})")
    raise BackendNotFoundError(
        f"No scd backend found: the plugin settings name none, SCD_PYTHON is not set and there is no scd "
        f"command on PATH.\n\n{SETUP_HELP}"
    )


def python_of_executable(executable: Path) -> str:
    """The Python that runs an installed ``scd`` command: the one beside it in its environment's
    ``bin``/``Scripts`` folder, else the one its ``#!`` line names."""
    folder = executable.resolve().parent
    for name in ("python.exe", "python3", "python"):
        if (folder / name).is_file():
            return str(folder / name)
    with open(executable, "rb") as script:
        first_line = script.readline().decode("utf-8", "replace").strip()
    if first_line.startswith("#!"):
        return first_line[2:].strip().split()[0]
    raise BackendNotFoundError(f"Cannot tell which Python runs {executable}.\n\n{SETUP_HELP}")


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without QGIS's Python, GDAL and PROJ variables, with unbuffered UTF-8 output."""
    cleaned = {
        name: value
        for name, value in environ.items()
        if name not in _PYTHON_VARIABLES and not name.startswith(_GEO_PREFIXES)
    }
    cleaned["PYTHONUNBUFFERED"] = "1"
    cleaned["PYTHONIOENCODING"] = "utf-8"
    return cleaned
