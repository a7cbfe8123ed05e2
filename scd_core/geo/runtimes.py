"""Which runtime runs the model over the tiles: torch, or ONNX Runtime (``--runtime``).

ONNX Runtime's convolutions are faster than torch's on a CPU (by how much, per model, is measured by
``benchmarks/bench_runtime.py``; its figures are in benchmarks/README.md), so ``auto`` runs a
checkpoint on the CPU through ONNX Runtime: the checkpoint is exported once (:func:`scd_core.export.export_onnx`),
checked against torch on a random batch, and cached under its SHA-256 in the user's cache folder
(``$SCD_CACHE_DIR``, else ``$XDG_CACHE_HOME/scd``, else ``~/.cache/scd``), so a second run does not
export again; a cached file that was damaged since is exported again. A model that does not export,
or whose export disagrees with torch, runs in torch, and the run says so; so does one whose cache
folder cannot be written, and the run names the folder. On a CUDA device ``auto`` runs torch with
AMP. An ``.onnx`` model (``scd export``) always runs in ONNX Runtime, with its CUDA execution
provider where it is installed and a GPU is asked for.

Each runtime is a :class:`Runner`: a batch of normalised tiles in, ``2N + 1`` probability channels
out (:func:`scd_core.geo.blending.tile_probabilities`), on the device the blender works on.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import nn

from scd_core.atomic import atomic_write
from scd_core.errors import InvalidOptionError
from scd_core.export import onnx_precision
from scd_core.geo.blending import tile_probabilities
from scd_core.geo.progress import RunLog
from scd_core.models import STRIDE
from scd_core.models.inference import forward_padded
from scd_core.version import __version__

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

    from scd_core.checkpoint import CheckpointMetadata
    from scd_core.geo.precision import Calibration

#: Largest difference, relative to the largest output, at which an export counts as torch's model.
EXPORT_TOLERANCE = 1e-3


class Runner(Protocol):
    """A model ready to run: normalised B×C×H×W tiles of both dates in, probabilities out."""

    name: str  #: "torch" or "onnxruntime"
    precision: str  #: the arithmetic it runs in: "fp32", "bf16" or "int8" (``--precision``, after the guard)
    device: torch.device  #: where the probabilities are handed back (the blender's device)
    amp: bool

    @property
    def providers(self) -> tuple[str, ...]:
        """ONNX Runtime's execution providers that run the model, in order; none for torch."""
        ...

    def __call__(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """The ``2N + 1`` probability channels of a batch of tiles, on ``device``."""
        ...


@dataclass
class TorchRunner:
    """The model in torch on ``device``, with AMP (half precision) on a GPU, or bf16 autocast on a CPU."""

    model: nn.Module
    device: torch.device
    amp: bool
    name: str = "torch"
    precision: str = "fp32"  #: "fp32", or "bf16" (:mod:`.precision`)

    @property
    def providers(self) -> tuple[str, ...]:
        """Empty: torch has no execution providers."""
        return ()

    def __call__(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Run the model in torch on ``device`` (AMP when asked); on a GPU, wait until the result is there."""
        x1, x2 = x1.to(self.device, non_blocking=True), x2.to(self.device, non_blocking=True)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype, enabled=self.amp or dtype == torch.bfloat16),
        ):
            probabilities = tile_probabilities(forward_padded(self.model, x1, x2))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return probabilities


@dataclass
class OnnxRunner:
    """An scd ONNX graph in ONNX Runtime; outputs go to ``device`` for blending.

    The graph's batch and tile size are free dimensions, but ONNX Runtime plans a graph whose shapes
    are all known better (shape arithmetic folded away, more of it in its blocked channel layout):
    with them fixed, a batch of two 512² tiles runs faster (the most for HRSCD.str4), with outputs
    equal to 1e-5 (``benchmarks/bench_runtime.py`` gives the speed-ups). So the session is made for
    the shape of the batches it runs (``add_free_dimension_override_by_name``), and made again when
    the shape changes: a run's last, smaller batch, or another tile size. Making one takes a fraction
    of a tile's compute, less than padding the last batch would waste, and a tile's outputs do not
    depend on the batch it is in, bit for bit (a test checks it), so a split run still gives the
    one-process pixels. One session is kept, so memory holds one.
    """

    path: Path
    device: torch.device
    amp: bool = False
    name: str = "onnxruntime"
    precision: str = "fp32"  #: "fp32", or "int8" for a quantised graph (:mod:`.precision`)
    session: InferenceSession = field(init=False)
    shape: tuple[int, int, int] | None = field(init=False, default=None)  #: (batch, height, width) fixed

    def __post_init__(self) -> None:
        self.session = onnx_session(self.path, self.device)

    @property
    def providers(self) -> tuple[str, ...]:
        """The execution providers of the session, in ONNX Runtime's order of preference."""
        return tuple(self.session.get_providers())

    def _session_for(self, shape: tuple[int, int, int]) -> InferenceSession:
        if shape != self.shape:
            del self.session  # the old session's memory goes before the new one is made
            self.session, self.shape = onnx_session(self.path, self.device, shape), shape
        return self.session

    def __call__(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Run the graph on the tiles reflect-padded to the stride, in a session fixed to that shape; cropped back."""
        height, width = x1.shape[-2:]
        pad = ((0, 0), (0, 0), (0, -height % STRIDE), (0, -width % STRIDE))
        session = self._session_for((x1.shape[0], height + pad[2][1], width + pad[3][1]))
        feed = {name: np.pad(x.numpy(), pad, mode="reflect") for name, x in (("before", x1), ("after", x2))}
        sem1, sem2, change = session.run(["sem1", "sem2", "change"], feed)
        crop = (..., slice(0, height), slice(0, width))
        outputs = {
            name: torch.from_numpy(np.ascontiguousarray(v[crop]))
            for name, v in (("sem1", sem1), ("sem2", sem2), ("change", change))
        }
        return tile_probabilities(outputs).to(self.device)


def cache_dir() -> Path:
    """Where exported checkpoints are kept (see the module docstring)."""
    if folder := os.environ.get("SCD_CACHE_DIR"):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scd"


def onnx_session(path: str | Path, device: torch.device, shape: tuple[int, int, int] | None = None) -> InferenceSession:
    """An ONNX Runtime session whose threads are the machine's cores (the reader and the writer wait
    on the model most of the time), on CUDA where asked and installed; ``shape`` fixes the inputs'
    ``(batch, height, width)`` (see :class:`OnnxRunner`)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    for dimension, size in zip(("batch", "height", "width"), shape or (), strict=False):
        options.add_free_dimension_override_by_name(dimension, size)
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)


def _export_quietly(model: nn.Module, meta: CheckpointMetadata, path: Path, digest: Path) -> float:
    """Export and check, and write the SHA-256 of an export that agrees with torch to ``digest``;
    torch's exporter prints the whole graph when it fails, which a user must not see for a model
    that then simply runs in torch."""
    from scd_core.export import check_export, export_onnx
    from scd_core.geo.rasters import fingerprint

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        export_onnx(model, meta, path)
        difference = check_export(model, path, meta)
    if difference <= EXPORT_TOLERANCE:
        with atomic_write(digest) as handle:
            handle.write(fingerprint(path) + "\n")
    return difference


def cached_export(checkpoint: Path, model: nn.Module, meta: CheckpointMetadata, log: RunLog) -> Path | None:
    """The checkpoint's ONNX export from the cache, exported (and checked) now if it is not there or
    is damaged; None when it does not export, disagrees with torch, or the cache cannot be written.

    Beside each export lies its SHA-256 (``.sha256``), written once the export is checked: a file
    that no longer matches it (truncated, garbled) is exported again, with a warning, instead of
    failing every run or, with damaged weights, giving other pixels.
    """
    from scd_core.export import probe_folder
    from scd_core.geo.rasters import fingerprint

    key = f"{fingerprint(checkpoint)}-scd{__version__}-torch{torch.__version__.split('+')[0]}"
    path = cache_dir() / "onnx" / f"{key}.onnx"
    digest = path.with_name(f"{path.name}.sha256")
    if path.is_file():
        if digest.is_file() and digest.read_bytes().strip() == fingerprint(path).encode():
            return path
        log.warning(
            f"the cached ONNX export {path} is not the file that was checked (damaged, or from an older scd); "
            "it is exported again"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe_folder(path.parent)
        difference = _export_quietly(model, meta, path, digest)
    except OSError as error:  # the cache's folder or file system, not the model
        _forget(path, digest)
        log.warning(
            f"the ONNX cache folder {path.parent} cannot be written ({error.strerror or error}); the model "
            "runs in torch: set SCD_CACHE_DIR to a folder you can write to run it in ONNX Runtime"
        )
        return None
    except Exception as error:  # the exporter raises many types for an operator it does not know
        _forget(path, digest)
        log.message(f"the model does not export to ONNX ({type(error).__name__}); it runs in torch")
        return None
    if difference > EXPORT_TOLERANCE:
        _forget(path, digest)
        log.message(f"the model's ONNX export differs from torch by {difference:.1e}; it runs in torch")
        return None
    log.message(f"the model was exported to ONNX once for the CPU runtime ({path})")
    return path


def _forget(path: Path, digest: Path) -> None:
    """Remove an export and its SHA-256 (either may be missing, or its folder unwritable)."""
    for stale in (digest, path):
        with contextlib.suppress(OSError):
            stale.unlink(missing_ok=True)


def choose(
    runtime: str,
    model: nn.Module | None,
    meta: CheckpointMetadata,
    source: Path | None,
    device: torch.device,
    log: RunLog,
    precision: str = "fp32",
    calibration: Calibration | None = None,
) -> Runner:
    """The runner of ``--runtime`` and ``--precision`` for a model (``None`` for an ``.onnx`` file at
    ``source``); a reduced precision that fails its guard (:mod:`.precision`, on ``calibration``'s rasters
    where given) leaves fp32, said in the log."""
    if model is None and runtime == "torch":
        raise InvalidOptionError(f"--runtime torch cannot run an ONNX file ({source}); use auto or onnxruntime")
    if precision != "fp32" and device.type != "cpu":
        log.warning(f"--precision {precision} is for the CPU; on {device} the model runs as --runtime says")
    elif precision == "int8":
        if runtime == "torch":
            raise InvalidOptionError("--precision int8 runs in ONNX Runtime: not with --runtime torch")
        if (runner := _int8_runner(model, meta, source, device, log, calibration)) is not None:
            return runner
    elif precision == "bf16":
        if model is None or runtime == "onnxruntime":
            raise InvalidOptionError("--precision bf16 runs in torch (ONNX Runtime has no bf16 convolutions on a CPU)")
        from scd_core.geo.precision import bf16_agrees

        if bf16_agrees(model, meta, log, calibration):
            return TorchRunner(model.to(device).eval(), device, amp=False, precision="bf16")
    if model is None:
        assert source is not None
        return OnnxRunner(source, device, precision=onnx_precision(source))  # an int8 export runs in int8
    if runtime == "torch" or (runtime == "auto" and device.type == "cuda"):
        return TorchRunner(model.to(device).eval(), device, amp=device.type == "cuda")
    exported = cached_export(source, model, meta, log) if source is not None else None
    if exported is None:
        if runtime == "onnxruntime":
            raise InvalidOptionError("--runtime onnxruntime: the model cannot run in ONNX Runtime here (see above)")
        return TorchRunner(model.to(device).eval(), device, amp=device.type == "cuda")
    return OnnxRunner(exported, device)


def _int8_runner(
    model: nn.Module | None,
    meta: CheckpointMetadata,
    source: Path | None,
    device: torch.device,
    log: RunLog,
    calibration: Calibration | None,
) -> OnnxRunner | None:
    """The int8 graph of the checkpoint's export (or of the ONNX file ``source``) in ONNX Runtime, or
    None where there is none that passes the guard (the log says why)."""
    from scd_core.geo.precision import int8_export
    from scd_core.geo.rasters import fingerprint

    if model is None:
        assert source is not None
        if onnx_precision(source) == "int8":  # quantised by scd export --precision int8
            return OnnxRunner(source, device, precision="int8")
        fp32 = source
        cached = cache_dir() / "onnx" / f"{fingerprint(source)}-scd{__version__}"
        cached.parent.mkdir(parents=True, exist_ok=True)
    else:
        exported = cached_export(source, model, meta, log) if source is not None else None
        if exported is None:
            log.warning("--precision int8 needs the model's ONNX export, which it does not have: it runs in fp32")
            return None
        fp32, cached = exported, exported.with_suffix("")
    int8 = int8_export(fp32, cached, meta, log, calibration)
    return OnnxRunner(int8, device, precision="int8") if int8 is not None else None
