"""``--precision``: the model's arithmetic past float32 on a CPU, int8 and bf16, behind an accuracy guard.

* **int8**: ONNX Runtime's static quantisation of the checkpoint's fp32 export (:mod:`.runtimes`),
  QDQ format, weights per channel (signed), activations unsigned (the u8·s8 products that AVX-512 VNNI
  and AVX-VNNI run), their ranges calibrated on :data:`CALIBRATION_TILES` tiles of synthetic scenes
  (:func:`scd_core.synth.make_scene`, normalised as the checkpoint says), or on tiles of the user's own
  rasters (``--calibrate``, :mod:`.calibration`). It is cached beside the fp32 export, keyed as it is
  and by the calibration (``…-int8.onnx``, ``…-int8-KEY.onnx``), with the guard's verdict (``.json``).
* **bf16**: torch's bf16 autocast on the CPU. ONNX Runtime's CPU kernels take no bf16 convolutions,
  so bf16 runs where it runs at all: in torch. Measured here (torch 2.13, a CPU with AVX-512 BF16 and
  no AMX), torch's bf16 convolutions are 5–10× *slower* than its fp32 ones (FC-Siam-diff at width 4,
  a 256² tile: 0.6 s in fp32, 3.3 s in bf16 channels-last, 6.9 s channels-first), so bf16 is offered
  for CPUs whose kernels make it pay (AMX), and int8 is the fast path here.
* **The guard**: the reduced-precision model and fp32 read the calibration tiles (synthetic, or
  ``--calibrate``'s), and the change types they decode (eq. 1 at the checkpoint's τ) are compared
  pixel by pixel; below
  :data:`MIN_AGREEMENT` the run keeps fp32 and says so. Synthetic scenes calibrate only models of
  three bands, red, green and blue, of 8-bit imagery; another model runs in fp32 and the run says why,
  unless ``--calibrate`` gives rasters it reads.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from scd_core.atomic import atomic_output_path, atomic_write
from scd_core.models.inference import class_maps
from scd_core.normalise import make_normaliser

if TYPE_CHECKING:
    from scd_core.checkpoint import CheckpointMetadata
    from scd_core.geo.progress import RunLog

#: Share of calibration pixels whose decoded change type must agree with fp32's.
MIN_AGREEMENT = 0.99
#: Synthetic scenes that calibrate int8 and judge both precisions: their seeds, and their side.
CALIBRATION_TILES = (101, 102, 103, 104)
CALIBRATION_SIZE = 256


class Calibration(Protocol):
    """Tiles of the user's rasters to calibrate and judge on (:class:`scd_core.geo.calibration.RasterCalibration`)."""

    @property
    def key(self) -> str:
        """What the tiles depend on, short enough for a file name."""
        ...

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The rasters, in pairs."""
        ...

    def tiles(self, log: RunLog) -> list[tuple[np.ndarray, np.ndarray]]:
        """Normalised 1×C×H×W float32 tile pairs."""
        ...


#: What a model runs: B×C×H×W tiles of both dates in, the model's outputs (sem1, sem2, change) out.
Forward = Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


def calibration_tiles(meta: CheckpointMetadata) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Normalised 1×3×H×W float32 tile pairs of synthetic scenes; None for a model that does not read
    red, green and blue (synthetic scenes are RGB)."""
    from scd_core.synth import make_scene

    if [band.lower() for band in meta["bands"]] != ["red", "green", "blue"]:
        return None
    scale = meta["normalisation"].get("scale", "auto")
    normaliser = make_normaliser(
        meta["normalisation"], (scale[0], scale[1]) if isinstance(scale, list) else scale, "uint8"
    )
    tiles = []
    for seed in CALIBRATION_TILES:
        scene = make_scene(CALIBRATION_SIZE, seed)
        tiles.append(tuple(normaliser(image.transpose(2, 0, 1))[None] for image in (scene.image1, scene.image2)))
    return tiles  # type: ignore[return-value]


def agreement(
    reference: Forward, reduced: Forward, tiles: Sequence[tuple[np.ndarray, np.ndarray]], tau: float
) -> float:
    """Share of the tiles' pixels whose change type (eq. 1 at ``tau``) ``reduced`` decodes as ``reference``."""
    same = total = 0
    for x1, x2 in tiles:
        a, b = (torch.from_numpy(x1), torch.from_numpy(x2))
        maps_a, maps_b = class_maps(reference(a, b), tau), class_maps(reduced(a, b), tau)
        agree = (maps_a[0] == maps_b[0]) & (maps_a[1] == maps_b[1])
        same, total = same + int(agree.sum()), total + agree.numel()
    return same / total


