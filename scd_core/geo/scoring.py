"""Scoring a run's outputs against the reference data an analyst has: ``scd score``.

The reference may be on any grid: it is resampled onto the run's output grid by nearest neighbour
(GDAL's warper, window by window, so memory stays flat). Only pixels inside the reference's
footprint where it has data are scored: a reference with no nodata value and no mask gets an alpha
band in the warp, as GDAL otherwise fills the ground it does not cover with 0, which would read as
"no change" (a reference of half the run's area would score the other half as unchanged). The
run's valid pixels left out this way are counted and reported. Three kinds of reference:

``binary``
    one raster, any value above 0 is change (e.g. OSCD's change masks);
``change-type``
    one raster of from-to codes 0..N² (:mod:`scd_core.legend`), as ``change_type.tif`` holds them;
``per-date``
    two rasters of per-date classes (0 no change, 1..N), as SECOND's labels.

A reference must plausibly be a label, or the score means nothing: one band (an alpha band aside),
whole-number values, and for a binary reference at most two distinct values (no change and
change); codes and classes must lie in their kind's range (255 is SECOND's "ignore" in the
semantic kinds). An image given by mistake (three bands of reflectance, a probability map) is
refused rather than scored as if any value above 0 were change.

Every kind gives the binary scores of changed against unchanged pixels: precision, recall, F1,
IoU (of change), OA and kappa. The two semantic kinds also give both SCD conventions of
:mod:`scd_core.metrics` (``per_date`` and ``from_to``). Every score is a percentage, as in
``scd evaluate``. With ``auto`` (the default for one raster), a reference whose values are all
change codes of the run's classes, and not only 0 and 1, is a change-type reference; any other is
binary.

A change-only run (its model tells change from no change alone: run.json's ``task`` is ``change``)
has no class maps, so it gets the binary scores alone: a change-type or per-date reference is read
as change where its label is not 0 (on either date), and the score carries a note that says so. Its
references' codes or classes are held to the most scd maps (:data:`scd_core.legend.MAX_CLASSES`),
there being no classes of the run to hold them to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from scd_core.errors import (
    InvalidOptionError,
    MissingCrsError,
    NoDataError,
    NoOverlapError,
    ScdInputError,
    UnreadableRasterError,
)
from scd_core.geo.rasters import gdal_reason, labels_onto
from scd_core.labels import IGNORE
from scd_core.legend import MAX_CLASSES
from scd_core.metrics import SCDConfusion, scores
from scd_core.vocabulary import OPTIONS

#: Rows read at a time from the outputs and the resampled reference.
STRIP = 512
NODATA = 255
#: Distinct values past which a raster is no label of any kind (a change code of 31 classes is at most 961).
MAX_VALUES = 1024


@dataclass(frozen=True)
class Score:
    """What ``scd score`` found: the reference's kind, the pixels scored, the run's valid pixels the
    reference has no data for (outside its footprint or nodata), and the scores."""

    kind: str
    pixels: int
    outside: int
    binary: dict[str, float]
    per_date: dict[str, float] | None
    from_to: dict[str, float] | None
    task: str = "semantic"  #: the run's model's (run.json's ``task``): ``change`` for a change-only run

    @property
    def note(self) -> str | None:
        """How the reference was read where its kind says otherwise (a semantic reference of a
        change-only run); the command prints it, its JSON leaves it out (every score has its keys)."""
        if self.task != "change" or self.kind == "binary":
            return None
        return (
            f"the run is change-only (its model tells change from no change alone): the {self.kind} reference "
            "is read as change where its label is not 0, and scored as change against no change"
        )

    def as_json(self) -> dict[str, Any]:
        """The score as ``scd score --json`` prints it."""
        return {
            "kind": self.kind,
            "pixels": self.pixels,
            "outside_reference": self.outside,
            "binary": self.binary,
            "from_to": self.from_to,
            "per_date": self.per_date,
        }


def binary_scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Precision, recall, F1, IoU of change, OA and Cohen's kappa, in percent (0 where undefined)."""
    total = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kappa = scores(np.array([[tn, fn], [fp, tp]]))["kappa"] / 100 if total else 0.0
    values = {
        "precision": precision,
        "recall": recall,
        "F1": f1,
        "IoU": tp / (tp + fp + fn) if tp + fp + fn else 0.0,
        "OA": (tp + tn) / total if total else 0.0,
        "kappa": kappa,
    }
    return {key: 100.0 * value for key, value in values.items()}


