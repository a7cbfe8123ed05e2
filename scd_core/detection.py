"""``scd_core.detect``: two georeferenced rasters of one place in, from-to change maps and polygons out.

This module checks every input before anything is written, fixes the output grid, then hands the
work to :mod:`scd_core.geo`: the tiled engine, the map writer, the polygoniser and the reports. All
outputs are made in a staging folder and appear in OUT_DIR together at the end.
"""

from __future__ import annotations

import json
import platform
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rasterio.enums import Resampling
from torch import nn

from scd_core import __version__, checkpoint
from scd_core.cpu_memory import release_freed_memory
from scd_core.geo import engine, outputs, rasters, vectorize
from scd_core.geo.errors import InvalidOptionError
from scd_core.geo.grid import Grid, TilePlan
from scd_core.geo.normalise import Scale, make_normaliser
from scd_core.geo.progress import Reporter, silent

__all__ = ["OUTPUT_FILES", "DetectResult", "detect"]

#: Protocol name → file name of every output, in the order they are listed.
OUTPUT_FILES = {
    "change_type": "change_type.tif",
    "before_class": "before_class.tif",
    "after_class": "after_class.tif",
    "change_prob": "change_prob.tif",
    "changes": "changes.gpkg",
    "summary": "summary.csv",
    "run": "run.json",
    "preview": "preview.png",
}
#: GDAL's block cache in bytes. Its default, 5 % of RAM, fills with blocks of ever more tiles and makes
#: memory grow with the raster; a fixed cache keeps it flat. 64 MiB holds the blocks of a row of tiles
#: of both dates 8,192 pixels wide (tiled inputs) and the outputs' blocks being written. With 128 MiB,
#: an 8192² run of the demo model peaked at 1.32× the memory of a 2048² one, with 64 MiB at 1.16×
#: (1.21× in benchmarks/bench_detect.py), equally fast within the noise of the measurement. (rasterio passes GDAL_CACHEMAX to GDALSetCacheMax,
#: which counts bytes: a bare 64 would be a 64-byte cache that rereads every block.)
GDAL_CACHE_BYTES = 64 * 1024 * 1024
PREVIEW_SIZE = 640
SAMPLE_SIZE = 1024
DEFAULT_BATCH = {"cuda": 8, "cpu": 2}


