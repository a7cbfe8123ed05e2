"""The class table of a run: the land-cover classes its labels name, with colours, "no change" first.

Where it comes from, in order:

1. ``--classes FILE.yaml``: a list of classes in code order (code 1 first), each a name or
   ``{name: ..., colour: [r, g, b]}``; colours left out are spread evenly;
2. the first class raster's own table (``label1``/``fromto`` forms): its category names (GDAL keeps
   them in the raster's ``.aux.xml``, which rasterio does not read, so it is read here) and its colour
   table, codes 1..N;
3. for labels that are only binary (``change`` rasters, change polygons): "no change" and "change",
   and the run trains a change-only model (``task: change``).

Class rasters that name no category, without ``--classes``, get "class 1".."class N" (N their largest
code). Vector labels name their classes by code (1..N) or by name; either must be in the table.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rasterio
import yaml

from scd_core.errors import InvalidOptionError, ScdInputError
from scd_core.labels import LabelSet
from scd_core.legend import CHANGE_CLASSES, MAX_CLASSES, NO_CHANGE_NAME, land_covers, spread_colours

#: The class table of change-only labels.
CHANGE_TABLE = LabelSet("change", CHANGE_CLASSES)
WHITE = (255, 255, 255)


def table(name: str, names: Sequence[str], colours: Sequence[Sequence[int] | None], source: str | Path) -> LabelSet:
    """A label set of ``names`` (codes 1..N) with ``colours`` (None: spread evenly)."""
    if not 1 <= len(names) <= MAX_CLASSES:
        raise ScdInputError(f"{len(names)} classes: scd maps 1 to {MAX_CLASSES}", source)
    if len(set(names)) != len(names) or NO_CHANGE_NAME in names:
        raise ScdInputError(f"class names must be distinct and not {NO_CHANGE_NAME!r}: {list(names)}", source)
    spread = spread_colours(len(names))
    filled = [tuple(c) if c is not None else spread[i] for i, c in enumerate(colours)]
    return LabelSet(name, land_covers([NO_CHANGE_NAME, *names], [WHITE, *filled]))


def from_yaml(path: str | Path) -> LabelSet:
    """The table of a ``--classes`` file (see the module docstring)."""
    path = Path(path)
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidOptionError(f"--classes: cannot read the file ({error.strerror})", path) from None
    except yaml.YAMLError as error:
        raise InvalidOptionError(f"--classes: not valid YAML ({error})", path) from None
    if isinstance(entries, dict) and "classes" in entries:
        entries = entries["classes"]
    if not isinstance(entries, list) or not entries:
        raise InvalidOptionError("--classes: give a list of classes, code 1 first (names, or {name:, colour:})", path)
    names: list[str] = []
    colours: list[Any] = []
    for entry in entries:
        entry = {"name": entry} if isinstance(entry, str) else entry
        colour = entry.get("colour", entry.get("color")) if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InvalidOptionError(f"--classes: each class is a name or {{name:, colour:}}, got {entry!r}", path)
        if colour is not None and not (len(colour) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in colour)):
            raise InvalidOptionError(f"--classes: class {entry['name']!r} has colour {colour!r}, not [r, g, b]", path)
        names.append(entry["name"])
        colours.append(colour)
    return table(path.stem, names, colours, path)


def category_names(path: str | Path) -> list[str]:
    """Band 1's category names (index = value) from the raster's ``.aux.xml``, where GDAL keeps them."""
    aux = Path(f"{path}.aux.xml")
    if not aux.is_file():
        return []
    try:
        root = ElementTree.parse(aux).getroot()
    except ElementTree.ParseError:
        return []
    band = root.find("PAMRasterBand[@band='1']")
    categories = band.find("CategoryNames") if band is not None else None
    return [(c.text or "").strip() for c in categories.findall("Category")] if categories is not None else []


def from_raster(path: str | Path) -> LabelSet | None:
    """The table a class raster carries: the category names of codes 1..N (and its colour table's
    colours for them); None when it names no category."""
    names = category_names(path)[1:]
    while names and not names[-1]:
        names.pop()
    if not names:
        return None
    if not all(names):
        raise ScdInputError(f"names categories {names} with gaps: codes 1..N all need a name", path)
    with rasterio.open(path) as dataset:
        try:
            colormap = dataset.colormap(1)
        except ValueError:  # no colour table
            colormap = {}
    colours = [tuple(colormap[i][:3]) if i in colormap else None for i in range(1, len(names) + 1)]
    return table(Path(path).stem, names, colours, path)


def numbered(count: int) -> LabelSet:
    """ "class 1".."class N": the table of class rasters that name no class."""
    return table("classes", [f"class {i}" for i in range(1, count + 1)], [None] * count, "labels")
