"""The generator's output, pinned by digests: any change to what :mod:`scd_core.synth` draws or renders
fails here, so that a refactoring is seen to change nothing and a deliberate change is seen at all.

The digests were taken from the pre-package ``scd_core/synth.py`` at commit f666d17 (numpy 2.4.6,
Pillow 13.0.0, rasterio 1.4.4 with GDAL 3.10.3). They cover decoded pixels and georeferencing, not file
bytes, so that a new zlib or libtiff does not fail them; a resampled AFTER and a grid computed in
another CRS still depend on GDAL's warper and PROJ, and may move with their versions. When a change of
the generator is meant, take the new digests from the failures and say so in the commit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.enums import ColorInterp
from synth_testing import ARRAYS

from scd_core.synth import Scene, make_scene, write_geo_pair, write_second

SCENES = {
    (256, 0): "2fc988c40a60073d47ebf52532667a987c4daa3aefb2557ced1812054888db37",
    ((96, 160), 1): "d6bf3f25381011a5dd286b41d19ca98e303ecb8439e6d9357b32f9bee3c70c33",
    # Two rows of tiles: tree clumps are shaded once for all the tiles they span.
    ((300, 520), 7): "38bb453b900e40b348a745649a56bad02c47903fe70f5a95da0d09b7a506c976",
    ((37, 5), 0): "5e4624375beca6c433c0c2092d067093fdd495dc4605b8e85d1fb2ff6cde30cf",
}
#: write_second(root, 3, size=128, seed=5)
SECOND = "8d87a128a34105adf95ab312fa99c5b38f6d4e3b7c2bbc6cf955de42cd10be25"
GEO_PAIRS = {
    "uint8 RGB": (
        {"size": 256, "seed": 3},
        "fd765a436cdbc3c2cf6be15072f898a2ea84c78d1007e6721533aba5db9cd07e",
    ),
    "uint16 4 bands, collar": (
        {"size": 256, "seed": 3, "dtype": "uint16", "bands": 4, "nodata_collar": 20},
        "08fb5fbc26b8e7da21e1a87d77ffb7d64eef9bed4d4ba8f24484d441d29cd2ff",
    ),
    "AFTER in EPSG:4326": (
        {"size": 256, "seed": 3, "after_crs": "EPSG:4326", "after_resolution": 7e-6},
        "5bd739c4f8ffd18a6fedeb6c031c295400f1d5e516d819859078d255ed4d021b",
    ),
    "AFTER shifted": (
        {"size": 128, "seed": 3, "after_shift": (0.25, -0.3)},
        "96c4e46178fb87f06ebaf3ceffdc1f27f18eace02f07fe9a5503e6d72013d19b",
    ),
    "float32 panchromatic, geographic": (
        {"size": (64, 96), "seed": 0, "crs": "EPSG:4326", "dtype": "float32", "bands": 1, "after_crs": "EPSG:32633"},
        "b39691e4c334ef10ba040af1d9894e8006cc03fdfa2040e0085b9a24ec7435a1",
    ),
}


def array_bytes(array: np.ndarray) -> bytes:
    return f"{array.dtype.str} {array.shape}".encode() + np.ascontiguousarray(array).tobytes()


def scene_digest(scene: Scene) -> str:
    digest = hashlib.sha256()
    for name in ARRAYS:
        digest.update(array_bytes(getattr(scene, name)))
    digest.update(" ".join(value.hex() for value in scene.misregistration).encode())
    return digest.hexdigest()


def png_folder_digest(root: Path) -> str:
    """Every PNG under ``root`` by relative path: its mode and pixels."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.png")):
        digest.update(path.relative_to(root).as_posix().encode())
        with Image.open(path) as image:
            digest.update(image.mode.encode() + array_bytes(np.asarray(image)))
    return digest.hexdigest()


def geotiff_bytes(path: Path) -> bytes:
    """Pixels and what a reader of the file relies on: grid, nodata, band names, colours, layout."""
    with rasterio.open(path) as dataset:
        palette = dataset.colorinterp[0] == ColorInterp.palette
        facts = (
            dataset.crs.to_string(),
            [float(value).hex() for value in dataset.transform[:6]],
            dataset.nodata,
            dataset.descriptions,
            [colour.name for colour in dataset.colorinterp],
            sorted(dataset.colormap(1).items()) if palette else None,
            dataset.block_shapes,
            dataset.compression,
        )
        return array_bytes(dataset.read()) + repr(facts).encode()


def geo_pair_digest(out_dir: Path, **arguments) -> str:
    pair = write_geo_pair(out_dir, **arguments)
    digest = hashlib.sha256()
    for path in (pair.before, pair.after, pair.label1, pair.label2, pair.change_type):
        digest.update(path.name.encode() + geotiff_bytes(path))
    digest.update(scene_digest(pair.scene).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("case", list(SCENES), ids=[f"{size}-seed{seed}" for size, seed in SCENES])
def test_make_scene_gives_the_pinned_arrays(case):
    assert scene_digest(make_scene(*case)) == SCENES[case]


def test_write_second_writes_the_pinned_images_and_labels(tmp_path):
    write_second(tmp_path, 3, size=128, seed=5)
    assert png_folder_digest(tmp_path) == SECOND


@pytest.mark.parametrize("name", list(GEO_PAIRS))
def test_write_geo_pair_writes_the_pinned_rasters(tmp_path, name):
    arguments, expected = GEO_PAIRS[name]
    assert geo_pair_digest(tmp_path, **arguments) == expected
