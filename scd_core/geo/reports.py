"""The *report* stage: what a run tells besides its maps and polygons.

* ``summary.csv`` and ``summary.json``: the from × to change matrix in hectares and each class's gains
  and losses; for a change-only model, which knows no classes, the changed area alone
  (:func:`write_change_summaries`);
* ``preview.png``: BEFORE, AFTER and the change map side by side, in the legend's colours;
* ``run.json``: inputs with fingerprints, the model, the options, timings, software versions and
  counts, so that a result can be traced to exactly what made it (:func:`run_record`).
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

import numpy as np
import rasterio
from rasterio.enums import Resampling

from scd_core.accounting.components import COMPONENTS, components
from scd_core.events import Counts
from scd_core.geo.options import DetectOptions
from scd_core.geo.rasters import fingerprint, main_file, raster_fingerprint, source_name
from scd_core.version import __version__

if TYPE_CHECKING:
    from PIL import ImageFont

    from scd_core.checkpoint import Normalisation
    from scd_core.geo.inputs import Prepared
    from scd_core.geo.progress import RunLog

#: Longer side, in pixels, of each picture of ``preview.png``.
PREVIEW_SIZE = 640
#: Colour of nodata in the preview's change map.
PREVIEW_NODATA = (64, 64, 64)


def write_summaries(
    paths: tuple[Path, Path], hectares: np.ndarray, class_names: Sequence[str], unchanged_ha: float
) -> None:
    """``paths``: ``summary.csv``, the from × to change matrix in hectares (rows: class at date 1, columns: class
    at date 2) and, beside each class's row, its gains and losses (:mod:`scd_core.accounting.components`;
    persistence by class is not known, and its column is empty but in the total row), and ``summary.json``,
    the same for programs."""
    parts = components(hectares, class_names, unchanged_ha)
    headers = [f"{name.replace('_', ' ')} (ha)" for name in COMPONENTS]
    with open(paths[0], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["from \\ to (ha)", *class_names, "total", *headers])
        for name, row in zip(class_names, hectares, strict=True):
            own = [f"{parts['components'][name][c]:.4f}" for c in COMPONENTS[:-1]]
            writer.writerow([name, *(f"{v:.4f}" for v in row), f"{row.sum():.4f}", *own, ""])
        total = parts["totals"]
        totals = [total["change"], total["change"], total["quantity"], total["swap"], total["persistence"]]
        writer.writerow(
            ["total", *(f"{v:.4f}" for v in hectares.sum(0)), f"{hectares.sum():.4f}", *(f"{v:.4f}" for v in totals)]
        )
    summary = {"unit": "ha", "classes": list(class_names), "from_to": np.asarray(hectares).tolist()}
    write_json(paths[1], {**summary, "changed_ha": float(hectares.sum()), "unchanged_ha": unchanged_ha, **parts})


#: Header of a change-only model's summary.csv: one row, ``change``, and its area in hectares.
CHANGE_SUMMARY_HEADER = ("category", "area (ha)")


def write_change_summaries(paths: tuple[Path, Path], hectares: float, unchanged_ha: float) -> None:
    """A change-only model's summaries: the area of its change polygons in hectares, the one figure a
    model without classes has (no from × to matrix, no gains and losses), as a one-row table a
    spreadsheet or QGIS reads, and as ``summary.json`` with the unchanged area beside it."""
    with open(paths[0], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHANGE_SUMMARY_HEADER)
        writer.writerow(["change", f"{hectares:.4f}"])
    write_json(paths[1], {"unit": "ha", "changed_ha": hectares, "unchanged_ha": unchanged_ha})


def write_json(path: Path, data: dict) -> None:
    """``data`` as indented UTF-8 JSON (in the staging folder, whose commit is what makes it atomic)."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def display_rgb(data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """An H×W×3 uint8 picture of C×H×W imagery: bands 1-3 (or band 1 as grey), 2-98% stretched."""
    bands = data[:3] if len(data) >= 3 else np.repeat(data[:1], 3, axis=0)
    picture = np.zeros((*valid.shape, 3), dtype=np.uint8)
    for i, band in enumerate(bands):
        values = band[valid]
        low, high = np.percentile(values, (2, 98)) if values.size else (0.0, 1.0)
        scaled = (band - low) / max(high - low, 1e-9) * 255
        picture[..., i] = np.clip(scaled, 0, 255).astype(np.uint8)
    picture[~valid] = 0
    return picture


def changes_picture(path: Path, shape: tuple[int, int], colours: dict[int, tuple[int, int, int, int]]) -> np.ndarray:
    """The change-type map at ``path`` decimated to ``shape`` and drawn in ``colours``."""
    lookup = np.zeros((256, 3), dtype=np.uint8)
    for value, rgba in colours.items():
        lookup[value] = rgba[:3]
    lookup[255] = PREVIEW_NODATA
    with rasterio.open(path) as source:
        codes = source.read(1, out_shape=shape, resampling=Resampling.nearest)
    return lookup[codes]


#: Change types the preview's legend lists at most, the largest by area; a "+N more" line stands for
#: the others. Every type of a label set of up to 7 classes (SECOND's 36) is listed.
LEGEND_ENTRIES = 49
_LINE = 16
_SWATCH = 18  # a swatch and the space before its label


def _font() -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """DejaVu Sans where the system has it (it draws "→"), else Pillow's own font, which does not."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", 12), True
    except OSError:
        return ImageFont.load_default(), False


