"""Turn the algorithm's QGIS inputs into files the worker can read.

The worker is a separate process: it reads files, not QGIS layers. A raster layer GDAL reads from a
local file is passed by its GDAL name, so a sub-layer keeps the part of the file it names; one GDAL
reads over the network (a COG or STAC asset by its URL, ``/vsicurl/``, ``/vsis3/``...) is passed as
that name too, which the worker reads window by window as QGIS does, never fetching it whole. Any other
raster layer (WMS, WMTS/XYZ tiles, a virtual raster, a database raster) is first written by QGIS to
a GeoTIFF covering the area of interest, so everything QGIS can display can be compared. The AOI's
features are written to a GeoPackage, as are training labels that are not a whole file of their own;
training reads plain files only (its PAIRS.csv holds paths), so a raster that is part of a file is
exported too.
"""

from __future__ import annotations

import math
import os
import re

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureSource,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsProviderRegistry,
    QgsRasterBlockFeedback,
    QgsRasterDataProvider,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

#: Largest raster QGIS exports for the worker (pixels); larger asks for a smaller EXTENT or AOI.
MAX_EXPORT_PIXELS = 400_000_000


def default_images(project: QgsProject) -> tuple[str | None, str | None]:
    """The layer ids the dialog offers as the before and after images: the two topmost raster layers
    of the project's layer tree, the upper one (loaded last, usually the newer) as after; with one raster
    layer, it as before and no after; with none, neither. QGIS's own default, the first raster layer for
    both, compared an image with itself."""
    rasters = [node.layer() for node in project.layerTreeRoot().findLayers()]
    ids = [layer.id() for layer in rasters if isinstance(layer, QgsRasterLayer)]
    if len(ids) >= 2:
        return ids[1], ids[0]
    return (ids[0] if ids else None), None


def require_crs(layer: QgsRasterLayer, role: str) -> None:
    """Refuse a raster without a CRS before any work starts: changes need map coordinates."""
    if not layer.crs().isValid():
        raise QgsProcessingException(
            f"The {role} raster '{layer.name()}' ({layer.source()}) has no coordinate reference system, "
            "so it cannot be placed on the map or matched with the other image. Georeference it (Raster ▸ "
            "Georeferencer), or if you know its CRS, assign it (Raster ▸ Projections ▸ Assign Projection) "
            "and run again."
        )


#: GDAL's virtual file systems that read over a network (the engine's ``scd_core.geo.rasters.NETWORK``).
_NETWORK = ("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsiadls", "/vsioss", "/vsiswift", "/vsiwebhdfs", "/vsihdfs")
_URL = re.compile(r"^https?://", re.IGNORECASE)

#: A subdataset name whose file is quoted: ``NETCDF:"file.nc":var``, ``HDF5:"file.h5"://group/var``.
_QUOTED_SUBDATASET = re.compile(r'^(?P<driver>[A-Za-z0-9_]+):"(?P<file>[^"]+)"(?P<rest>:.*)$')


def dataset_name(layer: QgsRasterLayer) -> str | None:
    """The name the worker's GDAL opens ``layer`` by, with its file made absolute; None when the
    layer is not a GDAL dataset on this machine (it is then exported, see :func:`export_raster`).

    The name keeps what selects a part of the file: a GeoPackage raster table (``GPKG:file:table``),
    a NetCDF or HDF subdataset, the member of a ``/vsizip/`` archive. The file is made absolute
    because the worker runs in a folder of its own, and relative names are the caller's: QGIS opened
    them from its working folder. A raster read over the network keeps its name (a plain URL as its
    ``/vsicurl/`` name), unless QGIS adds options of its own to it (``|credential:...``).
    """
    if layer.providerType() != "gdal":
        return None
    source = layer.source()
    if _URL.match(source) or any(prefix in source for prefix in _NETWORK):  # what GDAL opens, unless "|"
        return None if "|" in source else f"/vsicurl/{source}" if _URL.match(source) else source
    registry = QgsProviderRegistry.instance()
    parts = registry.decodeUri("gdal", source)
    if parts.get("openOptions"):  # QGIS-only syntax the worker's GDAL would not understand
        return None
    path = parts.get("path") or ""
    quoted = _QUOTED_SUBDATASET.match(path)
    if quoted:
        file = os.path.abspath(quoted["file"])
        return f'{quoted["driver"]}:"{file}"{quoted["rest"]}' if os.path.isfile(file) else None
    if not os.path.isfile(path):
        return None
    parts["path"] = os.path.abspath(path)
    return registry.encodeUri("gdal", parts)


