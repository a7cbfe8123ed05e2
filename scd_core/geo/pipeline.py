"""``scd_core.detect``: two georeferenced rasters of one place in, from-to change maps and polygons out.

A run is five named stages, each in a function below, each handing one thing to the next:

1. **prepare** (:func:`scd_core.geo.inputs.prepare`): check every input before anything is written;
2. **infer**: the tiled, blended engine writes the model's maps into working GeoTIFFs;
3. **vectorise**: the minimum mapping unit (:mod:`.sieve`), then polygons of the change map, their
   geodesic areas and mean probabilities;
4. **report**: the final COGs, the GeoPackage, the summaries (with gains and losses), preview.png,
   run.json and report.html (:mod:`scd_core.accounting.report`);
5. **commit**: the staging folder's files move into OUT_DIR together (:mod:`.staging`).

A change-only model (checkpoint task ``change``: :func:`scd_core.checkpoint.task_of`) goes through the
same stages. Its one class is "change", so the engine's change codes are already 0 (no change) and 1
(change), read from P(change) ≥ τ alone; the stages write no class maps, polygons without from-to
fields, and the changed area as the summary (:func:`output_files`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio

from scd_core import events
from scd_core.accounting.assessment import ASSESSMENT
from scd_core.accounting.report import write_report
from scd_core.accounting.strata import code_hectares
from scd_core.cpu_memory import release_freed_memory
from scd_core.geo import maps, rasters, reports, vectorize
from scd_core.geo.grid import Grid
from scd_core.geo.inputs import Prepared, prepare
from scd_core.geo.maps import CHANGED_MASK, CLASS_MAPS, PROB_SCALE, Colormap, MapWriter, Region, WorkingMaps, crop
from scd_core.geo.options import DetectOptions
from scd_core.geo.progress import Reporter, RunLog, silent
from scd_core.geo.staging import StagingFolder, check_output_dir
from scd_core.legend import change_type_names
from scd_core.version import __version__

if TYPE_CHECKING:  # names of torch's world: a run imports torch once prepare has found the inputs good
    import geopandas  # and of --zones, imported when a run is given zones

    from scd_core.geo.engine import EngineStats
    from scd_core.geo.inputs import ModelSource

__all__ = ["OUTPUT_FILES", "DetectResult", "detect", "output_files"]

#: Protocol name → file name of every output, in the order they are listed (a change-only model
#: writes all but the class maps: :func:`output_files`).
OUTPUT_FILES = {
    "change_type": "change_type.tif",
    "before_class": "before_class.tif",
    "after_class": "after_class.tif",
    "change_prob": "change_prob.tif",
    "changes": "changes.gpkg",
    "summary": "summary.csv",
    "summary_json": "summary.json",
    "run": "run.json",
    "preview": "preview.png",
    "report": "report.html",
}
#: The outputs of a run with ``--zones`` (:mod:`scd_core.accounting.zones`), by protocol name.
ZONE_FILES = {"zones": "zones.csv", "zones_layer": "zones.gpkg"}
#: Files that ``scd zones`` and ``scd assess`` add to a run folder: another run into the folder removes
#: those it does not write, since they describe the change map it replaces.
ADDED_FILES = (*ZONE_FILES.values(), ASSESSMENT)
#: GDAL's block cache in bytes. Its default, 5 % of RAM, fills with blocks of ever more tiles and makes
#: memory grow with the raster; a fixed cache keeps it flat. 64 MiB holds the blocks of a row of tiles
#: of both dates 8,192 pixels wide (tiled inputs) and the outputs' blocks being written; a larger cache
#: let memory grow with the raster again (``benchmarks/bench_detect.py`` measures the peak at 8192²
#: against 2048²) and ran no faster. (rasterio
#: passes GDAL_CACHEMAX to GDALSetCacheMax, which counts bytes: a bare 64 would be a 64-byte cache.)
GDAL_CACHE_BYTES = 64 * 1024 * 1024


def output_files(task: str) -> dict[str, str]:
    """The outputs a run of a model of ``task`` writes (protocol name → file name): all of
    :data:`OUTPUT_FILES` but the class maps for a change-only model."""
    return {key: name for key, name in OUTPUT_FILES.items() if task != "change" or key not in CLASS_MAPS}


@dataclass
class DetectResult:
    """What a run made: output paths (protocol names), counts, timings and the output grid."""

    out_dir: Path
    outputs: dict[str, Path]
    counts: events.Counts
    timings: dict[str, float]
    grid: Grid
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Polygons:
    """What the vectorise stage hands to the report stage."""

    regions: int  #: connected regions of the (sieved) change map
    features: int  #: polygons kept in the GeoPackage (regions of at least --min-area)
    hectares: np.ndarray  #: the from × to matrix of the kept polygons, in hectares
    changed_hectares: float  #: the area of every changed region, kept or not


#: The infer stage: from the prepared run to the model's maps (in the staging folder) and the
#: engine's statistics. :func:`infer_here` runs it in this process; :mod:`scd_core.cluster` on Dask.
InferStage = Callable[[Prepared, StagingFolder, RunLog], "tuple[dict[str, Path], EngineStats]"]


def detect(
    before: str | Path,
    after: str | Path,
    model: ModelSource,
    out_dir: str | Path,
    *,
    progress: Reporter | None = None,
    **options: Any,
) -> DetectResult:
    """Detect semantic changes between ``before`` and ``after``; write every output to ``out_dir``.

    Args:
        before: raster of the first date (any format GDAL reads); its grid, clipped to both
            footprints and the AOI, is the output grid.
        after: raster of the second date; resampled onto BEFORE's grid when needed.
        model: a checkpoint or ONNX file, or ``(model, metadata)`` as :func:`scd_core.checkpoint.load`
            gives.
        out_dir: the output folder (created; must be empty unless ``overwrite``).
        progress: a reporter taking protocol events (:mod:`scd_core.geo.progress`).
        **options: the fields of :class:`~scd_core.geo.options.DetectOptions` (``aoi``, ``bbox``,
            ``bands``, ``tile``, ``overlap``, ``batch``, ``device``, ``runtime``, ``threshold``,
            ``decode``, ``mmu``, ``min_area``, ``simplify``, ``scale``, ``mask_before``, ``mask_after``,
            ``mask_values``, ``overwrite``, ``tile_offset``).

    Raises:
        ScdInputError: a subclass naming the file or option at fault; nothing has been written then.
    """
    return run_detection(before, after, model, out_dir, DetectOptions(**options), progress or silent)


def run_detection(
    before: str | Path,
    after: str | Path,
    model: ModelSource,
    out_dir: str | Path,
    options: DetectOptions,
    progress: Reporter = silent,
    infer: InferStage | None = None,
) -> DetectResult:
    """The five stages, with the infer stage ``infer`` (:func:`infer_here` by default): :func:`detect`
    for callers that hold checked options already (``scd detect``, ``scd batch``, the cluster), which
    pass them as they are."""
    sources = (rasters.source_name(before), rasters.source_name(after))
    inputs = (*sources, options.aoi, options.mask_before, options.mask_after, model)
    target = check_output_dir(out_dir, options.overwrite, inputs)
    log = RunLog(progress)
    if replaced := target.existing([*OUTPUT_FILES.values(), *ADDED_FILES]):
        log.warning(f"--overwrite replaces {', '.join(replaced)} in {target.path}")
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES, **rasters.network_config()),
        prepare(sources, model, options, log) as run,
    ):
        zones = _zones(run)  # checked before the staging folder is made: a refusal writes nothing
        with StagingFolder(target) as stage:
            model_maps, stats = (infer or infer_here)(run, stage, log)
            working = _sieve(run, model_maps, stage)
            polygons = _vectorise(run, working, stage, log)
            counts = _report(run, working, stats, polygons, stage, log, zones)
            written = {**output_files(run.task), **(ZONE_FILES if zones is not None else {})}
            stale = [name for name in (*OUTPUT_FILES.values(), *ADDED_FILES) if name not in written.values()]
            committed = stage.commit(list(written.values()), stale)
    paths = {key: committed[name] for key, name in written.items()}
    log.report(events.done({k: str(v) for k, v in paths.items()}, counts))
    return DetectResult(target.path, paths, counts, log.timings, run.grid, log.messages)


def _zones(run: Prepared) -> geopandas.GeoDataFrame | None:
    """The zone layer of ``--zones`` on the run's grid, checked against it (None without zones)."""
    options = run.options
    if options.zones is None or options.zone_field is None:
        return None
    from scd_core.accounting.zones import zones_over

    return zones_over(options.zones, options.zone_field, run.grid.crs, run.grid.bounds)