@dataclass
class DetectResult:
    """What a run made: output paths (protocol names), counts, timings and the output grid."""

    out_dir: Path
    outputs: dict[str, Path]
    counts: dict[str, Any]
    timings: dict[str, float]
    grid: Grid
    messages: list[str] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` (a GPU when there is one), ``cpu``, ``cuda`` or ``cuda:i``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidOptionError(f"--device takes auto, cpu, cuda or cuda:i, got {name!r}") from None
    if device.type == "cuda":
        index = device.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise InvalidOptionError(f"--device {name}: no such CUDA device here (use --device cpu or auto)")
    elif device.type != "cpu":
        raise InvalidOptionError(f"--device takes auto, cpu, cuda or cuda:i, got {name!r}")
    return device


def _check_options(tile: int, overlap: int, batch: int, threshold: float, min_area: float, simplify: float) -> None:
    if tile <= 0 or tile % checkpoint.TILE_MULTIPLE:
        raise InvalidOptionError(f"--tile must be a positive multiple of {checkpoint.TILE_MULTIPLE}, got {tile}")
    if not 0 <= overlap <= tile // 2:
        raise InvalidOptionError(f"--overlap must lie in 0..{tile // 2} (half the tile), got {overlap}")
    if batch < 1:
        raise InvalidOptionError(f"--batch must be at least 1, got {batch}")
    if not 0 < threshold < 1:
        raise InvalidOptionError(f"--threshold must lie in (0, 1), got {threshold}")
    if min_area < 0 or simplify < 0:
        raise InvalidOptionError("--min-area and --simplify must not be negative")


def _software() -> dict[str, str]:
    import pyogrio
    import pyproj
    import rasterio
    import shapely

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


def _input_record(path: Path, dataset, bands: tuple[int, ...]) -> dict[str, Any]:
    return {
        "path": str(path.absolute()),
        "bytes": path.stat().st_size,
        "sha256": rasters.fingerprint(path),
        "driver": dataset.driver,
        "crs": dataset.crs.to_string(),
        "width": dataset.width,
        "height": dataset.height,
        "dtype": dataset.dtypes[0],
        "bands_used": list(bands),
        "nodata": dataset.nodata,
    }


def _resampling_reason(after, grid: Grid) -> str:
    if after.crs.to_string() != grid.crs:
        return f"{after.crs.to_string()} → {grid.crs}"
    if not np.allclose(after.res, (abs(grid.transform.a), abs(grid.transform.e))):
        return f"pixel size {after.res[0]:g} → {abs(grid.transform.a):g}"
    return "origin off BEFORE's pixel grid"


def _changes_picture(path: Path, shape: tuple[int, int], colours: dict[int, tuple]) -> np.ndarray:
    import rasterio

    lookup = np.zeros((256, 3), dtype=np.uint8)
    for value, rgba in colours.items():
        lookup[value] = rgba[:3]
    lookup[outputs.NODATA] = (64, 64, 64)
    with rasterio.open(path) as source:
        codes = source.read(1, out_shape=shape, resampling=Resampling.nearest)
    return lookup[codes]


def detect(
    before: str | Path,
    after: str | Path,
    model: str | Path | tuple[nn.Module, dict[str, Any]],
    out_dir: str | Path,
    *,
    aoi: str | Path | None = None,
    bbox: str | None = None,
    bands: list[int] | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    device: str = "auto",
    threshold: float | None = None,
    min_area: float = 0.0,
    simplify: float = 0.0,
    scale: Scale | None = None,
    overwrite: bool = False,
    tile_offset: int = 0,
    progress: Reporter | None = None,
) -> DetectResult:
    """Detect semantic changes between ``before`` and ``after``; write every output to ``out_dir``.

    Args:
        before, after: rasters GDAL reads, of one place at two dates. The output grid is BEFORE's,
            clipped to both footprints and the AOI; AFTER is resampled onto it when needed.
        model: a checkpoint path, or ``(model, metadata)`` as :func:`scd_core.checkpoint.load` gives.
        aoi: a vector file whose polygons limit the run; ``bbox``: ``"xmin,ymin,xmax,ymax[,CRS]"``.
        bands: 1-based band indices to read from both dates (default: from the checkpoint).
        tile, overlap: tile edge and minimum overlap in pixels (defaults: the checkpoint's tile
            size and a quarter of it). ``batch``: tiles per forward pass.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:i``; AMP is used on a GPU.
        threshold: change-probability threshold τ (default: the checkpoint's).
        min_area: polygons under this many m² are dropped; ``simplify``: tolerance in metres.
        scale: ``"auto"``, ``"none"`` or ``(low, high)``; see :mod:`scd_core.geo.normalise`.
        overwrite: allow a non-empty ``out_dir``; files of the same names are replaced.
        tile_offset: shift of the tile grid in pixels (results must not depend on it).
        progress: a reporter taking protocol events (:mod:`scd_core.geo.progress`).

    Raises:
        ScdInputError: a subclass naming the file at fault; nothing has been written then.
    """
    import rasterio

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        return _detect(
            before,
            after,
            model,
            out_dir,
            aoi=aoi,
            bbox=bbox,
            bands=bands,
            tile=tile,
            overlap=overlap,
            batch=batch,
            device=device,
            threshold=threshold,
            min_area=min_area,
            simplify=simplify,
            scale=scale,
            overwrite=overwrite,
            tile_offset=tile_offset,
            progress=progress,
        )


def _detect(
    before,
    after,
    model,
    out_dir,
    *,
    aoi,
    bbox,
    bands,
    tile,
    overlap,
    batch,
    device,
    threshold,
    min_area,
    simplify,
    scale,
    overwrite,
    tile_offset,
    progress,
) -> DetectResult:
    report = progress or silent
    started = time.perf_counter()
    timings: dict[str, float] = {}
    messages: list[str] = []

    def tell(kind: str, text: str) -> None:
        messages.append(text)
        report({"event": kind, "text": text})

    before, after = Path(before), Path(after)
    out_dir = outputs.check_output_dir(out_dir, overwrite)
    torch_device = resolve_device(device)
    if isinstance(model, (str, Path)):
        checkpoint_path: Path | None = Path(model)
        net, meta = checkpoint.load(checkpoint_path, torch_device)
    else:
        checkpoint_path, (net, meta) = None, model
    tile = tile or meta["tile_size"]
    overlap = tile // 4 if overlap is None else overlap
    batch = batch or DEFAULT_BATCH[torch_device.type]
    threshold = meta["threshold"] if threshold is None else threshold
    _check_options(tile, overlap, batch, threshold, min_area, simplify)

    with ExitStack() as stack:
        datasets = []
        for path, role in ((before, "BEFORE"), (after, "AFTER")):
            datasets.append(stack.enter_context(rasters.open_raster(path, role)))
        chosen = [
            rasters.select_bands(d, p, meta["bands"], bands, r)
            for d, p, r in zip(datasets, (before, after), ("BEFORE", "AFTER"))
        ]
        crs = datasets[0].crs.to_string()
        aoi_geometry = aoi_source = None
        if aoi is not None:
            aoi_geometry, aoi_source = rasters.read_aoi(aoi, crs), aoi
        elif bbox is not None:
            aoi_geometry, aoi_source = rasters.parse_bbox(bbox, crs), "--bbox"
        grid = rasters.output_grid(datasets[0], datasets[1], (before, after), aoi_geometry, aoi_source)
        readers = tuple(
            rasters.WindowReader(d, b, grid, p, r)
            for d, b, p, r in zip(datasets, chosen, (before, after), ("BEFORE", "AFTER"))
        )
        for reader in readers:
            stack.callback(reader.close)
        if readers[1].resampled:
            tell("message", f"AFTER is resampled onto BEFORE's grid ({_resampling_reason(datasets[1], grid)})")

        wanted_scale = meta["normalisation"].get("scale", "auto") if scale is None else scale
        samples = [reader.overview(SAMPLE_SIZE) for reader in readers]
        normalisers = []
        for role, dataset, (sample, valid) in zip(("BEFORE", "AFTER"), datasets, samples):
            normaliser = make_normaliser(meta["normalisation"], wanted_scale, dataset.dtypes[0], sample, valid)
            normalisers.append(normaliser)
            if normaliser.raw_low is not None:
                tell(
                    "message",
                    f"{role} is {dataset.dtypes[0]}: {normaliser.describe()} (set your own with --scale LOW,HIGH)",
                )
        if not (samples[0][1] & samples[1][1]).any():
            tell(
                "warning",
                "BEFORE and AFTER share almost no valid pixels in the output area; most outputs will be nodata",
            )
        plan = TilePlan.build(grid.height, grid.width, tile, overlap, offset=tile_offset)
        timings["validate"] = time.perf_counter() - started

        with outputs.StagingFolder(out_dir) as stage:
            report(
                {
                    "event": "start",
                    "total": len(plan),
                    "out_dir": str(out_dir),
                    "width": grid.width,
                    "height": grid.height,
                    "crs": grid.crs,
                }
            )
            writer = outputs.MapWriter(stage, grid, aoi_geometry)
            try:
                stats = engine.run(
                    plan,
                    readers,
                    tuple(normalisers),
                    net,
                    writer,
                    device=torch_device,
                    batch=batch,
                    threshold=threshold,
                    amp=torch_device.type == "cuda",
                    report=report,
                )
            finally:
                writer.close()
            release_freed_memory()
            timings["inference"] = stats.loop_seconds
            timings["model"] = stats.model_seconds

            mark = time.perf_counter()
            class_names = [c["name"] for c in meta["classes"]]
            geometries, codes = vectorize.polygonize(writer.paths["change_type"], writer.paths[outputs.CHANGED_MASK])
            areas = vectorize.geodesic_areas(geometries, grid.crs, abs(grid.transform.a))
            mean_prob = vectorize.mean_probabilities(
                geometries, writer.paths["change_prob"], 1 / engine.PROB_SCALE, grid
            )
            features = vectorize.write_changes(
                stage / OUTPUT_FILES["changes"],
                geometries,
                codes,
                areas,
                mean_prob,
                grid.crs,
                class_names,
                min_area,
                simplify,
            )
            hectares = vectorize.change_matrix(codes, areas)
            timings["vectorize"] = time.perf_counter() - mark

            mark = time.perf_counter()
            options = {
                "aoi": None if aoi is None else str(Path(aoi).absolute()),
                "bbox": bbox,
                "bands": bands,
                "tile": tile,
                "overlap": overlap,
                "tile_offset": tile_offset,
                "batch": batch,
                "device": str(torch_device),
                "amp": stats.amp,
                "threshold": threshold,
                "min_area_m2": min_area,
                "simplify_m": simplify,
                "scale": [n.describe() for n in normalisers],
            }
            model_record = {
                "checkpoint": None if checkpoint_path is None else str(checkpoint_path.absolute()),
                "sha256": None if checkpoint_path is None else rasters.fingerprint(checkpoint_path),
                "name": meta["model"],
                "hparams": meta["hparams"],
                "bands": meta["bands"],
                "normalisation": meta["normalisation"],
                "tile_size": meta["tile_size"],
            }
            parameters = {
                "scd": __version__,
                "before": str(before.absolute()),
                "after": str(after.absolute()),
                "model": model_record["name"],
                "checkpoint": model_record["checkpoint"],
                "options": options,
            }
            change_names = outputs.change_type_names(meta["classes"])
            raster_specs = {
                "change_type": (
                    outputs.change_type_colormap(meta["classes"]),
                    "from-to change type",
                    change_names,
                    True,
                    1.0,
                ),
                "before_class": (
                    outputs.class_colormap(meta["classes"]),
                    "class at date 1 where changed",
                    class_names,
                    True,
                    1.0,
                ),
                "after_class": (
                    outputs.class_colormap(meta["classes"]),
                    "class at date 2 where changed",
                    class_names,
                    True,
                    1.0,
                ),
                "change_prob": (
                    outputs.probability_colormap(),
                    "change probability (value × 0.004)",
                    None,
                    False,
                    1 / engine.PROB_SCALE,
                ),
            }
            for name, (colours, description, names, categorical, value_scale) in raster_specs.items():
                tags = {"scd_parameters": json.dumps(parameters, ensure_ascii=False)}
                if names is not None:
                    tags["scd_class_names"] = json.dumps(dict(enumerate(names)), ensure_ascii=False)
                outputs.finish_cog(
                    writer.paths[name], stage / OUTPUT_FILES[name], colours, description, tags, categorical, value_scale
                )

            outputs.write_summary_csv(stage / OUTPUT_FILES["summary"], hectares, class_names[1:])
            pictures = [outputs.display_rgb(*sample) for sample in (r.overview(PREVIEW_SIZE) for r in readers)]
            changes_picture = _changes_picture(
                stage / OUTPUT_FILES["change_type"], pictures[0].shape[:2], raster_specs["change_type"][0]
            )
            outputs.write_preview(stage / OUTPUT_FILES["preview"], pictures[0], pictures[1], changes_picture)
            timings["outputs"] = time.perf_counter() - mark

            changed_pixels = int(writer.code_pixels[1:].sum())
            counts = {
                "features": features,
                "regions": len(geometries),
                "changed_pixels": changed_pixels,
                "unchanged_pixels": int(writer.code_pixels[0]),
                "nodata_pixels": writer.nodata_pixels,
                "changed_area_ha": round(float(hectares.sum()), 4),
                "tiles": stats.tiles,
                "pixels_by_change_type": {change_names[c]: int(n) for c, n in enumerate(writer.code_pixels) if n and c},
            }
            timings["total"] = time.perf_counter() - started
            run_record = {
                "software": _software(),
                "inputs": {
                    "before": _input_record(before, datasets[0], chosen[0]),
                    "after": {**_input_record(after, datasets[1], chosen[1]), "resampled": readers[1].resampled},
                    "aoi": options["aoi"],
                    "bbox": bbox,
                },
                "model": model_record,
                "options": options,
                "grid": {
                    "crs": grid.crs,
                    "transform": list(grid.transform)[:6],
                    "width": grid.width,
                    "height": grid.height,
                },
                "timings_s": {k: round(v, 3) for k, v in timings.items()},
                "counts": counts,
                "messages": messages,
            }
            outputs.write_json(stage / OUTPUT_FILES["run"], run_record)
            committed = stage.commit(list(OUTPUT_FILES.values()))

    paths = {key: committed[name] for key, name in OUTPUT_FILES.items()}
    report({"event": "done", "outputs": {k: str(v) for k, v in paths.items()}, "counts": counts})
    return DetectResult(out_dir, paths, counts, timings, grid, messages)
