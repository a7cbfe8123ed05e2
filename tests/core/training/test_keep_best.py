"""``keep: best``: model.pt holds the epoch of the best validation score so far (CdSC's release), and
``keep: last`` (the default) every epoch's last."""

from __future__ import annotations

import pytest

from scd_core.errors import InvalidOptionError
from scd_core.trainer import config as configs
from scd_core.trainer.run_folder import RunFolder


def epochs(folder: RunFolder, scores: list[float | None], keep: str) -> str:
    for epoch, sek in enumerate(scores, 1):
        record = {"epoch": epoch, "val": None if sek is None else {"per_date": {"SeK": sek}, "from_to": {}}}
        folder.end_epoch(record, lambda path, e=epoch: path.write_text(f"epoch {e}"), {"epoch": epoch}, keep)
    return folder.model.read_text()


def test_best_keeps_the_best_scoring_epoch_and_last_the_last(tmp_path):
    best = RunFolder(tmp_path / "best", echo=lambda _: None)
    best.open({"keep": "best"}, resume=False)
    assert epochs(best, [10.0, 20.0, 15.0], "best") == "epoch 2"
    assert "model.pt: epoch 2, the best validation score so far (20.00)" in best.lines
    last = RunFolder(tmp_path / "last", echo=lambda _: None)
    last.open({"keep": "last"}, resume=False)
    assert epochs(last, [10.0, 20.0, 15.0], "last") == "epoch 3"
    unscored = RunFolder(tmp_path / "unscored", echo=lambda _: None)
    unscored.open({"keep": "best"}, resume=False)
    assert epochs(unscored, [None, None], "best") == "epoch 1"  # no validation: the first epoch stands


def test_keep_is_checked_and_does_not_go_with_a_calibrated_threshold():
    with pytest.raises(InvalidOptionError, match="keep must be one of last, best"):
        configs.from_dict({"model": "cdsc", "keep": "first"})
    with pytest.raises(InvalidOptionError, match="calibrate_threshold chooses τ on the last epoch's weights"):
        configs.from_dict({"model": "cdsc", "keep": "best", "calibrate_threshold": True})