def start_event(run: Prepared, stage: StagingFolder, tiles: int) -> events.Start:
    """The protocol's ``start`` event: the output grid, and the tiles the run will compute."""
    grid = run.grid
    return events.start(tiles, str(stage.out_dir), grid.width, grid.height, grid.crs)


def infer_block(run: Prepared, folder: StagingFolder | Path, report: Reporter) -> tuple[dict[str, Path], EngineStats]:
    """The tiled engine over ``run``'s tiles, writing the model's maps of its map grid into ``folder``."""
    from scd_core.geo import engine  # torch: imported once prepare has found the inputs good

    options = run.options
    writer = MapWriter(folder, run.map_grid, run.num_classes)
    assert options.batch is not None and options.threshold is not None  # resolved by prepare

    def write(region: Region) -> None:
        if (inside := crop(region, run.map_region)) is not None:
            writer(inside)

    try:
        stats = engine.run(
            run.plan,
            run.readers,
            run.normalisers,
            run.runner,
            write,
            batch=options.batch,
            threshold=options.threshold,
            num_classes=run.num_classes,
            decode=options.decode,
            report=report,
        )
    finally:
        paths = writer.close()
    return paths, stats


def infer_here(run: Prepared, stage: StagingFolder, log: RunLog) -> tuple[dict[str, Path], EngineStats]:
    """Stage 2, in this process: the tiled engine writes the model's maps of every finished strip."""
    log.report(start_event(run, stage, len(run.plan)))
    paths, stats = infer_block(run, stage, log.report)
    release_freed_memory()
    log.lap("inference", stats.loop_seconds)
    log.timings["model"] = stats.model_seconds
    return paths, stats


