"""The one checkpoint format, shared by training, ``scd detect`` and the QGIS plugin.

A checkpoint carries everything needed to run a model on a user's rasters, so a user never has to
know it: which model and hyper-parameters rebuild it, which classes it predicts and their colours,
which bands it reads, how pixel values are normalised and which tile size it was trained at.

``save(model, path, **metadata)`` accepts any model built by :func:`scd_core.models.build` (it
records ``scd_name`` and ``scd_hparams`` on the module). ``load(path)`` gives back
``(model, metadata)`` with the model in eval mode. The file is written atomically (a temporary file
in the same folder, then a rename: :mod:`scd_core.atomic`), so a crash never leaves half a checkpoint
behind. :class:`CheckpointMetadata` types the metadata.

Metadata (every key has a default except the model's own):

``model``, ``hparams``
    registry name and keyword arguments of ``build`` (taken from the module).
``classes``
    ``[{"index": 0, "name": "no change", "colour": [255, 255, 255]}, ...]``: index 0 is "no change",
    then the ``num_classes`` land-cover classes, 1 to 15 of them (their from-to codes must fit a byte).
    Default: SECOND's for six classes (:mod:`scd_core.legend`), else "class 1".."class N".
``bands``
    names of the input bands in order, matched against a raster's colour interpretation or band
    descriptions (default ``["red", "green", "blue"]`` for 3 channels).
``normalisation``
    ``{"value_range": [lo, hi], "mean": [...], "std": [...], "scale": "auto"}``: raw pixels are first
    brought into ``value_range`` (the range of the imagery the model was trained on; see
    :mod:`scd_core.normalise` for ``scale``), then ``(x - mean) / std`` per band. The default,
    ``value_range`` 0-255, mean 0 and std 255, feeds the model values in 0..1.
``tile_size``
    tile edge in pixels the model was trained at, a multiple of 32 (default 512).
``threshold``
    change-probability threshold τ of eq. (1) (default 0.5).
``gsd_m``
    ground sampling distance of the training imagery, in metres per pixel: a number, or ``[low, high]``
    for imagery of several resolutions (SECOND's 0.5-3 m). Optional: older checkpoints have none.
    ``scd detect`` warns when its input's pixels are far from it: a model knows objects at the size in
    pixels it saw them.
``task``
    what the model was trained to tell: ``"semantic"`` (the default, and what a checkpoint without the
    key is), change and the class of each date; or ``"change"``, change from no change alone, for a
    model trained on binary change labels, whose semantic heads never learnt. A change checkpoint has
    ``hparams["num_classes"] == 1`` and the classes ``"no change"`` and ``"change"``
    (:data:`scd_core.legend.CHANGE_CLASSES`, the default), so every consumer reads its one class as
    "change": ``scd detect`` writes a change / no change map and polygons without from-to fields, and
    ``scd score`` gives binary scores. Read it with :func:`task_of`, never as the raw key.

Any further keyword (epoch, metrics, dataset...) is stored as given; values must be plain Python
data (numbers, strings, lists, dicts) because checkpoints are loaded with ``weights_only=True``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import torch
from torch import nn

from scd_core.atomic import atomic_write
from scd_core.errors import CheckpointError
from scd_core.labels import CLASSES
from scd_core.legend import CHANGE_CLASSES, MAX_CLASSES, LandCover, land_covers, spread_colours
from scd_core.models import STRIDE

__all__ = [
    "FORMAT",
    "TASKS",
    "VERSION",
    "CheckpointError",
    "CheckpointMetadata",
    "ClassEntry",
    "Normalisation",
    "default_metadata",
    "land_cover_classes",
    "load",
    "save",
    "task_of",
    "validate_metadata",
]

FORMAT = "scd-checkpoint"
VERSION = 1
DEFAULT_BANDS = {1: ["gray"], 3: ["red", "green", "blue"], 4: ["red", "green", "blue", "nir"]}
#: What a model may have been trained to tell (metadata ``task``), the default first.
TASKS = ("semantic", "change")


class ClassEntry(TypedDict):
    """One class of ``classes``: index 0 is "no change", then 1..N."""

    index: int
    name: str
    colour: list[int]


class Normalisation(TypedDict):
    """How raw pixels become model inputs (:mod:`scd_core.normalise`)."""

    value_range: list[float]
    mean: list[float]
    std: list[float]
    scale: str | list[float]


class _OptionalMetadata(TypedDict, total=False):
    """The keys a checkpoint may lack (checkpoints from before them do)."""

    task: str  #: one of TASKS; read it with task_of


class CheckpointMetadata(_OptionalMetadata):
    """The metadata every checkpoint carries (see the module docstring); ``task`` is optional (read it
    with :func:`task_of`), and further keys (``gsd_m``, epoch, scores, training...) may follow, as
    plain data."""

    model: str
    hparams: dict[str, Any]
    classes: list[ClassEntry]
    bands: list[str]
    normalisation: Normalisation
    tile_size: int
    threshold: float


def task_of(metadata: CheckpointMetadata | dict[str, Any]) -> str:
    """What the checkpoint's model tells, one of :data:`TASKS`: ``"semantic"`` for a checkpoint from
    before the key, which all were."""
    return str(metadata.get("task", TASKS[0]))


def land_cover_classes(metadata: CheckpointMetadata) -> tuple[LandCover, ...]:
    """The checkpoint's classes as the legend draws them ("no change" first)."""
    classes = metadata["classes"]
    return land_covers([c["name"] for c in classes], [c["colour"] for c in classes])


