"""The worker protocol's events: one typed definition and one builder each, and the one parser.

``scd detect``, ``scd batch``, ``scd series`` and ``scd train`` tell what happens as
events, written one JSON object a line on stdout under ``--progress json``
(:mod:`scd_core.geo.progress`). Every emitter builds its events with the builders below, and the
QGIS plugin parses each line with :func:`parse`, so both sides read the same definitions (the plugin
reads this very file: ``qgis_scd_plugin/shared.py``).

The ``start`` event carries :data:`PROTOCOL`, ``MAJOR.MINOR``: a minor version only adds events or
keys, which readers ignore; another major version changes what is there, and the plugin refuses
such a backend (:func:`protocol_problem`).

Stdlib only, and Python 3.9 (QGIS's Python on Windows and macOS), like :mod:`scd_core.legend`.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict, Union

#: The protocol's version, ``MAJOR.MINOR``: 2 is the first with typed events and this key.
PROTOCOL = "2.2"


class Start(TypedDict):
    """Once, after the inputs are validated and before the first tile: the output grid (BEFORE's
    clipped to both footprints and the AOI) and the tiles to compute."""

    event: Literal["start"]
    protocol: str
    total: int
    out_dir: str
    width: int
    height: int
    crs: str


class Progress(TypedDict):
    """Tiles computed so far; ``done`` only grows and ends at ``total``."""

    event: Literal["progress"]
    done: int
    total: int


class Message(TypedDict):
    """Something the user should know (``message``) or that may make the result wrong or surprising
    (``warning``)."""

    event: Literal["message", "warning"]
    text: str


class Counts(TypedDict):
    """What a detection run made, as run.json and the ``done`` event give it: polygons and the
    regions they came from, pixels by kind, areas in hectares, tiles computed, and the pixels of each
    change type present, by name."""

    features: int
    regions: int
    changed_pixels: int
    unchanged_pixels: int
    nodata_pixels: int
    changed_area_ha: float
    polygon_area_ha: float
    tiles: int
    pixels_by_change_type: dict[str, int]


class Done(TypedDict):
    """Last event of a successful run: the outputs' paths by name, and the run's counts."""

    event: Literal["done"]
    outputs: dict[str, str]
    counts: Counts


class Error(TypedDict):
    """Last event of a failed or stopped run: ``path`` names the file at fault of bad input (exit 2);
    ``cancelled`` says the run was stopped by SIGINT or SIGTERM (exit 130 or 143)."""

    event: Literal["error"]
    text: str
    path: str | None
    cancelled: bool


class Pair(TypedDict):
    """``scd batch``: what became of one pair (``status``: done, skipped or failed)."""

    event: Literal["pair"]
    id: str
    status: str
    seconds: float
    features: int | None
    message: str


class Batch(TypedDict):
    """``scd batch``'s last event: how many pairs were done, skipped and failed."""

    event: Literal["batch"]
    done: int
    skipped: int
    failed: int


class Epoch(TypedDict):
    """Training: one epoch finished, its mean loss and its validation scores (by convention, in %)."""

    event: Literal["epoch"]
    epoch: int
    epochs: int
    loss: float
    scores: dict[str, Any]


class Trained(TypedDict):
    """``scd train``'s last event: the checkpoint ``scd detect`` runs, the run folder, the epochs trained
    and the last epoch's validation scores (protocol 2.1)."""

    event: Literal["trained"]
    model: str
    run_dir: str
    epochs: int
    scores: dict[str, Any]


class Series(TypedDict):
    """``scd series``'s last event when every pair is done: the series' products by name, and its
    periods in date order (``code`` in first_change.tif and last_change.tif, ``label``, ``folder``)
    (protocol 2.2)."""

    event: Literal["series"]
    outputs: dict[str, str]
    periods: list[dict[str, Any]]


Event = Union[Start, Progress, Message, Done, Error, Pair, Batch, Epoch, Trained, Series]

