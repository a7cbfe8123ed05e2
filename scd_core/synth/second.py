"""SECOND's folder layout: scenes written as the dataset ships, for the metrics and training."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from scd_core.labels import index_to_rgb
from scd_core.synth.files import check_targets
from scd_core.synth.randomness import pair_seed
from scd_core.synth.scene import Size, make_scene


def write_second(root: str | Path, n_pairs: int, size: Size = 512, seed: int = 0, overwrite: bool = True) -> list[Path]:
    """Write ``n_pairs`` scenes in SECOND's layout: ``root/{im1,im2,label1,label2}/00000.png`` ...

    Labels are RGB PNGs in SECOND's colours (white is "no change"), as the dataset ships them. Pair
    ``i`` is :func:`~scd_core.synth.make_scene` with seed :func:`~scd_core.synth.pair_seed` ``(seed, i)``.
    PNGs are written with light compression: writing, not generating, would otherwise dominate. With
    ``overwrite`` False, a file of the pairs already there is refused with
    :class:`~scd_core.errors.OutputExistsError` before anything is written.

    Returns:
        The ``im1`` path of each pair; the other three folders hold files of the same name.
    """
    root = Path(root)
    folders = {name: root / name for name in ("im1", "im2", "label1", "label2")}
    digits = max(5, len(str(n_pairs - 1)))
    names = [f"{index:0{digits}d}.png" for index in range(n_pairs)]
    check_targets(root, (folder / name for name in names for folder in folders.values()), overwrite)
    for path in folders.values():
        path.mkdir(parents=True, exist_ok=True)
    written = []
    for index, name in enumerate(names):
        scene = make_scene(size, pair_seed(seed, index))
        arrays = {
            "im1": scene.image1,
            "im2": scene.image2,
            "label1": index_to_rgb(scene.label1),
            "label2": index_to_rgb(scene.label2),
        }
        for folder, array in arrays.items():
            Image.fromarray(array, mode="RGB").save(folders[folder] / name, compress_level=1)
        written.append(folders["im1"] / name)
    return written