def _sieve(run: Prepared, model_maps: dict[str, Path], stage: StagingFolder) -> WorkingMaps:
    """The minimum mapping unit over the model's maps, cropped to the output grid and the AOI."""
    semantic = run.task != "change"
    return maps.finish_maps(
        model_maps, stage, run.windows, run.grid, run.aoi, run.num_classes, run.options.mmu, class_maps=semantic
    )


def _vectorise(run: Prepared, working: WorkingMaps, stage: StagingFolder, log: RunLog) -> _Polygons:
    """Stage 3, after the sieve: one polygon per connected region of one change type, with its area
    and mean probability; outlines are simplified (``--simplify``) and measured as written, and
    polygons under ``--min-area`` are dropped."""
    grid, options = run.grid, run.options
    geometries, codes = vectorize.polygonize(working.paths["change_type"], working.paths[CHANGED_MASK])
    areas = vectorize.geodesic_areas(geometries, grid.crs, abs(grid.transform.a))
    mean_prob = vectorize.mean_probabilities(geometries, working.paths["change_prob"], 1 / PROB_SCALE, grid)
    outlines, outline_areas = geometries, areas
    if options.simplify > 0:
        outlines = vectorize.simplified(geometries, options.simplify, grid.crs)
        outline_areas = vectorize.geodesic_areas(outlines, grid.crs, abs(grid.transform.a))
    kept = outline_areas >= options.min_area
    class_names = None if run.task == "change" else [c.name for c in run.classes]
    vectorize.write_changes(
        stage / OUTPUT_FILES["changes"],
        outlines[kept],
        codes[kept],
        outline_areas[kept],
        mean_prob[kept],
        grid.crs,
        class_names,
    )
    log.lap("vectorize")
    return _Polygons(
        regions=len(geometries),
        features=int(kept.sum()),
        hectares=vectorize.change_matrix(codes[kept], outline_areas[kept], run.num_classes),
        changed_hectares=float(areas.sum()) / 10_000,
    )


def _change_map_legend(run: Prepared) -> tuple[Colormap, list[str]]:
    """Colours and names of the values of change_type.tif: the from-to change types, or for a
    change-only model its two categories, "no change" and "change", in the checkpoint's colours."""
    if run.task == "change":
        return maps.class_colormap(run.classes), [c.name for c in run.classes]
    return maps.change_type_colormap(run.classes), change_type_names(run.classes)


