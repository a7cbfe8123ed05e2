"""The worker's results written to the algorithm's destinations, in any format QGIS writes, described.

The polygons and the change matrix go through Processing's feature sinks, so a destination is
written the way every Processing algorithm writes it: a GeoPackage, a FlatGeobuf or a GeoJSON file,
an ``ogr:`` table of a database, a PostGIS table or a temporary layer. Formats that cannot hold the
outputs faithfully are refused before the run (:func:`destination_problem`). Rasters are GeoTIFFs,
copied from the worker's.

What run.json says about the run (the model, the threshold, the inputs) becomes each output's layer
metadata (:func:`run_metadata`), so an analyst finds in Layer Properties ▸ Metadata how a result was
made.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsLayerMetadata,
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsProperty,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QUrl, QVariant

from .styling import apply_style, save_vector_style, write_raster_style

#: The GeoPackage layer the worker writes the from-to polygons to (the worker protocol's contract).
CHANGES_LAYER = "changes"
#: File formats of the outputs: the provider offers these, and refuses others before the run.
VECTOR_EXTENSIONS = ["gpkg", "fgb", "geojson", "sqlite"]
TABLE_EXTENSIONS = ["gpkg", "csv", "xlsx", "ods", "sqlite"]
RASTER_EXTENSIONS = ["tif", "tiff"]
#: Why a format is refused, where that is not obvious.
_REFUSED_BECAUSE = {
    "shp": "“.shp” files cannot hold this output: Shapefiles cut field names to 10 characters "
    "(change_type would become change_typ), which breaks the from → to style and the fields the engine documents",
}


def destination_problem(destination: str, supported: list[str], label: str) -> str | None:
    """Why a destination cannot hold its output, in the dialog's words, with the formats to choose
    instead; None when it can (a supported file format, or no file: a temporary layer, a database)."""
    file = destination_file(destination)
    extension = os.path.splitext(file)[1].lstrip(".").lower() if file else ""
    if not extension or extension in supported:
        return None
    why = _REFUSED_BECAUSE.get(extension, f"“.{extension}” files cannot hold this output")
    return f"{label}: {why}. Save it as {', '.join('.' + choice for choice in supported)} instead."


#: A destination of a provider other than a file: ``memory:``, ``postgres:…``, ``spatialite:…``
#: (two letters at least, so that a Windows drive, ``C:``, is a file).
_PROVIDER_DESTINATION = re.compile(r"^[A-Za-z][A-Za-z0-9_]+:")


def destination_file(destination: str) -> str | None:
    """The file a destination writes (``x.gpkg``, ``x.gpkg|layername=t``, ``ogr:dbname='x.gpkg' table=…``);
    None for one that is no file (a temporary layer, a database table)."""
    destination = destination.split("|", 1)[0].strip()
    if destination.startswith("ogr:"):
        match = re.search(r"dbname=(?:'([^']*)'|\"([^\"]*)\"|(\S+))", destination)
        return next((group for group in match.groups() if group), None) if match else None
    if not destination or destination == "TEMPORARY_OUTPUT" or _PROVIDER_DESTINATION.match(destination):
        return None
    return destination


def destination_text(value: Any, context: QgsProcessingContext) -> str:
    """A destination parameter's value as text (``TEMPORARY_OUTPUT``, a file, a database table), read
    without registering anything: ``parameterAsOutputLayer`` registers the destination as a layer to
    load, and a sink's ``memory:…`` or a second temporary raster name that no output has is then
    reported as "not correctly generated"."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink
    if isinstance(value, QgsProperty):
        value = value.valueAsString(context.expressionContext())[0]
    return "" if value is None else str(value)


def make_destination_folder(destination: str) -> None:
    """Create the folder of a file destination, as an analyst who types ``results/changes.gpkg`` expects."""
    file = destination_file(destination)
    if file:
        os.makedirs(os.path.dirname(os.path.abspath(file)), exist_ok=True)


def keep_file(work_file: str, destination: str) -> None:
    """Move a file the engine finished in the algorithm's temporary folder to ``destination``, replacing
    an earlier one: only a run that ended well leaves an output."""
    make_destination_folder(destination)
    shutil.move(work_file, destination)