def _open(path: str | Path, role: str) -> rasterio.DatasetReader:
    try:
        dataset = rasterio.open(path)
    except RasterioError as error:
        raise UnreadableRasterError(f"{role} is not a raster GDAL can read ({gdal_reason(error)})", path) from None
    if dataset.crs is None:
        dataset.close()
        raise MissingCrsError(f"{role} has no coordinate reference system", path)
    return dataset


def _strips(height: int, width: int) -> Iterator[Window]:
    for row in range(0, height, STRIP):
        yield Window(0, row, width, min(STRIP, height - row))


def _reference_values(sources: list[WarpedVRT], window: Window) -> tuple[list[np.ndarray], np.ndarray]:
    values, valid = [], None
    for source in sources:
        value = source.read(1, window=window)
        mask = source.read_masks(1, window=window) > 0
        valid = mask if valid is None else valid & mask
        values.append(value)
    assert valid is not None
    return values, valid


def _check_bands(reference: rasterio.DatasetReader, path: str | Path) -> None:
    data_bands = sum(interp != ColorInterp.alpha for interp in reference.colorinterp)
    if data_bands != 1:
        raise ScdInputError(
            f"REFERENCE has {data_bands} bands; a reference is one band of labels "
            "(choose one, e.g. gdal_translate -b 1)",
            path,
        )


def _values(source: WarpedVRT, path: str | Path) -> np.ndarray:
    """The distinct values of ``source`` where it has data; a raster of non-whole or of more than
    :data:`MAX_VALUES` distinct values is refused as no label."""
    seen = np.zeros(0)
    for window in _strips(source.height, source.width):
        (values,), valid = _reference_values([source], window)
        seen = np.union1d(seen, values[valid])
        fractional = seen[seen != np.round(seen)]
        if len(fractional):
            raise ScdInputError(
                f"REFERENCE holds values that are not whole numbers ({fractional[0]:g}): not a label", path
            )
        if len(seen) > MAX_VALUES:
            raise ScdInputError(f"REFERENCE holds more than {MAX_VALUES} distinct values: an image, not a label", path)
    return seen.astype(np.int64)


def _listed(values: np.ndarray, most: int = 6) -> str:
    shown = ", ".join(str(v) for v in values[:most])
    return shown + (f", ... ({len(values)} in all)" if len(values) > most else "")


@dataclass(frozen=True)
class _Run:
    """What scoring needs of the run: whether it is change-only, and the classes a reference's codes
    and classes are held to (the run's, or for a change-only run the most scd maps)."""

    change_only: bool
    num_classes: int

    @property
    def classes_said(self) -> str:
        """The classes in the words of a refusal."""
        return f"up to {self.num_classes} classes" if self.change_only else f"this run's {self.num_classes} classes"


def _read_run(out_dir: Path) -> _Run:
    """The run in ``out_dir``, by its run.json (a run from before ``task`` was recorded is semantic)."""
    record = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    if record.get("task") == "change":
        return _Run(True, MAX_CLASSES)
    with rasterio.open(out_dir / "before_class.tif") as dataset:
        return _Run(False, len(json.loads(dataset.tags()["scd_class_names"])) - 1)


def _check_values(kind: str, seen: list[np.ndarray], run: _Run, references: list[str | Path]) -> None:
    """Refuse values that the reference's kind cannot hold (see the module docstring)."""
    if kind == "binary":
        if len(seen[0]) > 2:
            raise ScdInputError(
                f"REFERENCE holds {len(seen[0])} distinct values ({_listed(seen[0])}); a binary reference holds at "
                "most two, no change and change (mark others as nodata, e.g. gdal_edit.py -a_nodata)",
                references[0],
            )
        return
    highest = run.num_classes * run.num_classes if kind == "change-type" else run.num_classes
    what = "from-to codes" if kind == "change-type" else "classes"
    for values, path in zip(seen, references, strict=True):
        wrong = values[((values < 0) | (values > highest)) & (values != IGNORE)]
        if len(wrong):
            raise ScdInputError(
                f"not a {kind} reference of {run.classes_said}: it holds {_listed(wrong)}, and its "
                f"{what} are 0-{highest} ({IGNORE} ignored)",
                path,
            )


def _kind_of(seen: np.ndarray, num_classes: int) -> str:
    """``change-type`` when every value is a change code and some is above 1, else ``binary``."""
    codes = len(seen) and seen.min() >= 0 and seen.max() <= num_classes * num_classes
    return "change-type" if codes and seen.max() > 1 else "binary"


