"""Everything a run writes, and the rule that nothing appears half-written.

A run works in a hidden sibling folder of OUT_DIR (same filesystem) and moves its finished files into
OUT_DIR only at the end, each with an atomic rename; a failed or cancelled run removes that folder and
leaves OUT_DIR exactly as it was. Nothing already there is replaced without ``overwrite``.

Rasters are written strip by strip into tiled, compressed working GeoTIFFs, then copied into Cloud
Optimized GeoTIFFs (GDAL's COG driver: internal tiling, overviews, DEFLATE) on the output grid, each
with a colour table, its class names and the run's parameters in its metadata:

==================  =====  ==============================================  ========
file                dtype  values                                          nodata
==================  =====  ==============================================  ========
change_type.tif     uint8  from-to codes 0 (no change) .. 36               255
before_class.tif    uint8  class of date 1 where changed, 0 where not      255
after_class.tif     uint8  class of date 2 where changed, 0 where not      255
change_prob.tif     uint8  change probability × 250 (scale 0.004 is set)   255
==================  =====  ==============================================  ========
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from rasterio.features import geometry_mask

from scd_core.geo.engine import PROB_SCALE, Region
from scd_core.geo.errors import OutputExistsError, UnwritableOutputError
from scd_core.geo.grid import Grid
from scd_core.labels import NUM_CHANGE_TYPES, change_code, split_change_code

NODATA = 255
#: Final raster names (without ``.tif``), in the order of the protocol's ``outputs``.
RASTERS = ("change_type", "before_class", "after_class", "change_prob")
#: Working raster of pixels to polygonise (changed and valid); never reaches OUT_DIR.
CHANGED_MASK = "changed_mask"
_WORKING_PROFILE = {
    "driver": "GTiff",
    "dtype": "uint8",
    "count": 1,
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "deflate",
    "zlevel": 1,
    "bigtiff": "if_safer",
}


# ---------------------------------------------------------------- the output folder


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(out_dir: str | Path, overwrite: bool) -> Path:
    """Refuse, before any work, an output folder that cannot be written or would lose files."""
    out_dir = Path(out_dir).absolute()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UnwritableOutputError("output path exists and is not a folder", out_dir)
        if any(out_dir.iterdir()) and not overwrite:
            raise OutputExistsError("output folder is not empty; pass --overwrite or choose another folder", out_dir)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise UnwritableOutputError("output folder is not writable", out_dir)
        return out_dir
    ancestor = _nearest_existing(out_dir.parent)
    if not ancestor.is_dir():
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not a folder", out_dir)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UnwritableOutputError(f"cannot create the output folder: {ancestor} is not writable", out_dir)
    return out_dir


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM during a short critical section (the final moves), then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        s: signal.signal(s, lambda number, frame: received.append(number)) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])


class StagingFolder:
    """A hidden sibling of OUT_DIR where a run writes; :meth:`commit` moves its files into OUT_DIR.

    Used as a context manager: leaving it without a commit (an error, a cancel) deletes the folder.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path: Path | None = None

    def __enter__(self) -> StagingFolder:
        parent = _nearest_existing(self.out_dir.parent)
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.scd-", dir=parent))
        except OSError as error:
            raise UnwritableOutputError(
                f"cannot write next to the output folder ({error.strerror})", self.out_dir
            ) from None
        return self

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def commit(self, names: Sequence[str]) -> dict[str, Path]:
        """Move the files ``names`` into OUT_DIR (each rename atomic) and drop the staging folder."""
        with signals_deferred():
            for leftover in set(os.listdir(self.path)) - set(names):
                (self.path / leftover).unlink()
            if not self.out_dir.exists():
                self.out_dir.parent.mkdir(parents=True, exist_ok=True)
                os.rename(self.path, self.out_dir)
            else:
                for name in names:
                    os.replace(self.path / name, self.out_dir / name)
                os.rmdir(self.path)
            self.path = None
        return {name: self.out_dir / name for name in names}

    def __exit__(self, *exc_info: Any) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


def write_atomic_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------- colour tables


def class_colormap(classes: Sequence[dict]) -> dict[int, tuple[int, int, int, int]]:
    """Colours of class maps: the checkpoint's class colours, nodata transparent."""
    table = {c["index"]: (*c["colour"], 255) for c in classes}
    table[NODATA] = (0, 0, 0, 0)
    return table


def change_type_colour(code: int, classes: Sequence[dict]) -> tuple[int, int, int]:
    """Colour of a from-to code: mostly the *to* class's colour, tinted by the *from* class's, so that
    the 36 types are told apart while "→ building" changes still read as buildings."""
    if code == 0:
        return tuple(classes[0]["colour"])
    source, target = split_change_code(code)
    mix = 0.65 * np.array(classes[target]["colour"]) + 0.35 * np.array(classes[source]["colour"])
    return tuple(int(v) for v in np.round(mix))


def change_type_colormap(classes: Sequence[dict]) -> dict[int, tuple[int, int, int, int]]:
    table = {code: (*change_type_colour(code, classes), 255) for code in range(NUM_CHANGE_TYPES)}
    table[NODATA] = (0, 0, 0, 0)
    return table