def plain_raster_file(layer: QgsRasterLayer) -> str | None:
    """The local file ``layer`` is, whole, for readers that take a path rather than a GDAL name (the
    paths of ``scd train``'s PAIRS.csv); None for a part of a file (a GeoPackage raster table, a
    subdataset) or no file at all, which are exported (:func:`export_raster`)."""
    name = dataset_name(layer)
    return name if name is not None and os.path.isfile(name) else None


def plain_vector_file(layer: QgsVectorLayer) -> str | None:
    """The local file ``layer`` is, whole, for readers that take a path and read its first layer (the
    polygon labels of ``scd train``'s PAIRS.csv); None for a layer that is not all of a file of one
    layer (filtered, one of a GeoPackage's layers) or no file, which are exported (:func:`write_vector`)."""
    if layer.providerType() != "ogr" or layer.subsetString() or layer.dataProvider().subLayerCount() > 1:
        return None
    path = QgsProviderRegistry.instance().decodeUri("ogr", layer.source()).get("path") or ""
    return os.path.abspath(path) if os.path.isfile(path) else None


def export_raster(
    layer: QgsRasterLayer,
    extent: QgsRectangle,
    path: str,
    context: QgsProcessingContext,
    feedback: QgsProcessingFeedback,
    area: str,
) -> str:
    """Write ``layer`` over ``extent`` (in the layer's CRS) to a GeoTIFF at ``path``, at its native
    resolution (the finest of a tiled service's levels). ``area`` names the extent in the messages
    (what the analyst sets to change it)."""
    pixel_x, pixel_y = _resolution(layer)
    area_there = extent.intersect(layer.extent()) if layer.extent().isFinite() else extent
    width, height = math.ceil(area_there.width() / pixel_x), math.ceil(area_there.height() / pixel_y)
    if width < 1 or height < 1:
        raise QgsProcessingException(f"The raster '{layer.name()}' does not overlap {area}.")
    if width * height > MAX_EXPORT_PIXELS:
        raise QgsProcessingException(
            f"Exporting '{layer.name()}' over {area} would make a {width} × {height} pixel image. Make {area} smaller."
        )
    feedback.pushInfo(
        f"Exporting '{layer.name()}' ({layer.providerType()}) to {width} × {height} pixels for the worker."
    )
    pipe = QgsRasterPipe()
    if not pipe.set(layer.dataProvider().clone()):
        raise QgsProcessingException(f"Cannot read the raster '{layer.name()}' for export.")
    writer_feedback = QgsRasterBlockFeedback()
    writer_feedback.progressChanged.connect(feedback.setProgress)
    feedback.canceled.connect(writer_feedback.cancel)
    error = QgsRasterFileWriter(path).writeRaster(
        pipe, width, height, area_there, layer.crs(), context.transformContext(), writer_feedback
    )
    feedback.canceled.disconnect(writer_feedback.cancel)
    if feedback.isCanceled():
        return path
    if error != QgsRasterFileWriter.NoError:
        raise QgsProcessingException(
            f"Exporting the raster '{layer.name()}' to {path} failed (QGIS error {int(error)})."
        )
    return path


def _resolution(layer: QgsRasterLayer) -> tuple[float, float]:
    provider = layer.dataProvider()
    if provider.capabilities() & QgsRasterDataProvider.Size:
        return layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()
    levels = [level for level in provider.nativeResolutions() if level > 0]
    if levels:
        return min(levels), min(levels)
    raise QgsProcessingException(
        f"The raster '{layer.name()}' ({layer.providerType()}) has no native resolution to export it at. "
        "Save it as a GeoTIFF at the resolution you want (right-click ▸ Export ▸ Save As…) and use that file."
    )


def extent_in(
    extent: QgsRectangle,
    crs: QgsCoordinateReferenceSystem,
    target: QgsCoordinateReferenceSystem,
    context: QgsProcessingContext,
) -> QgsRectangle:
    """``extent`` (in ``crs``) as a rectangle in ``target``."""
    if crs == target:
        return extent
    return QgsCoordinateTransform(crs, target, context.transformContext()).transformBoundingBox(extent)


def write_vector(source: QgsFeatureSource, path: str, layer_name: str, context: QgsProcessingContext) -> str:
    """Write a feature source's features (only the selected ones when the analyst asked so) to a
    GeoPackage of one layer, ``layer_name``."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer_name
    writer = QgsVectorFileWriter.create(
        path, source.fields(), source.wkbType(), source.sourceCrs(), context.transformContext(), options
    )
    if writer.hasError() != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"Cannot write the {layer_name} layer to {path}: {writer.errorMessage()}")
    for feature in source.getFeatures():
        writer.addFeature(feature)
    del writer
    return path