#: Each event's keys and the JSON types of their values, as :func:`parse` checks them (an added key,
#: such as ``scd batch``'s ``pair`` on a pair's detect events, is kept and not checked).
_NUMBER, _TEXT, _OBJECT = (int, float), (str,), (dict,)
_OPTIONAL_TEXT, _OPTIONAL_INT = (str, type(None)), (int, type(None))
KEYS: dict[str, dict[str, tuple]] = {
    "start": {"protocol": _TEXT, "total": (int,), "out_dir": _TEXT, "width": (int,), "height": (int,), "crs": _TEXT},
    "progress": {"done": (int,), "total": (int,)},
    "message": {"text": _TEXT},
    "warning": {"text": _TEXT},
    "done": {"outputs": _OBJECT, "counts": _OBJECT},
    "error": {"text": _TEXT, "path": _OPTIONAL_TEXT, "cancelled": (bool,)},
    "pair": {"id": _TEXT, "status": _TEXT, "seconds": _NUMBER, "features": _OPTIONAL_INT, "message": _TEXT},
    "batch": {"done": (int,), "skipped": (int,), "failed": (int,)},
    "epoch": {"epoch": (int,), "epochs": (int,), "loss": _NUMBER, "scores": _OBJECT},
    "trained": {"model": _TEXT, "run_dir": _TEXT, "epochs": (int,), "scores": _OBJECT},
    "series": {"outputs": _OBJECT, "periods": (list,)},
}


def start(total: int, out_dir: str, width: int, height: int, crs: str) -> Start:
    """The ``start`` event, with this protocol's version."""
    return {
        "event": "start",
        "protocol": PROTOCOL,
        "total": total,
        "out_dir": out_dir,
        "width": width,
        "height": height,
        "crs": crs,
    }


def progress(done: int, total: int) -> Progress:
    """A ``progress`` event."""
    return {"event": "progress", "done": done, "total": total}


def message(text: str) -> Message:
    """A ``message`` event."""
    return {"event": "message", "text": text}


def warning(text: str) -> Message:
    """A ``warning`` event."""
    return {"event": "warning", "text": text}


def done(outputs: dict[str, str], counts: Counts) -> Done:
    """The ``done`` event."""
    return {"event": "done", "outputs": outputs, "counts": counts}


def error(text: str, path: str | None = None, cancelled: bool = False) -> Error:
    """The ``error`` event."""
    return {"event": "error", "text": text, "path": path, "cancelled": cancelled}


def pair(id: str, status: str, seconds: float, features: int | None, message: str) -> Pair:
    """A ``pair`` event."""
    return {"event": "pair", "id": id, "status": status, "seconds": seconds, "features": features, "message": message}


def batch(done: int, skipped: int, failed: int) -> Batch:
    """The ``batch`` event."""
    return {"event": "batch", "done": done, "skipped": skipped, "failed": failed}


def epoch(number: int, epochs: int, loss: float, scores: dict[str, Any]) -> Epoch:
    """An ``epoch`` event."""
    return {"event": "epoch", "epoch": number, "epochs": epochs, "loss": loss, "scores": scores}


def trained(model: str, run_dir: str, epochs: int, scores: dict[str, Any]) -> Trained:
    """The ``trained`` event."""
    return {"event": "trained", "model": model, "run_dir": run_dir, "epochs": epochs, "scores": scores}


def series(outputs: dict[str, str], periods: list[dict[str, Any]]) -> Series:
    """The ``series`` event."""
    return {"event": "series", "outputs": outputs, "periods": periods}


class ProtocolError(ValueError):
    """A line that claims to be an event (a JSON object with an ``event`` key) but breaks its
    definition: a backend that speaks another protocol."""


def parse(line: str) -> Event | None:
    """The event on one line of the worker's stdout; None for a line that is no event (a library's
    print). Raises :class:`ProtocolError` for a ``start`` event of another major version, and for an
    event of a known kind that lacks a key or holds a value of the wrong type; an event of an unknown
    kind (a newer minor version's) is returned as it is, for the reader to ignore."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        return None
    if value["event"] == "start" and (problem := protocol_problem(value)):  # type: ignore[arg-type]
        raise ProtocolError(problem)
    for key, types in KEYS.get(value["event"], {}).items():
        if key not in value:
            raise ProtocolError(f"a {value['event']!r} event without {key!r}: {line.strip()}")
        wrong = isinstance(value[key], bool) and bool not in types
        if wrong or not isinstance(value[key], types):
            raise ProtocolError(f"a {value['event']!r} event whose {key!r} is {value[key]!r}: {line.strip()}")
    return value  # type: ignore[return-value]  # checked against KEYS, the definitions above


def protocol_problem(event: Start) -> str | None:
    """Why a reader of this protocol cannot follow a backend whose ``start`` event is ``event``, or None."""
    theirs = str(event.get("protocol", "1.0")).split(".")[0]
    ours = PROTOCOL.split(".")[0]
    if theirs == ours:
        return None
    newer = "newer" if theirs.isdigit() and int(theirs) > int(ours) else "older"
    return f"The backend speaks protocol {event.get('protocol', '1.0')}, {newer} than this plugin's {PROTOCOL}"
