"""SECOND's folder layout: ``ROOT/im1``, ``ROOT/im2``, ``ROOT/label1``, ``ROOT/label2`` hold PNGs that
pair up by file name. Used by the evaluator (labels only) and by training (images and labels).

A root whose folders do not hold the same names is an error naming what is missing where: a pair
silently dropped would change a score or a training set without anyone noticing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scd_core.errors import LabelMismatchError, ScdInputError

IMAGE_FOLDERS = ("im1", "im2")
LABEL_FOLDERS = ("label1", "label2")


def png_names(folder: Path) -> set[str]:
    """Names of the PNG files in ``folder``."""
    if not folder.is_dir():
        raise ScdInputError(
            f"folder not found; a SECOND-layout root holds {', '.join(IMAGE_FOLDERS + LABEL_FOLDERS)}/", folder
        )
    return {p.name for p in folder.iterdir() if p.suffix.lower() == ".png"}


def listing(names: set[str], shown: int = 5) -> str:
    """A short, sorted listing of names for error messages."""
    text = ", ".join(sorted(names)[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def pair_names(root: str | Path, folders: Sequence[str] = LABEL_FOLDERS) -> list[str]:
    """The sorted file names present in every one of ``root``'s ``folders``; all must hold the same."""
    root = Path(root)
    found = {folder: png_names(root / folder) for folder in folders}
    reference = found[folders[0]]
    for folder in folders[1:]:
        if found[folder] != reference:
            raise LabelMismatchError(
                f"{folders[0]}/ and {folder}/ differ: "
                f"only in {folders[0]}/: {listing(reference - found[folder]) or '-'}; "
                f"only in {folder}/: {listing(found[folder] - reference) or '-'}",
                root,
            )
    if not reference:
        raise ScdInputError(f"no PNG files in {folders[0]}/", root)
    return sorted(reference)