def probability_colormap() -> dict[int, tuple[int, int, int, int]]:
    """White (p = 0) through orange to dark red (p = 1); nodata transparent."""
    stops = np.array([[255, 255, 255], [253, 141, 60], [128, 0, 38]], dtype=float)
    table = {}
    for value in range(PROB_SCALE + 1):
        t = value / PROB_SCALE * 2
        low = min(int(t), 1)
        table[value] = (*(int(v) for v in np.round(stops[low] + (stops[low + 1] - stops[low]) * (t - low))), 255)
    table[NODATA] = (0, 0, 0, 0)
    return table


def change_type_names(classes: Sequence[dict]) -> list[str]:
    """Names of codes 0..36 with the checkpoint's class names."""
    names = [classes[0]["name"]]
    for code in range(1, NUM_CHANGE_TYPES):
        source, target = split_change_code(code)
        names.append(f"{classes[source]['name']} → {classes[target]['name']}")
    return names


# ---------------------------------------------------------------- rasters


class MapWriter:
    """Writes finished regions into the working GeoTIFFs of a staging folder and counts pixels.

    Called from the engine's writer thread only. Pixels outside the AOI, or nodata on either date,
    become nodata in every map.
    """

    def __init__(self, folder: StagingFolder, grid: Grid, aoi: shapely.Geometry | None) -> None:
        self.grid, self.aoi = grid, aoi
        profile = {
            **_WORKING_PROFILE,
            "crs": grid.crs,
            "transform": grid.transform,
            "width": grid.width,
            "height": grid.height,
        }
        self.paths = {name: folder / f".working-{name}.tif" for name in (*RASTERS, CHANGED_MASK)}
        self.files = {}
        for name, path in self.paths.items():
            self.files[name] = rasterio.open(path, "w", **profile, nodata=None if name == CHANGED_MASK else NODATA)
        self.code_pixels = np.zeros(NUM_CHANGE_TYPES, dtype=np.int64)
        self.nodata_pixels = 0

    def __call__(self, region: Region) -> None:
        valid = region.valid
        if self.aoi is not None:
            transform = self.grid.window_transform(region.window)
            valid = valid & geometry_mask([self.aoi], valid.shape, transform, invert=True)
        codes = change_code(region.before, region.after)
        maps = {
            "change_type": codes,
            "before_class": region.before,
            "after_class": region.after,
            "change_prob": region.prob,
        }
        for name, values in maps.items():
            self.files[name].write(np.where(valid, values, NODATA).astype(np.uint8), 1, window=region.window)
        self.files[CHANGED_MASK].write(((codes > 0) & valid).astype(np.uint8), 1, window=region.window)
        self.code_pixels += np.bincount(codes[valid], minlength=NUM_CHANGE_TYPES)
        self.nodata_pixels += int(valid.size - valid.sum())

    def close(self) -> None:
        for dataset in self.files.values():
            dataset.close()


def finish_cog(
    working: Path,
    final: Path,
    colormap: dict,
    description: str,
    tags: dict[str, str],
    categorical: bool,
    scale: float = 1.0,
) -> None:
    """Copy a working GeoTIFF into a COG with its colour table, description and tags."""
    with rasterio.open(working, "r+") as dataset:
        dataset.write_colormap(1, colormap)
        dataset.set_band_description(1, description)
        dataset.update_tags(**tags)
        if scale != 1.0:
            dataset.scales = (scale,)
            dataset.offsets = (0.0,)
    rasterio.shutil.copy(
        working,
        final,
        driver="COG",
        compress="deflate",
        blocksize=512,
        overview_resampling="mode" if categorical else "average",
        num_threads="all_cpus",
        bigtiff="if_safer",
    )


# ---------------------------------------------------------------- reports


def write_summary_csv(path: Path, hectares: np.ndarray, class_names: Sequence[str]) -> None:
    """The from × to change matrix in hectares (rows: class at date 1, columns: class at date 2)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["from \\ to (ha)", *class_names, "total"])
        for name, row in zip(class_names, hectares):
            writer.writerow([name, *(f"{v:.4f}" for v in row), f"{row.sum():.4f}"])
        writer.writerow(["total", *(f"{v:.4f}" for v in hectares.sum(0)), f"{hectares.sum():.4f}"])


def write_json(path: Path, data: dict) -> None:
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


def write_preview(path: Path, before: np.ndarray, after: np.ndarray, changes: np.ndarray, gap: int = 8) -> None:
    """BEFORE, AFTER and the change map side by side (H×W×3 uint8 each, same shape)."""
    from PIL import Image, ImageDraw

    height, width = changes.shape[:2]
    canvas = Image.new("RGB", (3 * width + 2 * gap, height + 20), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (title, picture) in enumerate((("before", before), ("after", after), ("changes", changes))):
        x = i * (width + gap)
        canvas.paste(Image.fromarray(picture), (x, 20))
        draw.text((x + 2, 4), title, fill="black")
    canvas.save(path)
