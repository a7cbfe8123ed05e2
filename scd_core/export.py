"""ONNX files of scd models: the CPU runtime's graphs, and single-file deployment.

:func:`export_onnx` writes a checkpoint's model as one self-contained ONNX file (the legacy
TorchScript exporter, ``dynamo=False``: the newer exporter writes the weights to a separate data
file). The graph takes two inputs, ``before`` and ``after`` (B×C×H×W float32, already normalised as
the checkpoint says), with a dynamic batch and a dynamic height and width (multiples of 32), and
keeps the model's three outputs, ``sem1``, ``sem2`` and ``change`` (logits). The checkpoint's
metadata travels in the file's ``metadata_props``, every key prefixed ``scd_`` and JSON-encoded, so
that :func:`onnx_metadata` gives back exactly what :func:`scd_core.checkpoint.load` would.

:func:`check_export` runs ``onnx.checker`` and compares ONNX Runtime with torch on a random batch;
the largest difference is what ``scd export`` prints.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from scd_core.atomic import atomic_write
from scd_core.checkpoint import CheckpointMetadata, validate_metadata
from scd_core.errors import CheckpointError, InvalidOptionError, UnwritableOutputError
from scd_core.models import STRIDE
from scd_core.version import __version__
from scd_core.vocabulary import OPTIONS

if TYPE_CHECKING:  # onnx is imported by the functions that need it
    import onnx

#: ``metadata_props`` key that marks an scd graph, and its format version.
FORMAT_KEY, FORMAT = "scd_format", "scd-onnx-1"
#: ``metadata_props`` key of the graph's arithmetic: "int8" for a quantised graph
#: (:mod:`scd_core.geo.precision`); absent, fp32.
PRECISION_KEY = "scd_precision"
#: The opset written by default: every operator of the six model families exports to it.
DEFAULT_OPSET = 17
#: The opsets the exporter writes (:mod:`scd_core.vocabulary`'s ``--opset``), and the first of the
#: models that need a later one than its minimum: CdSC's scaled dot-product attention needs 14.
MIN_OPSET, MAX_OPSET = int(OPTIONS["opset"].minimum or 0), int(OPTIONS["opset"].maximum or 0)
MIN_OPSETS = {"cdsc": 14}
INPUTS, OUTPUTS = ("before", "after"), ("sem1", "sem2", "change")
_PREFIX = "scd_"


class _ThreeOutputs(nn.Module):
    """The model with exactly the three outputs of the contract, in order (HRSCD.str2 has a fourth)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outputs = self.model(before, after)
        return outputs["sem1"], outputs["sem2"], outputs["change"]


def metadata_props(meta: CheckpointMetadata) -> dict[str, str]:
    """The checkpoint's metadata as ONNX ``metadata_props`` (JSON values, ``scd_``-prefixed keys)."""
    props = {f"{_PREFIX}{key}": json.dumps(value) for key, value in meta.items()}
    return {**props, FORMAT_KEY: FORMAT, f"{_PREFIX}version": json.dumps(__version__)}


def check_opset(model: str, opset: int) -> None:
    """Refuse, before the export, an opset the graph of ``model`` (its registry name) cannot be
    written in."""
    first = MIN_OPSETS.get(model, MIN_OPSET)
    if opset < first:
        raise InvalidOptionError(f"--opset {opset}: model {model} needs opset {first} or later")
    if opset > MAX_OPSET:
        raise InvalidOptionError(f"--opset {opset}: the newest opset the exporter writes is {MAX_OPSET}")


def probe_folder(folder: Path) -> None:
    """Create and delete a file in ``folder``, as the export's scratch and atomic files are created
    there: ``OSError`` where that fails (a read-only file system, ``/proc``, no permission), which
    ``os.access`` does not always tell (root passes it, network file systems lie)."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".scd-probe-"):
        pass


def check_destination(path: str | Path) -> None:
    """Refuse, before the export, an ONNX file that could not be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise UnwritableOutputError("is a folder; name the ONNX file to write", path)
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UnwritableOutputError(f"its folder {folder} does not exist", path)
    try:
        probe_folder(folder)
    except OSError as error:
        raise UnwritableOutputError(f"cannot write in {folder} ({error.strerror})", path) from None