def score_outputs(out_dir: str | Path, references: list[str | Path], kind: str = "auto") -> Score:
    """Score the run in ``out_dir`` against one reference raster (``binary`` or ``change-type``) or
    two (``per-date``); see the module docstring."""
    out_dir = Path(out_dir)
    if problem := OPTIONS["kind"].problem(kind):
        raise InvalidOptionError(f"--kind {problem}")
    if len(references) not in (1, 2):
        raise InvalidOptionError(f"give one reference raster, or two per-date ones (got {len(references)})")
    if not (out_dir / "run.json").is_file():
        raise UnreadableRasterError("not an scd detect output folder (it has no run.json)", out_dir)
    run = _read_run(out_dir)
    if len(references) == 2:
        kind = "per-date" if kind in ("auto", "per-date") else kind
    if (kind == "per-date") != (len(references) == 2):
        raise InvalidOptionError(f"a {kind} reference is {'two rasters' if kind == 'per-date' else 'one raster'}")
    maps = ("change_type",) if run.change_only else ("change_type", "before_class", "after_class")
    with ExitStack() as stack:
        outputs = {name: stack.enter_context(_open(out_dir / f"{name}.tif", name)) for name in maps}
        grid = outputs["change_type"]
        refs = [stack.enter_context(_open(path, "REFERENCE")) for path in references]
        for ref, path in zip(refs, references, strict=True):
            _check_bands(ref, path)
            _check_overlap(ref, grid, path)
        sources = [stack.enter_context(labels_onto(ref, grid)) for ref in refs]
        seen = [_values(source, path) for source, path in zip(sources, references, strict=True)]
        if kind == "auto":
            kind = _kind_of(seen[0], run.num_classes)
        _check_values(kind, seen, run, references)
        try:
            score = _accumulate(outputs, sources, kind, run)
        except ValueError as error:  # 0 on one date only
            raise ScdInputError(f"not a {kind} reference of {run.classes_said}: {error}", references[0]) from None
    if not score.pixels:
        raise NoDataError("the reference has no data where the run has valid pixels", references[0])
    return score


def _check_overlap(reference: rasterio.DatasetReader, grid: rasterio.DatasetReader, path: str | Path) -> None:
    from rasterio.warp import transform_bounds

    left, bottom, right, top = transform_bounds(reference.crs, grid.crs, *reference.bounds, densify_pts=21)
    g_left, g_bottom, g_right, g_top = grid.bounds
    if right <= g_left or left >= g_right or top <= g_bottom or bottom >= g_top:
        raise NoOverlapError("the reference shares no ground with the run's outputs", path)


def _accumulate(outputs: dict, sources: list[WarpedVRT], kind: str, run: _Run) -> Score:
    counts = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
    outside = 0
    num_classes = run.num_classes
    confusion = SCDConfusion() if kind != "binary" and not run.change_only else None
    grid = outputs["change_type"]
    for window in _strips(grid.height, grid.width):
        codes = outputs["change_type"].read(1, window=window)
        values, valid = _reference_values(sources, window)
        outside += int(np.sum((codes != NODATA) & ~valid))
        valid &= codes != NODATA
        if kind != "binary":  # 255 is SECOND's "ignore" in semantic labels
            valid &= np.all([v != IGNORE for v in values], axis=0)
        predicted = codes[valid] > 0
        if kind == "per-date":
            gt1, gt2 = (v[valid].astype(np.int64) for v in values)
            truth = (gt1 > 0) | (gt2 > 0)
        else:  # a binary reference or change codes: any value above 0 is change
            code = values[0][valid].astype(np.int64)
            truth = code > 0
        counts += [
            np.sum(predicted & truth),
            np.sum(predicted & ~truth),
            np.sum(~predicted & truth),
            np.sum(~predicted & ~truth),
        ]
        if confusion is not None:
            if kind == "change-type":
                gt1 = np.where(truth, 1 + (code - 1) // num_classes, 0)
                gt2 = np.where(truth, 1 + (code - 1) % num_classes, 0)
            pred1 = outputs["before_class"].read(1, window=window)[valid]
            pred2 = outputs["after_class"].read(1, window=window)[valid]
            confusion.update(pred1, pred2, gt1, gt2)
    semantic = confusion.scores() if confusion is not None else None
    return Score(
        kind,
        int(counts.sum()),
        outside,
        binary_scores(*(int(c) for c in counts)),
        None if semantic is None else semantic["per_date"],
        None if semantic is None else semantic["from_to"],
        "change" if run.change_only else "semantic",
    )
