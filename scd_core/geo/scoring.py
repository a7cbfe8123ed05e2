"""Scoring a run's outputs against the reference data an analyst has: ``scd score``.

The reference may be on any grid: it is resampled onto the run's output grid by nearest neighbour
(GDAL's warper, window by window, so memory stays flat), and pixels that are nodata in the outputs
or in the reference are not counted. Three kinds of reference:

``binary``
    one raster, any value above 0 is change (e.g. OSCD's change masks);
``change-type``
    one raster of from-to codes 0..N² (:mod:`scd_core.legend`), as ``change_type.tif`` holds them;
``per-date``
    two rasters of per-date classes (0 no change, 1..N), as SECOND's labels.

Every kind gives the binary scores of changed against unchanged pixels: precision, recall, F1,
IoU (of change), OA and kappa. The two semantic kinds also give both SCD conventions of
:mod:`scd_core.metrics` (``per_date`` and ``from_to``). Every score is a percentage, as in
``scd evaluate``. With ``auto`` (the default for one raster), a reference whose values are all
change codes of the run's classes, and not only 0 and 1, is a change-type reference; any other is
binary.
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
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from scd_core.errors import InvalidOptionError, MissingCrsError, NoOverlapError, ScdInputError, UnreadableRasterError
from scd_core.geo.rasters import gdal_reason
from scd_core.labels import IGNORE
from scd_core.metrics import SCDConfusion, scores

KINDS = ("auto", "binary", "change-type", "per-date")
#: Rows read at a time from the outputs and the resampled reference.
STRIP = 512
NODATA = 255


@dataclass(frozen=True)
class Score:
    """What ``scd score`` found: the reference's kind, the pixels counted and the scores."""

    kind: str
    pixels: int
    binary: dict[str, float]
    per_date: dict[str, float] | None
    from_to: dict[str, float] | None

    def as_json(self) -> dict[str, Any]:
        return {"binary": self.binary, "from_to": self.from_to, "per_date": self.per_date}


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


def _onto(reference: rasterio.DatasetReader, grid: rasterio.DatasetReader) -> WarpedVRT:
    """``reference`` resampled by nearest neighbour onto ``grid``'s pixels."""
    return WarpedVRT(
        reference,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=Resampling.nearest,
    )


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


def _detect_kind(sources: list[WarpedVRT], num_classes: int) -> str:
    """``change-type`` when every valid value is a change code and some is above 1, else ``binary``."""
    highest, all_codes = 0, True
    for window in _strips(sources[0].height, sources[0].width):
        (values,), valid = _reference_values(sources, window)
        if valid.any():
            seen = values[valid]
            highest = max(highest, int(seen.max()))
            all_codes &= bool(((seen >= 0) & (seen <= num_classes * num_classes)).all())
    return "change-type" if all_codes and highest > 1 else "binary"


def score_outputs(out_dir: str | Path, references: list[str | Path], kind: str = "auto") -> Score:
    """Score the run in ``out_dir`` against one reference raster (``binary`` or ``change-type``) or
    two (``per-date``); see the module docstring."""
    out_dir = Path(out_dir)
    if kind not in KINDS:
        raise InvalidOptionError(f"--kind takes {', '.join(KINDS)}, got {kind!r}")
    if not (out_dir / "run.json").is_file():
        raise UnreadableRasterError("not an scd detect output folder (it has no run.json)", out_dir)
    num_classes = _classes(out_dir)
    if len(references) == 2:
        kind = "per-date" if kind in ("auto", "per-date") else kind
    if (kind == "per-date") != (len(references) == 2):
        raise InvalidOptionError(f"a {kind} reference is {'two rasters' if kind == 'per-date' else 'one raster'}")
    with ExitStack() as stack:
        outputs = {
            name: stack.enter_context(_open(out_dir / f"{name}.tif", name))
            for name in ("change_type", "before_class", "after_class")
        }
        grid = outputs["change_type"]
        refs = [stack.enter_context(_open(path, "REFERENCE")) for path in references]
        for ref, path in zip(refs, references, strict=True):
            _check_overlap(ref, grid, path)
        sources = [stack.enter_context(_onto(ref, grid)) for ref in refs]
        if kind == "auto":
            kind = _detect_kind(sources, num_classes)
        try:
            return _accumulate(outputs, sources, kind, num_classes)
        except ValueError as error:  # a class or code the run's classes do not have, or 0 on one date only
            raise ScdInputError(f"not a {kind} reference of this run's {num_classes} classes: {error}",
                                references[0]) from None  # fmt: skip


def _classes(out_dir: Path) -> int:
    with rasterio.open(out_dir / "before_class.tif") as dataset:
        return len(json.loads(dataset.tags()["scd_class_names"])) - 1


def _check_overlap(reference: rasterio.DatasetReader, grid: rasterio.DatasetReader, path: str | Path) -> None:
    from rasterio.warp import transform_bounds

    left, bottom, right, top = transform_bounds(reference.crs, grid.crs, *reference.bounds, densify_pts=21)
    g_left, g_bottom, g_right, g_top = grid.bounds
    if right <= g_left or left >= g_right or top <= g_bottom or bottom >= g_top:
        raise NoOverlapError("the reference shares no ground with the run's outputs", path)


def _accumulate(outputs: dict, sources: list[WarpedVRT], kind: str, num_classes: int) -> Score:
    counts = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
    confusion = SCDConfusion() if kind != "binary" else None
    grid = outputs["change_type"]
    for window in _strips(grid.height, grid.width):
        codes = outputs["change_type"].read(1, window=window)
        values, valid = _reference_values(sources, window)
        valid &= codes != NODATA
        if kind != "binary":  # 255 is SECOND's "ignore" in semantic labels
            valid &= np.all([v != IGNORE for v in values], axis=0)
        predicted = codes[valid] > 0
        if kind == "per-date":
            gt1, gt2 = (v[valid].astype(np.int64) for v in values)
            truth = gt1 > 0
        elif kind == "change-type":
            code = values[0][valid].astype(np.int64)
            truth = code > 0
            gt1 = np.where(truth, 1 + (code - 1) // num_classes, 0)
            gt2 = np.where(truth, 1 + (code - 1) % num_classes, 0)
        else:
            truth = values[0][valid] > 0
        counts += [
            np.sum(predicted & truth),
            np.sum(predicted & ~truth),
            np.sum(~predicted & truth),
            np.sum(~predicted & ~truth),
        ]
        if confusion is not None:
            pred1 = outputs["before_class"].read(1, window=window)[valid]
            pred2 = outputs["after_class"].read(1, window=window)[valid]
            confusion.update(pred1, pred2, gt1, gt2)
    semantic = confusion.scores() if confusion is not None else None
    return Score(
        kind,
        int(counts.sum()),
        binary_scores(*(int(c) for c in counts)),
        None if semantic is None else semantic["per_date"],
        None if semantic is None else semantic["from_to"],
    )
