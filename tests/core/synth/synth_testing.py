"""Helpers shared by the tests of :mod:`scd_core.synth`."""

from __future__ import annotations

import numpy as np

#: SECOND's class indices, as the tests spell them out (the package takes them from scd_core.labels).
WATER, GROUND, LOW_VEGETATION, TREE, BUILDING, PLAYGROUND = range(1, 7)
#: The arrays of a Scene.
ARRAYS = ("image1", "image2", "label1", "label2", "cover1", "cover2")


def assert_same_scene(a, b):
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