def onnx_forward(path: Path) -> Forward:
    """The graph at ``path`` in ONNX Runtime on the CPU, as a :data:`Forward`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def forward(x1: torch.Tensor, x2: torch.Tensor) -> dict[str, torch.Tensor]:
        names = ["sem1", "sem2", "change"]
        outputs = session.run(names, {"before": x1.numpy(), "after": x2.numpy()})
        return {name: torch.from_numpy(value) for name, value in zip(names, outputs, strict=True)}

    return forward


def _quantise(fp32: Path, int8: Path, tiles: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """ONNX Runtime's static QDQ quantisation of ``fp32`` into ``int8``, calibrated on ``tiles``, with
    ``fp32``'s ``metadata_props`` and the int8 mark (:data:`scd_core.export.PRECISION_KEY`)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from scd_core.export import PRECISION_KEY

    class Tiles(CalibrationDataReader):
        def __init__(self) -> None:
            self.pending = iter(tiles)

        def get_next(self) -> dict[str, np.ndarray] | None:
            pair = next(self.pending, None)
            return None if pair is None else {"before": pair[0], "after": pair[1]}

    prepared = int8.with_name(f"{int8.stem}.prepared.onnx")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            with atomic_output_path(int8) as staged:
                quantize_static(
                    str(prepared), str(staged), Tiles(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                )  # fmt: skip
                graph = onnx.load(str(staged))
                del graph.metadata_props[:]
                for prop in onnx.load(str(fp32), load_external_data=False).metadata_props:
                    graph.metadata_props.add(key=prop.key, value=prop.value)
                graph.metadata_props.add(key=PRECISION_KEY, value=json.dumps("int8"))
                onnx.save(graph, str(staged))
    finally:
        prepared.unlink(missing_ok=True)


def quantise(fp32: Path, int8: Path, tiles: Sequence[tuple[np.ndarray, np.ndarray]], tau: float) -> float:
    """Write ``fp32``'s int8 graph, calibrated on ``tiles``, to ``int8``; the share of the tiles' pixels
    whose change types (at ``tau``) it decodes as ``fp32`` does: the guard's measure."""
    _quantise(fp32, int8, tiles)
    return agreement(onnx_forward(fp32), onnx_forward(int8), tiles, tau)


def guard_problem(precision: str, share: float) -> str | None:
    """Why a ``precision`` model agreeing with fp32 on ``share`` of the pixels is not used, or None."""
    if share >= MIN_AGREEMENT:
        return None
    return (f"--precision {precision} agrees with fp32 on {100 * share:.1f}% of the calibration pixels' change types, "
        f"under {100 * MIN_AGREEMENT:.0f}%")  # fmt: skip


def uncalibrated(precision: str, meta: CheckpointMetadata) -> str:
    """Why a ``precision`` model of ``meta`` cannot be judged on the synthetic scenes."""
    return (f"--precision {precision} is calibrated and judged on synthetic red, green and blue scenes, and this "
        f"model reads {', '.join(meta['bands'])}")  # fmt: skip


def int8_export(
    fp32: Path, cached: Path, meta: CheckpointMetadata, log: RunLog, calibration: Calibration | None = None
) -> Path | None:
    """The int8 model of the fp32 graph ``fp32``, quantised once and cached as ``cached-int8.onnx`` (a
    path without suffix: beside the fp32 export, keyed as it is; ``cached-int8-KEY.onnx`` calibrated on
    ``calibration``'s rasters); None (the run keeps fp32, and the log says why) where it cannot be
    calibrated or fails the guard."""
    name = f"{cached.name}-int8" if calibration is None else f"{cached.name}-int8-{calibration.key}"
    int8, verdict = cached.with_name(f"{name}.onnx"), cached.with_name(f"{name}.json")
    if int8.is_file() and verdict.is_file():
        share = float(json.loads(verdict.read_text(encoding="utf-8"))["agreement"])
    else:
        tiles = judging_tiles(meta, log, calibration)
        if tiles is None:
            log.warning(f"{uncalibrated('int8', meta)}: it runs in fp32")
            return None
        log.message(f"quantising the model to int8 once (calibrated on {len(tiles)} tiles; a minute or two)")
        share = quantise(fp32, int8, tiles, meta["threshold"])
        with atomic_write(verdict) as handle:
            source = "synthetic" if calibration is None else [list(pair) for pair in calibration.pairs]
            json.dump({"agreement": share, "tiles": len(tiles), "size": CALIBRATION_SIZE, "source": source}, handle)
    if (problem := guard_problem("int8", share)) is not None:
        log.warning(f"{problem}: the run keeps fp32")
        return None
    return int8


def judging_tiles(
    meta: CheckpointMetadata, log: RunLog, calibration: Calibration | None
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The tiles that calibrate and judge a reduced precision: ``calibration``'s, else synthetic scenes'
    (None for a model they cannot feed)."""
    return calibration_tiles(meta) if calibration is None else calibration.tiles(log)


def bf16_agrees(
    model: torch.nn.Module, meta: CheckpointMetadata, log: RunLog, calibration: Calibration | None = None
) -> bool:
    """Whether torch's bf16 autocast keeps the model's change types (the guard) on the synthetic
    scenes or ``calibration``'s rasters; the log's warning tells why not."""
    from scd_core.models.inference import forward_padded

    tiles = judging_tiles(meta, log, calibration)
    if tiles is None:
        log.warning(f"{uncalibrated('bf16', meta)}: it runs in fp32")
        return False

    def forward(bf16: bool) -> Forward:
        def run(x1: torch.Tensor, x2: torch.Tensor) -> dict[str, torch.Tensor]:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return {k: v.float() for k, v in forward_padded(model, x1, x2).items()}

        return run

    problem = guard_problem("bf16", agreement(forward(False), forward(True), tiles, meta["threshold"]))
    if problem is not None:
        log.warning(f"{problem}: the run keeps fp32")
        return False
    return True
