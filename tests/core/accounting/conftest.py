"""A detection run the accounting tests share: the collared pair through the tiny untrained model at a
threshold that splits its flat probabilities, so the map holds change, no change and nodata."""

from __future__ import annotations

import pytest

from scd_core.cli import main


@pytest.fixture(scope="session")
def run(tmp_path_factory, collared, ckpt):
    out = tmp_path_factory.mktemp("accounting") / "run"
    args = [str(collared.before), str(collared.after), "--model", str(ckpt), "-o", str(out)]
    assert main(["detect", *args, "--threshold", "0.501", "--progress", "none"]) == 0
    return out