def csv_table(path: str, name: str) -> QgsVectorLayer:
    """A CSV file as a table whose numbers are numbers: QGIS's delimited-text reader tells them from
    text, where OGR's reads every column as text (and sorts 10 before 9)."""
    uri = f"{QUrl.fromLocalFile(path).toString()}?delimiter=,&detectTypes=yes&geomType=none"
    table = QgsVectorLayer(uri, name, "delimitedtext")
    if not table.isValid():
        raise QgsProcessingException(f"The table {path} cannot be opened once written.")
    return table


def load_on_completion(context: QgsProcessingContext, layer: QgsMapLayer, output: str) -> None:
    """Have Processing add ``layer``, as it is (named, styled), to the project once the run is over, as
    the algorithm's ``output``; a run without a project (``qgis_process``) loads nothing."""
    if context.project() is None:
        return
    context.temporaryLayerStore().addMapLayer(layer)
    details = QgsProcessingContext.LayerDetails(layer.name(), context.project(), output)
    context.addLayerToLoadOnCompletion(layer.id(), details)


def worker_changes(geopackage: str) -> QgsVectorLayer:
    """The worker's from-to polygons."""
    layer = QgsVectorLayer(f"{geopackage}|layername={CHANGES_LAYER}", CHANGES_LAYER, "ogr")
    if not layer.isValid():
        raise QgsProcessingException(f"The worker's polygons in {geopackage} cannot be opened.")
    return layer


def attribute_fields(layer: QgsVectorLayer) -> tuple[QgsFields, list[int]]:
    """The fields to write and their indexes in ``layer``: all but the source's feature id column
    (a GeoPackage's ``fid``), which each destination makes its own."""
    keys = set(layer.dataProvider().pkAttributeIndexes())
    fields, indexes = QgsFields(), []
    for index, field in enumerate(layer.fields()):
        if index not in keys:
            fields.append(field)
            indexes.append(index)
    return fields, indexes


