"""From labels coded by from-to type to per-date labels: Landsat-SCD's release, JL1-style label sets.

    python -m training.convert FROM_TO_DIR OUT --codes landsat_scd|TABLE.yaml [--layout second|landsat_scd]
                               [--images IMAGES1 IMAGES2] [--overwrite]

Some datasets code each pixel by its change type (Landsat-SCD's ``label/``: 0 no change, 1 farmland →
desert, ...; CdSC converted JL1 the same way, §IV-A). SECOND's layout, which training reads, gives each
date its own class map instead. A code table (``training/codes/<name>.yaml``, or any YAML file of the
same form) names the label set and, for every code, its first-date and second-date classes.

Every PNG of ``FROM_TO_DIR`` (one band of codes) becomes two label PNGs, palette images in the label
set's colours (:func:`scd_core.labels.write_label`, which keeps ignored pixels as 255):
``OUT/label1/``, ``OUT/label2/`` (``--layout second``) or ``OUT/labelA/``, ``OUT/labelB/`` (``--layout
landsat_scd``, the default for that table). With ``--images`` (the two dates' image folders) and a table
that says ``ignore_white``, pixels white in both images are marked ignored (255). Every file is checked
before anything is written: a code the table does not know, a missing image or a size mismatch is an
error naming the file, and the output is left untouched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from scd_core.errors import LabelMismatchError, OutputExistsError, ScdInputError, UnknownColourError
from scd_core.labels import IGNORE, LabelSet, label_set, write_label
from training.datasets import LAYOUTS

CODES_DIR = Path(__file__).parent / "codes"


@dataclass(frozen=True)
class CodeTable:
    """What each from-to code means: per-date class indices of ``labels``, and the white-area rule."""

    labels: LabelSet
    before: np.ndarray  # 256 entries: class of date 1 per code, 255 for codes not in the table
    after: np.ndarray
    ignore_white: bool


def read_code_table(name_or_path: str) -> CodeTable:
    """A built-in table (``landsat_scd``) or a YAML file of the same form."""
    path = Path(name_or_path) if name_or_path.endswith((".yaml", ".yml")) else CODES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CODES_DIR.glob("*.yaml")))
        raise ScdInputError(f"no such code table (built-in: {known}, or a YAML file)", path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    labels = label_set(data["labels"])
    names = labels.class_names()
    before, after = np.full(256, IGNORE, np.uint8), np.full(256, IGNORE, np.uint8)
    for code, (first, second) in data["codes"].items():
        if first not in names or second not in names:
            raise ScdInputError(f"code {code}: {first!r} → {second!r}; {labels.name} classes are {names}", path)
        if (first == names[0]) != (second == names[0]):
            raise ScdInputError(f"code {code}: 'no change' on one date only has no per-date form", path)
        before[int(code)], after[int(code)] = names.index(first), names.index(second)
    return CodeTable(labels, before, after, bool(data.get("ignore_white", False)))


def _read_codes(path: Path, table: CodeTable) -> np.ndarray:
    try:
        with Image.open(path) as image:
            if image.mode not in ("L", "P", "I", "I;16"):
                raise ScdInputError(f"a from-to label is one band of codes, not mode {image.mode!r}", path)
            codes = np.asarray(image).astype(np.int64)
    except OSError as error:
        raise ScdInputError(f"not a readable image ({error})", path) from None
    unknown = (codes < 0) | (codes > 255)
    unknown |= table.before[np.clip(codes, 0, 255)] == IGNORE
    if unknown.any():
        values, counts = np.unique(codes[unknown], return_counts=True)
        listed = ", ".join(f"{v} × {n} px" for v, n in zip(values[:10], counts[:10], strict=True))
        raise UnknownColourError(f"codes the table does not know: {listed}", path)
    return codes


def _white(folder: Path, name: str, shape: tuple[int, ...], reference: Path) -> np.ndarray:
    path = folder / name
    if not path.is_file():
        raise ScdInputError("image not found", path)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    if pixels.shape[:2] != shape:
        raise LabelMismatchError(f"size {pixels.shape[1]}×{pixels.shape[0]} differs from {reference}", path)
    return (pixels == 255).all(axis=2)


def per_date(path: Path, table: CodeTable, images: tuple[Path, Path] | None) -> tuple[np.ndarray, np.ndarray]:
    """The two class maps of the from-to label at ``path``."""
    codes = _read_codes(path, table)
    first, second = table.before[codes], table.after[codes]
    if images is not None and table.ignore_white:
        outside = _white(images[0], path.name, codes.shape, path) & _white(images[1], path.name, codes.shape, path)
        first, second = np.where(outside, IGNORE, first), np.where(outside, IGNORE, second)
    return first.astype(np.uint8), second.astype(np.uint8)


def convert(
    source: Path, out: Path, table: CodeTable, layout: str, images: tuple[Path, Path] | None, overwrite: bool
) -> int:
    """Convert every PNG of ``source``; returns how many."""
    paths = sorted(p for p in source.iterdir() if p.suffix.lower() == ".png") if source.is_dir() else []
    if not paths:
        raise ScdInputError("no PNG labels here", source)
    folders = [out / name for name in LAYOUTS[layout].labels]
    if not overwrite and any(folder.is_dir() and any(folder.iterdir()) for folder in folders):
        raise OutputExistsError(f"{folders[0].name}/ or {folders[1].name}/ exists (--overwrite replaces files)", out)
    for path in paths:  # check everything before writing anything
        per_date(path, table, images)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        for folder, index in zip(folders, per_date(path, table, images), strict=True):
            write_label(folder / path.name, index, table.labels)
    return len(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.convert", description=__doc__.splitlines()[0])
    parser.add_argument("source", help="folder of from-to coded label PNGs (e.g. Landsat-SCD's label/)")
    parser.add_argument("out", help="dataset root the per-date label folders are written into")
    parser.add_argument("--codes", required=True, help="code table: built-in name (landsat_scd) or a YAML file")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), help="label folder names (default: the table's label set)")
    parser.add_argument("--images", nargs=2, metavar=("IMAGES1", "IMAGES2"), help="the two dates' image folders")
    parser.add_argument("--overwrite", action="store_true", help="replace existing label files")
    args = parser.parse_args(argv)
    try:
        table = read_code_table(args.codes)
        layout = args.layout or table.labels.name
        images = (Path(args.images[0]), Path(args.images[1])) if args.images else None
        count = convert(Path(args.source), Path(args.out), table, layout, images, args.overwrite)
    except ScdInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = LAYOUTS[layout].labels
    print(f"Converted {count} labels into {Path(args.out) / names[0]}/ and {Path(args.out) / names[1]}/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