def _finish_rasters(run: Prepared, working: WorkingMaps, stage: StagingFolder, parameters: dict) -> None:
    """The working GeoTIFFs as COGs with colour tables, class names and the run's parameters."""
    class_names = [c.name for c in run.classes]
    class_colours = maps.class_colormap(run.classes)
    change_colours, change_names = _change_map_legend(run)
    what = "change (1) or no change (0)" if run.task == "change" else "from-to change type"
    specs = {
        "change_type": (change_colours, what, change_names),
        "before_class": (class_colours, "class at date 1 where changed", class_names),
        "after_class": (class_colours, "class at date 2 where changed", class_names),
        "change_prob": (maps.probability_colormap(), "change probability (value × 0.004)", None),
    }
    for name, (colours, description, names) in specs.items():
        if name not in working.paths:  # a change-only model's class maps
            continue
        tags = {"scd_parameters": json.dumps(parameters, ensure_ascii=False)}
        if names is not None:
            tags["scd_class_names"] = json.dumps(dict(enumerate(names)), ensure_ascii=False)
        categorical = name != "change_prob"
        scale = 1.0 if categorical else 1 / PROB_SCALE
        maps.finish_cog(working.paths[name], stage / OUTPUT_FILES[name], colours, description, tags, categorical, scale)


def _write_preview(run: Prepared, stage: StagingFolder, code_pixels: np.ndarray) -> None:
    colours, names = _change_map_legend(run)
    pictures = [reports.display_rgb(*reader.overview(reports.PREVIEW_SIZE, run.region)) for reader in run.readers]
    changes = reports.changes_picture(stage / OUTPUT_FILES["change_type"], pictures[0].shape[:2], colours)
    present = sorted((code for code in range(1, len(code_pixels)) if code_pixels[code]), key=lambda c: -code_pixels[c])
    legend = [(names[code], colours[code][:3]) for code in present]
    reports.write_preview(stage / OUTPUT_FILES["preview"], pictures[0], pictures[1], changes, legend)


def _counts(run: Prepared, working: WorkingMaps, stats: EngineStats, polygons: _Polygons) -> events.Counts:
    _, names = _change_map_legend(run)
    return {
        "features": polygons.features,
        "regions": polygons.regions,
        "changed_pixels": int(working.code_pixels[1:].sum()),
        "unchanged_pixels": int(working.code_pixels[0]),
        "nodata_pixels": working.nodata_pixels,
        "changed_area_ha": round(polygons.changed_hectares, 4),
        "polygon_area_ha": round(float(polygons.hectares.sum()), 4),
        "tiles": stats.tiles,
        "pixels_by_change_type": {names[c]: int(n) for c, n in enumerate(working.code_pixels) if n and c},
    }


def _report(
    run: Prepared,
    working: WorkingMaps,
    stats: EngineStats,
    polygons: _Polygons,
    stage: StagingFolder,
    log: RunLog,
    zones: geopandas.GeoDataFrame | None,
) -> events.Counts:
    """Stage 4: the final rasters, the summaries, preview.png, run.json and report.html; returns the
    run's counts."""
    before, after = run.paths
    scaling = [n.describe() for n in run.normalisers]
    request = reports.run_request(before, after, run.checkpoint_path, run.asked)
    runner = run.runner
    options = run.options.record(str(run.device), stats.amp, scaling, runner.name, runner.providers, runner.precision)
    if run.task == "change":
        options["decode"] = None  # no classes were read
    model = reports.model_record(run, request)
    parameters = {
        "scd": __version__,
        "before": before,
        "after": after,
        "model": model["name"],
        "checkpoint": model["checkpoint"],
        "options": options,
    }
    _finish_rasters(run, working, stage, parameters)
    with rasterio.open(stage / OUTPUT_FILES["change_type"]) as change_map:
        unchanged_ha = float(code_hectares(change_map)[0])
    summaries = (stage / OUTPUT_FILES["summary"], stage / OUTPUT_FILES["summary_json"])
    if run.task == "change":
        reports.write_change_summaries(summaries, float(polygons.hectares.sum()), unchanged_ha)
    else:
        class_names = [c.name for c in run.classes[1:]]
        reports.write_summaries(summaries, polygons.hectares, class_names, unchanged_ha)
    _write_preview(run, stage, working.code_pixels)
    if zones is not None:
        from scd_core.accounting.zones import write_zone_statistics

        assert run.options.zone_field is not None  # DetectOptions has both or neither
        tables = (stage / ZONE_FILES["zones"], stage / ZONE_FILES["zones_layer"])
        write_zone_statistics(stage / OUTPUT_FILES["change_type"], zones, run.options.zone_field, *tables)
    log.lap("outputs")
    counts = _counts(run, working, stats, polygons)
    log.finish()
    reports.write_json(stage / OUTPUT_FILES["run"], reports.run_record(run, request, model, options, counts, log))
    write_report((stage / OUTPUT_FILES["run"]).parent, stage / OUTPUT_FILES["report"])
    return counts
