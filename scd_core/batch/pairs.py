"""PAIRS.csv: the pairs of a batch, read and checked before any work."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from scd_core.errors import PairsFileError

REQUIRED_COLUMNS = ("id", "before", "after")


@dataclass(frozen=True)
class Pair:
    """One row of PAIRS.csv, paths resolved against the CSV's folder; the dates as GDAL's names (a URL
    keeps its ``//``)."""

    id: str
    before: str
    after: str
    aoi: Path | None
    mask_before: Path | None = None
    mask_after: Path | None = None


#: A cell GDAL reads as it is: a virtual file system (``/vsizip/``, ``/vsicurl/``...), a URL, or a
#: driver's prefixed name (``GPKG:file.gpkg:table``, ``NETCDF:"file.nc":var``).
_AS_GIVEN = re.compile(r"^(/vsi|[a-z][a-z0-9+.-]*://|[A-Z][A-Z0-9_]*:)")


def resolve(folder: Path, cell: str) -> str:
    """A PAIRS.csv cell as GDAL's name of the file: relative to the CSV's ``folder``, unless GDAL reads it
    as given (a URL keeps its ``//``, which a :class:`~pathlib.Path` would fold)."""
    return cell if _AS_GIVEN.match(cell) else str(folder / cell)


def _separator(header: str) -> str:
    """The header's separator: ``,`` or the ``;`` or tab that spreadsheets write in some locales."""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:  # a single column: the missing columns are reported below
        return ","


def read_rows(path: str | Path, usage: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows of a pairs file (with their line numbers) and its column names, lower-cased; ids
    checked to be unique folder names, and ``id``, ``before`` and ``after`` present (``usage`` names the
    header the command expects). Column names are matched whatever their case, and columns may be
    separated by ``;`` or tabs."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            separator = _separator(handle.readline())
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=separator)
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
            rows, columns = list(reader), reader.fieldnames
    except OSError as error:
        raise PairsFileError(f"cannot read the pairs file ({error.strerror})", path) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise PairsFileError(
            f"needs a header with columns {usage}; missing {', '.join(missing)} "
            f"(its header, split at {separator!r}: {', '.join(columns) or 'empty'})",
            path,
        )
    if not rows:
        raise PairsFileError("lists no pairs: it holds only its header", path)
    seen: set[str] = set()
    numbered = []
    for line, row in enumerate(rows, start=2):
        row = {key: (value or "").strip() for key, value in row.items() if key is not None}
        pair_id = row["id"]
        if not pair_id or pair_id in (".", "..") or "/" in pair_id or "\\" in pair_id:
            raise PairsFileError(f"line {line}: id {pair_id!r} cannot name a folder", path)
        if pair_id in seen:
            raise PairsFileError(f"line {line}: id {pair_id!r} appears twice", path)
        seen.add(pair_id)
        if not (row["before"] and row["after"]):
            raise PairsFileError(f"line {line}: pair {pair_id!r} needs a before and an after path", path)
        numbered.append((line, row))
    return numbered, list(columns)


def read_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a PAIRS.csv of ``scd batch``, paths resolved against its folder; the optional columns
    ``aoi``, ``mask_before`` and ``mask_after`` may be empty in a row."""
    path = Path(path)
    rows, _ = read_rows(path, "id,before,after[,aoi][,mask_before][,mask_after]")

    def optional(row: dict[str, str], column: str) -> Path | None:
        return Path(resolve(path.parent, cell)) if (cell := row.get(column)) else None

    return [
        Pair(
            row["id"],
            resolve(path.parent, row["before"]),
            resolve(path.parent, row["after"]),
            optional(row, "aoi"),
            optional(row, "mask_before"),
            optional(row, "mask_after"),
        )
        for _, row in rows
    ]