def _default_classes(num_classes: int, task: str) -> list[ClassEntry]:
    """The classes of a change model, "no change" and "change"; SECOND's for a six-class model;
    otherwise "class 1".."class N" in spread colours."""
    if task == "change":
        return [{"index": c.index, "name": c.name, "colour": list(c.rgb)} for c in CHANGE_CLASSES]
    if num_classes == len(CLASSES) - 1:
        return [{"index": c.index, "name": c.name, "colour": list(c.rgb)} for c in CLASSES]
    no_change: ClassEntry = {"index": 0, "name": CLASSES[0].name, "colour": list(CLASSES[0].rgb)}
    others: list[ClassEntry] = [
        {"index": i, "name": f"class {i}", "colour": list(rgb)} for i, rgb in enumerate(spread_colours(num_classes), 1)
    ]
    return [no_change, *others]


def default_metadata(hparams: dict[str, Any], task: str = TASKS[0]) -> dict[str, Any]:
    """Metadata defaults for a model with these hyper-parameters (``in_channels``, ``num_classes``)
    trained for ``task``."""
    channels = int(hparams.get("in_channels", 3))
    return {
        "classes": _default_classes(int(hparams.get("num_classes", len(CLASSES) - 1)), task),
        "bands": DEFAULT_BANDS.get(channels, [f"band{i}" for i in range(1, channels + 1)]),
        "normalisation": {
            "value_range": [0.0, 255.0],
            "mean": [0.0] * channels,
            "std": [255.0] * channels,
            "scale": "auto",
        },
        "tile_size": 512,
        "threshold": 0.5,
    }


def validate_metadata(metadata: dict[str, Any], source: str | Path = "<metadata>") -> None:
    """Check that ``metadata`` describes its model consistently; :class:`CheckpointError` says what is not."""

    def fail(message: str) -> None:
        raise CheckpointError(message, source)

    hparams = metadata.get("hparams", {})
    channels, num_classes = int(hparams.get("in_channels", 3)), int(hparams.get("num_classes", 6))
    if len(metadata["bands"]) != channels:
        fail(f"{len(metadata['bands'])} band names for a model of {channels} input channels")
    norm = metadata["normalisation"]
    for key in ("mean", "std"):
        if len(norm[key]) != channels:
            fail(f"normalisation {key} has {len(norm[key])} values for {channels} input channels")
    if min(norm["std"]) <= 0:
        fail("normalisation std must be positive")
    low, high = norm["value_range"]
    if not low < high:
        fail(f"normalisation value_range {norm['value_range']} is empty")
    _check_task(metadata, num_classes, fail)
    if not 1 <= num_classes <= MAX_CLASSES:
        fail(f"a model of {num_classes} classes: scd maps 1 to {MAX_CLASSES} (their change codes must fit a byte)")
    if len(metadata["classes"]) != num_classes + 1:
        fail(f"{len(metadata['classes'])} classes listed for a model of {num_classes} classes plus 'no change'")
    if [c["index"] for c in metadata["classes"]] != list(range(num_classes + 1)):
        fail("classes must be listed by index 0 ('no change'), 1, 2, ...")
    tile = metadata["tile_size"]
    if not (isinstance(tile, int) and tile > 0 and tile % STRIDE == 0):
        fail(f"tile_size must be a positive multiple of {STRIDE}, got {tile!r}")
    if not 0 < float(metadata["threshold"]) < 1:
        fail(f"threshold must lie in (0, 1), got {metadata['threshold']!r}")
    if "gsd_m" in metadata and gsd_range(metadata["gsd_m"]) is None:
        fail(
            f"gsd_m (metres per pixel of the training imagery) must be a positive number or [low, high], "
            f"got {metadata['gsd_m']!r}"
        )