def _save(graph: onnx.ModelProto, path: Path) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(graph.SerializeToString())


def _traced(module: nn.Module, example: tuple[torch.Tensor, ...], path: Path, **options: Any) -> onnx.ModelProto:
    """``module`` traced by torch's TorchScript-based exporter into an ONNX graph (``onnx.ModelProto``),
    through a scratch file beside ``path`` named for this call, so that two runs exporting to one
    place at once do not write the same file.

    The TorchScript exporter is the one that needs nothing but torch (the newer one needs
    onnxscript, which scd does not depend on); its deprecation warning is expected, so it is silenced.
    """
    import onnx

    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}.export")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "You are using the legacy TorchScript-based ONNX export", DeprecationWarning
            )
            torch.onnx.export(module, example, str(scratch), dynamo=False, **options)
        return onnx.load(str(scratch))
    finally:
        scratch.unlink(missing_ok=True)


def export_onnx(model: nn.Module, meta: CheckpointMetadata, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``model`` (with the checkpoint metadata ``meta``) to ``path`` as one ONNX file."""

    path = Path(path)
    channels, tile = len(meta["bands"]), min(meta["tile_size"], 2 * STRIDE)
    example = (torch.zeros(1, channels, tile, tile), torch.zeros(1, channels, tile, tile))
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in (*INPUTS, *OUTPUTS)}
    graph = _traced(
        _ThreeOutputs(model).eval(),  # eval on the wrapper: the exporter restores the wrapper's mode
        example,
        path,
        input_names=list(INPUTS),
        output_names=list(OUTPUTS),
        dynamic_axes=dynamic,
        opset_version=opset,
    )
    for key, value in metadata_props(meta).items():
        graph.metadata_props.add(key=key, value=value)
    _save(graph, path)
    return path


def onnx_metadata(path: str | Path) -> CheckpointMetadata:
    """The checkpoint metadata an scd ONNX file carries; :class:`CheckpointError` if it is not one."""
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception:  # onnx raises DecodeError and friends for foreign bytes
        raise CheckpointError("not an ONNX file", path) from None
    props = {p.key: p.value for p in graph.metadata_props}
    if props.get(FORMAT_KEY) != FORMAT:
        raise CheckpointError("an ONNX file, but not an scd model (export one with scd export)", path)
    meta = {
        key[len(_PREFIX) :]: json.loads(value)
        for key, value in props.items()
        if key.startswith(_PREFIX) and key != FORMAT_KEY
    }
    meta.pop("version", None)
    meta.pop("precision", None)  # the graph's, not the checkpoint's: onnx_precision
    validate_metadata(meta, path)
    return meta  # type: ignore[return-value]


def onnx_precision(path: str | Path) -> str:
    """The arithmetic of the scd ONNX file at ``path``: "fp32", or "int8" for a quantised graph."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False)
    return next((json.loads(p.value) for p in graph.metadata_props if p.key == PRECISION_KEY), "fp32")


def check_export(model: nn.Module, path: str | Path, meta: CheckpointMetadata, size: int = 96) -> float:
    """``onnx.checker`` on the file, then the largest difference between ONNX Runtime's and torch's
    outputs on a random batch of two ``size``² pairs (another batch and size than the export's
    example, so that a shape frozen into the graph shows), relative to the largest output."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(path))
    generator = torch.Generator().manual_seed(0)
    channels = len(meta["bands"])
    x1, x2 = (torch.randn(2, channels, size, size, generator=generator) for _ in range(2))
    with torch.inference_mode():
        expected = _ThreeOutputs(model).eval()(x1, x2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUTS), {"before": x1.numpy(), "after": x2.numpy()})
    scale = max(1.0, *(float(e.abs().max()) for e in expected))
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True)) / scale


# ---------------------------------------------------------------- Deepness


class _FromToSegmentor(nn.Module):
    """Both dates as one 6-band tile in [0, 1] (Deepness divides 8-bit pixels by 255) → one channel
    per from-to code, 1 where the pixel has that code and 0 elsewhere.

    Inside the graph: the checkpoint's normalisation, the model, the threshold τ of eq. (1) on the
    change probability and the arg-max class of each date, so that Deepness' arg-max over channels
    gives exactly the change-type code ``scd detect`` writes for the tile.
    """

    scale: torch.Tensor
    low: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    codes: torch.Tensor

    def __init__(self, model: nn.Module, meta: CheckpointMetadata, threshold: float) -> None:
        super().__init__()
        self.model, self.threshold = model, threshold
        self.channels, self.num_classes = len(meta["bands"]), len(meta["classes"]) - 1
        norm = meta["normalisation"]
        low, high = (float(v) for v in norm["value_range"])
        # 8-bit imagery is brought onto value_range as scd detect's auto scaling does it
        self.register_buffer("scale", torch.tensor((high - low) / 255.0))
        self.register_buffer("low", torch.tensor(low))
        self.register_buffer("mean", torch.tensor(norm["mean"], dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(norm["std"], dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("codes", torch.arange(1 + self.num_classes**2).view(1, -1, 1, 1))

    def forward(self, tile: torch.Tensor) -> torch.Tensor:
        values = (tile * 255.0 * self.scale + self.low - self.mean.repeat(1, 2, 1, 1)) / self.std.repeat(1, 2, 1, 1)
        outputs = self.model(values[:, : self.channels], values[:, self.channels :])
        changed = torch.sigmoid(outputs["change"][:, 0]) >= self.threshold  # eq. 1
        first, second = outputs["sem1"].argmax(1), outputs["sem2"].argmax(1)
        code = (1 + self.num_classes * first + second) * changed
        return (code.unsqueeze(1) == self.codes).float()


def deepness_metadata(meta: CheckpointMetadata, resolution_cm: float, overlap_percent: int) -> dict[str, str]:
    """Deepness' metadata conventions (JSON values): a Segmentor with class names, the imagery's
    resolution in centimetres per pixel, the tile size and the tiles' overlap in percent."""
    from scd_core.checkpoint import land_cover_classes
    from scd_core.legend import change_type_names

    names = change_type_names(land_cover_classes(meta))
    return {
        "model_type": json.dumps("Segmentor"),
        "class_names": json.dumps({str(code): name for code, name in enumerate(names)}),
        "resolution": json.dumps(resolution_cm),
        "tile_size": json.dumps(meta["tile_size"]),
        "tiles_overlap": json.dumps(overlap_percent),
        "seg_thresh": json.dumps(0.5),
        "seg_small_segment": json.dumps(0),
    }


def export_deepness(
    model: nn.Module,
    meta: CheckpointMetadata,
    path: str | Path,
    resolution_cm: float,
    overlap_percent: int = 25,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write a Deepness-compatible ONNX file: one input ``tile`` (B×2C×T×T, both dates' bands, T the
    checkpoint's tile size), one output (B×(1+N²)×T×T, one channel per change type)."""
    import onnx

    path = Path(path)
    channels, tile = len(meta["bands"]), meta["tile_size"]
    graph = _traced(
        _FromToSegmentor(model, meta, float(meta["threshold"])).eval(),
        (torch.zeros(1, 2 * channels, tile, tile),),
        path,
        input_names=["tile"],
        output_names=["change_type"],
        dynamic_axes={"tile": {0: "batch"}, "change_type": {0: "batch"}},
        opset_version=opset,
    )
    for key, value in deepness_metadata(meta, resolution_cm, overlap_percent).items():
        graph.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(graph)
    _save(graph, path)
    return path
