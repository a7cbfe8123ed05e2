"""Shared by the core tests (engine venv) and the plugin tests (QGIS's Python): imports neither torch nor QGIS.

With ``CI=true`` a skipped test is a failure: CI must run everything, QGIS included. Only tests
marked ``gpu`` and the checks on the optional reference data in ``../shared`` (the ``shared_data``
fixture: users and some CI machines do not have it) may skip there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (``SCD_SHARED_DATA`` overrides); skips when absent."""
    path = Path(os.environ.get("SCD_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path}")
    return path


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ONNX exports that ``--runtime auto`` caches go to a folder of the test session, not the
    user's ~/.cache (the commands and QGIS's workers the tests start inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("scd-cache")
        patch.setenv("SCD_CACHE_DIR", str(folder))
        yield folder


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    optional = item.get_closest_marker("gpu") is not None or "shared_data" in getattr(item, "fixturenames", ())
    if report.skipped and in_ci() and not optional:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"