def copy_features(
    layer: QgsVectorLayer, indexes: list[int], sink: QgsFeatureSink, feedback: QgsProcessingFeedback
) -> int:
    """Write ``layer``'s features (the attributes at ``indexes``) into ``sink``; how many were written."""
    written = 0
    for feature in layer.getFeatures():
        if feedback.isCanceled():
            raise QgsProcessingException("Cancelled; the output is incomplete.")
        copy = QgsFeature()
        copy.setGeometry(feature.geometry())
        copy.setAttributes([feature.attributes()[index] for index in indexes])
        if not sink.addFeature(copy, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(f"Cannot write the change polygons: {sink.lastError()}")
        written += 1
    return written


#: What a raster output's metadata says of MIN_AREA, which the engine applies to the polygons alone.
RASTER_KEEPS_SMALL_PATCHES = (
    "Minimum area drops small change polygons, and their hectares from the change matrix, only: this raster "
    "keeps those patches (the minimum mapping unit applies to every output)."
)


def read_matrix(summary_csv: str) -> tuple[QgsFields, list[QgsFeature]]:
    """The worker's summary.csv as a table: a text field named as the file's first column, ``from \\ to
    (ha)``, naming each row (the classes of BEFORE, then ``total``) and one field per column, in hectares
    (the matrix, its totals, then each class's gains and losses)."""
    with open(summary_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise QgsProcessingException(f"The worker's change matrix {summary_csv} is empty.")
    header, body = rows[0], rows[1:]
    fields = QgsFields()
    fields.append(QgsField(header[0], QVariant.String))
    # an empty cell is NULL: a class's persistence, which the maps do not tell (scd_core.accounting.components)
    numeric = [all(_is_number(row[column]) for row in body if row[column]) for column in range(1, len(header))]
    for name, is_number in zip(header[1:], numeric):
        fields.append(QgsField(name, QVariant.Double if is_number else QVariant.String))
    features = []
    for row in body:
        feature = QgsFeature(fields)
        values = [
            (float(value) if value else None) if is_number else value for value, is_number in zip(row[1:], numeric)
        ]
        feature.setAttributes([row[0], *values])
        features.append(feature)
    return fields, features


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_run(run_json: str) -> dict[str, Any]:
    with open(run_json, encoding="utf-8") as handle:
        return dict(json.load(handle))


def ran_on(run: dict[str, Any]) -> str:
    """The device and runtime that ran the model, as run.json records them, for the log."""
    options = run.get("options") or {}
    providers = ", ".join(options.get("providers") or [])
    return (
        f"The model ran on {options.get('device', '?')} in {options.get('runtime', '?')}"
        + (f" ({providers})" if providers else "")
        + (" with mixed precision." if options.get("amp") else ".")
    )


def run_metadata(run: dict[str, Any], title: str, what: str) -> QgsLayerMetadata:
    """Layer metadata saying how an output was made: ``what`` it is, then the model, the threshold,
    the inputs and the area from run.json, in words (the abstract) and as run.json's own JSON (the
    history), so that nothing is lost in the telling."""
    metadata = QgsLayerMetadata()
    metadata.setTitle(title)
    metadata.setType("dataset")
    metadata.setAbstract("\n".join([what, *_run_lines(run)]))
    metadata.setKeywords({"scd": ["semantic change detection", "land-cover change"]})
    record = {key: run.get(key) for key in ("software", "model", "options", "inputs")}
    metadata.setHistory([f"scd detect run.json: {json.dumps(record, ensure_ascii=False, sort_keys=True)}"])
    return metadata


def _run_lines(run: dict[str, Any]) -> Iterator[str]:
    model, options, inputs = run.get("model") or {}, run.get("options") or {}, run.get("inputs") or {}
    software = run.get("software") or {}
    yield (
        f"Model: {model.get('name', '?')}, checkpoint {model.get('checkpoint', '?')} "
        f"(sha256 {model.get('sha256', '?')}), run by scd {software.get('scd', '?')}."
    )
    yield f"Change threshold: {options.get('threshold')}. Minimum area: {options.get('min_area_m2')} m²."
    for role in ("before", "after"):
        image = inputs.get(role) or {}
        bands = ", ".join(str(band) for band in image.get("bands_used") or []) or "?"
        yield f"{role.capitalize()}: {image.get('path', '?')} (bands {bands}; sha256 {image.get('sha256', '?')})."
    if inputs.get("aoi"):
        yield f"Area of interest: {inputs['aoi'] if isinstance(inputs['aoi'], str) else json.dumps(inputs['aoi'])}."
    if inputs.get("bbox"):
        yield f"Extent: {inputs['bbox']}."


def describe_vector_output(
    destination: str,
    context: QgsProcessingContext,
    feedback: QgsProcessingFeedback,
    metadata: QgsLayerMetadata,
    style: Path | None,
) -> None:
    """Give a finished vector output its metadata and style, saved with it (a temporary layer keeps
    them in memory). Where the format cannot keep them (some databases), the output stays as written
    and the log says so."""
    layer = QgsProcessingUtils.mapLayerFromString(destination, context)
    if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
        raise QgsProcessingException(f"The output {destination} cannot be opened once written.")
    metadata.setCrs(layer.crs())
    layer.setMetadata(metadata)  # the layer Processing puts on the map, from the context's layer store
    if layer.providerType() == "memory":
        if style is not None:
            apply_style(layer, style)
        return
    saved = QgsVectorLayer(_layer_uri(layer), layer.name(), layer.providerType())
    saved.setMetadata(metadata)
    try:
        if style is not None:
            save_vector_style(saved, style)
        _save_metadata(saved)
    except QgsProcessingException as error:
        feedback.pushWarning(f"{destination} is written, but without its style or metadata: {error}")


def _layer_uri(layer: QgsVectorLayer) -> str:
    """``layer``'s source naming its table: a GeoPackage written by Processing is named by its file
    alone, and QGIS saves metadata only into a named layer."""
    registry = QgsProviderRegistry.instance()
    if layer.providerType() == "ogr" and not registry.decodeUri("ogr", layer.source()).get("layerName"):
        sublayers = registry.querySublayers(layer.source())
        if len(sublayers) == 1:
            return sublayers[0].uri()
    return layer.source()


def copy_raster(source: str, destination: str, style: Path, metadata: QgsLayerMetadata) -> None:
    """Copy a worker raster (a GeoTIFF) to ``destination``, with its style and metadata beside it."""
    make_destination_folder(destination)
    shutil.copyfile(source, destination)
    write_raster_style(destination, style)
    layer = QgsRasterLayer(destination, Path(destination).stem)
    metadata.setCrs(layer.crs())
    layer.setMetadata(metadata)
    _save_metadata(layer)


def _save_metadata(layer: QgsMapLayer) -> None:
    """Save ``layer``'s metadata as its default: in a GeoPackage itself, else as a ``.qmd`` beside the file."""
    message, saved = layer.saveDefaultMetadata()
    if not saved:
        raise QgsProcessingException(f"cannot save the metadata of {layer.source()}: {message}")
