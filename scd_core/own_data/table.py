"""PAIRS.csv of ``scd train``: each pair's two rasters, its split, and its labels in one of five forms.

Columns (names in any case; ``,``, ``;`` or tab separated, as ``scd batch`` reads them):

``id``, ``before``, ``after``
    as in ``scd batch``: any rasters GDAL reads, paths relative to the CSV's folder (GDAL's own names,
    ``/vsicurl/...`` or ``GPKG:file.gpkg:table``, as given);
``split`` (optional)
    ``train`` or ``val``; without it the trainer holds out a spatially separate part (:mod:`.split`);
the labels, one form per pair:
    ``change``: a binary raster (values above 0 are change, nodata ignored);
    ``label1`` and ``label2``: a class raster per date (0 = no change, as in SECOND);
    ``fromto``: a raster of from-to codes (0 no change, ``1 + N·(from-1) + (to-1)``, as ``scd detect``
    writes them);
    ``labels``: a vector file of change polygons (``--change-field``, or ``--from-field`` and
    ``--to-field``);
    ``labels1`` and ``labels2``: a land-cover layer per date (``--class-field``).

Rows may use different forms (a set may mix binary and semantic pairs); a row with no form or two is
an error naming its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scd_core.batch.pairs import read_rows, resolve
from scd_core.errors import PairsFileError

#: The label forms, by the columns each fills.
FORMS: dict[str, tuple[str, ...]] = {
    "change": ("change",),
    "label1": ("label1", "label2"),
    "fromto": ("fromto",),
    "labels": ("labels",),
    "labels1": ("labels1", "labels2"),
}
SPLITS = ("train", "val")
USAGE = "id,before,after[,split] and labels: change, label1+label2, fromto, labels or labels1+labels2"


@dataclass(frozen=True)
class TrainingPair:
    """One row of a training PAIRS.csv, paths resolved against the CSV's folder."""

    id: str
    before: str  #: as GDAL names it (:func:`scd_core.batch.pairs.resolve`)
    after: str
    split: str | None
    form: str  #: a key of :data:`FORMS`
    labels: tuple[str, ...]  #: the form's files, in its columns' order
    line: int


def _form(row: dict[str, str], line: int, path: Path) -> tuple[str, tuple[str, ...]]:
    filled = [form for form, columns in FORMS.items() if any(row.get(c) for c in columns)]
    if len(filled) != 1:
        found = ", ".join(c for columns in FORMS.values() for c in columns if row.get(c)) or "none"
        raise PairsFileError(
            f"line {line}: pair {row['id']!r} needs its labels in exactly one form "
            f"(change, label1+label2, fromto, labels, labels1+labels2); it fills {found}",
            path,
        )
    columns = FORMS[filled[0]]
    if missing := [c for c in columns if not row.get(c)]:
        raise PairsFileError(f"line {line}: pair {row['id']!r} fills {columns[0]} but not {', '.join(missing)}", path)
    return filled[0], tuple(resolve(path.parent, row[c]) for c in columns)


def read_training_pairs(path: str | Path) -> list[TrainingPair]:
    """The pairs of a training PAIRS.csv, checked (see the module docstring)."""
    path = Path(path)
    rows, columns = read_rows(path, USAGE)
    if not any(c in columns for names in FORMS.values() for c in names):
        raise PairsFileError(f"has no label column: give {USAGE}", path)
    pairs = []
    for line, row in rows:
        split = row.get("split", "").lower() or None
        if split is not None and split not in SPLITS:
            raise PairsFileError(f"line {line}: split must be train or val, got {row['split']!r}", path)
        form, labels = _form(row, line, path)
        pairs.append(
            TrainingPair(
                row["id"],
                resolve(path.parent, row["before"]),
                resolve(path.parent, row["after"]),
                split,
                form,
                labels,
                line,
            )
        )
    if any(p.split for p in pairs) and not any(p.split == "train" for p in pairs):
        raise PairsFileError("its split column names no train pair", path)
    return pairs
