"""SECOND's folder layout (:func:`scd_core.synth.write_second`): the files SECOND ships, holding the
scenes :func:`~scd_core.synth.make_scene` makes with the pairs' seeds."""

from __future__ import annotations

import numpy as np
from PIL import Image

from scd_core.labels import read_label
from scd_core.synth import make_scene, pair_seed, write_second


def test_write_second_writes_secondes_layout_with_rgb_labels(tmp_path):
    written = write_second(tmp_path, n_pairs=3, size=(96, 128), seed=5)
    assert [p.name for p in written] == ["00000.png", "00001.png", "00002.png"]
    for folder in ("im1", "im2", "label1", "label2"):
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == [p.name for p in written]
    for index, path in enumerate(written):
        scene = make_scene((96, 128), pair_seed(5, index))
        with Image.open(tmp_path / "label1" / path.name) as label:
            assert label.mode == "RGB"
        assert np.array_equal(read_label(tmp_path / "label1" / path.name), scene.label1)
        assert np.array_equal(read_label(tmp_path / "label2" / path.name), scene.label2)
        assert np.array_equal(np.asarray(Image.open(tmp_path / "im2" / path.name)), scene.image2)
    assert pair_seed(5, 0) != pair_seed(5, 1) != pair_seed(6, 0)