def write_preview(
    path: Path,
    before: np.ndarray,
    after: np.ndarray,
    changes: np.ndarray,
    legend: list[tuple[str, tuple[int, int, int]]],
    gap: int = 8,
) -> None:
    """BEFORE, AFTER and the change map side by side (H×W×3 uint8 each, same shape), and below them
    the legend: ``(label, colour)`` of the change types shown, largest first, in as many columns as
    the widest label leaves room for."""
    from PIL import Image, ImageDraw

    height, width = changes.shape[:2]
    font, has_arrow = _font()
    shown = [(label if has_arrow else label.replace("→", "->"), colour) for label, colour in legend[:LEGEND_ENTRIES]]
    more = [f"+{len(legend) - len(shown)} more (summary.csv has them all)"] if len(legend) > len(shown) else []
    cell = _SWATCH + gap + max((font.getlength(text) for text in [*(label for label, _ in shown), *more]), default=0)
    canvas_width = max(3 * width + 2 * gap, round(cell))
    columns = max(1, int(canvas_width // cell))
    rows = max(1, -(-len(shown) // columns) + len(more))
    canvas = Image.new("RGB", (canvas_width, height + 28 + rows * _LINE), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (title, picture) in enumerate((("before", before), ("after", after), ("changes", changes))):
        x = i * (width + gap)
        canvas.paste(Image.fromarray(picture), (x, 20))
        draw.text((x + 2, 4), title, fill="black", font=font)
    top = height + 24
    if not shown:
        draw.text((2, top), "no change found", fill="black", font=font)
    for k, (label, colour) in enumerate(shown):
        x, y = round((k % columns) * cell), top + (k // columns) * _LINE
        draw.rectangle((x + 2, y + 2, x + 12, y + 12), fill=colour, outline="black")
        draw.text((x + _SWATCH, y), label, fill="black", font=font)
    for text in more:
        draw.text((2, top + (rows - 1) * _LINE), text, fill="black", font=font)
    canvas.save(path)


def software() -> dict[str, str]:
    """Versions of scd and of the libraries that shape its results."""
    import pyogrio
    import pyproj
    import shapely
    import torch

    return {
        "scd": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "shapely": shapely.__version__,
        "pyproj": pyproj.__version__,
        "pyogrio": pyogrio.__version__,
    }


def run_request(before: str, after: str, model: Path | None, options: DetectOptions) -> Request:
    """What a run is asked to do, as run.json's ``request`` records it: the fingerprints of the files
    it reads (for a GeoPackage table, a subdataset or a raster in an archive, the whole file it lives
    in; for one in no local file, what GDAL reads of it) and the options as given. Two runs with
    equal requests make the same outputs; ``scd batch`` skips a pair on that."""
    return {
        "before": raster_fingerprint(before),
        "after": raster_fingerprint(after),
        "model": None if model is None else fingerprint(model),
        "aoi": None if options.aoi is None else fingerprint(options.aoi),
        "mask_before": None if options.mask_before is None else raster_fingerprint(source_name(options.mask_before)),
        "mask_after": None if options.mask_after is None else raster_fingerprint(source_name(options.mask_after)),
        "options": options.request(),
    }


def input_record(
    source: str, dataset: rasterio.DatasetReader, bands: Sequence[int], why: str, sha256: str
) -> dict[str, Any]:
    """What run.json says of one input raster: where it is, its fingerprint and the bands used."""
    return {
        "path": source,
        "bytes": None if (file := main_file(source)) is None else file.stat().st_size,
        "sha256": sha256,
        "driver": dataset.driver,
        "crs": dataset.crs.to_string(),
        "width": dataset.width,
        "height": dataset.height,
        "dtype": dataset.dtypes[0],
        "bands_used": list(bands),
        "bands_chosen_by": why,
        "nodata": dataset.nodata,
    }


class Request(TypedDict):
    """run.json's ``request`` (:func:`run_request`): the fingerprints of what a run reads, and its
    options as asked for."""

    before: str
    after: str
    model: str | None
    aoi: str | None
    mask_before: str | None
    mask_after: str | None
    options: dict[str, Any]


class ModelRecord(TypedDict):
    """run.json's ``model``: the checkpoint (or ONNX file) a run used and what its metadata says."""

    checkpoint: str | None
    sha256: str | None
    name: str
    hparams: dict[str, Any]
    bands: list[str]
    normalisation: Normalisation
    tile_size: int
    gsd_m: float | list[float] | None  #: metres per pixel, or a [low, high] range; None: not known


def model_record(run: Prepared, request: Request) -> ModelRecord:
    """The model of ``run``, fingerprinted as in its ``request``."""
    meta, path = run.meta, run.checkpoint_path
    return {
        "checkpoint": None if path is None else str(path.absolute()),
        "sha256": request["model"],
        "name": meta["model"],
        "hparams": meta["hparams"],
        "bands": meta["bands"],
        "normalisation": meta["normalisation"],
        "tile_size": meta["tile_size"],
        "gsd_m": cast("float | list[float] | None", meta.get("gsd_m")),  # validate_metadata checked it
    }


def run_record(
    run: Prepared,
    request: Request,
    model: ModelRecord,
    options: dict[str, Any],
    counts: Counts,
    log: RunLog,
) -> dict[str, Any]:
    """run.json's content: ``run``'s inputs (each date's with its mask and the share of the run's area
    it masked), ``model`` and its ``task`` (``semantic`` or ``change``,
    which tells a reader such as ``scd score`` or the plugin which outputs the run has), resolved
    ``options`` (:meth:`DetectOptions.record`), ``request``, output grid, timings, ``counts`` and
    messages."""
    fingerprints = (request["before"], request["after"])
    before, after = (
        input_record(source, dataset, choice.bands, choice.reason, sha256)
        for source, dataset, choice, sha256 in zip(run.paths, run.datasets, run.bands, fingerprints, strict=True)
    )
    masks = [
        None if mask is None else mask.record(sha256)
        for mask, sha256 in zip(run.masks, (request["mask_before"], request["mask_after"]), strict=True)
    ]
    grid = run.grid
    return {
        "software": software(),
        "inputs": {
            "before": {**before, "mask": masks[0]},
            "after": {**after, "resampled": run.readers[1].resampled, "mask": masks[1]},
            "aoi": options["aoi"],
            "bbox": options["bbox"],
        },
        "model": model,
        "task": run.task,
        "options": options,
        "request": request,
        "grid": {"crs": grid.crs, "transform": list(grid.transform)[:6], "width": grid.width, "height": grid.height},
        "timings_s": {k: round(v, 3) for k, v in log.timings.items()},
        "counts": counts,
        "messages": log.messages,
    }