def _check_task(metadata: dict[str, Any], num_classes: int, fail: Callable[[str], None]) -> None:
    """A known ``task``; a change model of one class, listed as "no change" and "change"."""
    task = metadata.get("task", TASKS[0])
    if task not in TASKS:
        fail(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if task != "change":
        return
    if num_classes != 1:
        fail(
            f"a change-only checkpoint (task 'change') has hparams num_classes 1, its change head alone "
            f"trained; this model has {num_classes} classes"
        )
    names = [c.get("name") for c in metadata["classes"]]
    wanted = [c.name for c in CHANGE_CLASSES]
    if names != wanted:
        fail(f"a change-only checkpoint (task 'change') lists the classes {wanted}, got {names}")


def gsd_range(gsd: Any) -> tuple[float, float] | None:
    """Checkpoint metadata ``gsd_m`` as (low, high) metres per pixel; None when it is no such value."""
    values = list(gsd) if isinstance(gsd, list | tuple) else [gsd]
    if not 1 <= len(values) <= 2 or any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        return None
    low, high = min(values), max(values)
    return (float(low), float(high)) if low > 0 else None


def save(model: nn.Module, path: str | Path, **metadata: Any) -> Path:
    """Write ``model`` and its metadata to ``path`` atomically; returns the path.

    Raises:
        ValueError: the model was not built by :func:`scd_core.models.build`, or the metadata does not
            fit it (band count, normalisation length, classes, tile size).
    """
    name, hparams = getattr(model, "scd_name", None), getattr(model, "scd_hparams", None)
    if name is None or hparams is None:
        raise ValueError("only models built by scd_core.models.build can be saved (they know their name and hparams)")
    defaults = default_metadata(hparams, metadata.get("task", TASKS[0]))
    full = {**defaults, **metadata, "model": name, "hparams": dict(hparams)}
    try:
        validate_metadata(full)
    except CheckpointError as error:
        raise ValueError(str(error)) from None
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "metadata": full,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)
    return path


#: The first bytes of a file in PyTorch's zip format (a zip archive), and of one in its legacy format
#: (before PyTorch 1.6: its magic number, pickled with protocol 2).
_ZIP_HEAD = b"PK\x03\x04"
_LEGACY_HEAD = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
#: The first byte of a pickle of protocol 2 or later.
_PICKLE_HEAD = b"\x80"


def _unreadable(path: Path, error: Exception) -> str:
    """Why ``torch.load(path, weights_only=True)`` failed with ``error``, told by what the file is:
    torch's own messages are the same for a file that is no PyTorch file and one holding objects."""
    with path.open("rb") as handle:
        head = handle.read(len(_LEGACY_HEAD))
    if head.startswith(_ZIP_HEAD) or head == _LEGACY_HEAD:
        if isinstance(error, pickle.UnpicklingError):  # objects that are not plain data (a whole module...)
            return (
                "a PyTorch file holding Python objects, which scd never loads "
                "(save models with scd_core.checkpoint.save)"
            )
        if head == _LEGACY_HEAD:
            return "a PyTorch file PyTorch cannot read: damaged or truncated"
        return "a zip archive PyTorch cannot read: a damaged or truncated PyTorch file, or another kind of archive"
    if not head:
        return "the file is empty"
    if head.startswith(_PICKLE_HEAD):
        return "a Python pickle, not a PyTorch file (save models with scd_core.checkpoint.save)"
    return "not a PyTorch file at all (neither PyTorch's zip format nor its older pickle format)"


def read(path: str | Path) -> tuple[dict[str, torch.Tensor], CheckpointMetadata]:
    """The weights and the checked metadata of the checkpoint at ``path``, the model not built: the one
    reader of the format, for :func:`load` and for training's ``init_from``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found", path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types; what the file is says which problem it is
        raise CheckpointError(f"not an scd checkpoint: {_unreadable(path, error)}", path) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("not an scd checkpoint (save it with scd_core.checkpoint.save)", path)
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(
            f"checkpoint format version {payload['version']} is newer than this scd ({VERSION})", path
        )
    metadata = payload["metadata"]
    validate_metadata(metadata, path)
    return payload["state_dict"], metadata


def load(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, CheckpointMetadata]:
    """Rebuild the model saved at ``path`` (weights loaded, eval mode, on ``device``) and its metadata."""
    from scd_core.models import build

    state, metadata = read(path)
    try:
        model = build(metadata["model"], **dict(metadata["hparams"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"cannot rebuild model {metadata['model']!r}: {error}", path) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"weights do not fit model {metadata['model']!r}: {error}", path) from None
    return model.to(device).eval(), metadata
