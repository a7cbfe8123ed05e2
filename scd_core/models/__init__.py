"""The model registry: the only place that knows every model's name.

``build(name, in_channels=3, num_classes=6, **hparams)`` returns an
:class:`~scd_core.models.base.SCDModel` (which keeps the :class:`~scd_core.models.base.ChangeDetector`
protocol) whose ``forward(x1, x2)`` gives :class:`~scd_core.models.base.ModelOutputs`:

* ``sem1``, ``sem2``: B×num_classes×H×W land-cover logits (classes 1..num_classes of SECOND);
* ``change``: B×1×H×W change logits at input resolution (change probability = sigmoid).

Every model has ``loss(outputs, label1, label2)`` as in its paper, where the labels are B×H×W long
tensors of SECOND class indices (0 = no change, 1..6 = classes, 255 = ignore). ``build`` records the
name and hyper-parameters on the module (``model.scd_name``, ``model.scd_hparams``) so that
``scd_core.checkpoint`` can rebuild it.

Modules (and torch) are imported when a model is built, so listing names costs nothing.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported by the model modules, when a model is built
    from scd_core.models.base import SCDModel

__all__ = ["STRIDE", "ModelSpec", "available", "build", "decoding_of", "defaults", "spec"]

#: Every model downsamples by 32 at most, so inputs are padded to, and tiles are, multiples of it.
STRIDE = 32


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model: where it lives, its paper and its variants."""

    name: str
    target: str  # "module:ClassName" under scd_core.models
    paper: str
    defaults: dict[str, Any] = field(default_factory=dict)
    #: values of the ``encoder`` hyper-parameter, for the models that take one: the basic blocks of
    #: Tables I, III and IV, and ImageNet backbones (:mod:`scd_core.models.encoders`).
    encoders: tuple[str, ...] = ()
    #: how ``scd detect`` reads its classes whatever ``--decode`` asks, for a model whose outputs mean one
    #: reading only (HRSCD.str2's joint arg-max is eq. (1) with per-date arg-max: ``"paper"``); None: as asked
    decoding: str | None = None


_ASN_PAPER = "Yang et al., Semantic Change Detection with Asymmetric Siamese Networks"
_HRSCD_PAPER = "Daudt et al., Multitask learning for large-scale SCD (CVIU 2019)"
_FC_PAPER = "Daudt et al., Fully convolutional siamese networks for CD (ICIP 2018)"
_BLOCK_ENCODERS = ("residual", "xception", "se")
#: ImageNet backbones (``scd_core.models.pretrained`` loads their weights). ASN-ATL keeps the blocks: its γ
#: is the paper's per block type, and none is given for these.
_BACKBONE_ENCODERS = ("efficientnet_lite0", "resnet18", "resnet34", "resnet50")
_ENCODERS = (*_BLOCK_ENCODERS, *_BACKBONE_ENCODERS)

_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("asn", "asn:ASN", _ASN_PAPER, encoders=_ENCODERS),
    ModelSpec("asn_atl", "atl:ASNWithATL", _ASN_PAPER, encoders=_ENCODERS),
    ModelSpec("fc_ef", "baselines:FCEF", _FC_PAPER, encoders=_ENCODERS),
    ModelSpec("fc_siam_conc", "baselines:FCSiamConc", _FC_PAPER, encoders=_ENCODERS),
    ModelSpec("fc_siam_diff", "baselines:FCSiamDiff", _FC_PAPER, encoders=_ENCODERS),
    ModelSpec("hrscd_str1", "baselines:HRSCDStr1", _HRSCD_PAPER, encoders=_ENCODERS),
    ModelSpec("hrscd_str2", "baselines:HRSCDStr2", _HRSCD_PAPER, encoders=_ENCODERS, decoding="paper"),
    ModelSpec("hrscd_str3", "baselines:HRSCDStr3", _HRSCD_PAPER, encoders=_ENCODERS),
    ModelSpec("hrscd_str4", "baselines:HRSCDStr4", _HRSCD_PAPER, encoders=_ENCODERS),
    ModelSpec("lsafnet", "lsafnet:LSAFNet", "Zhou et al., A Late-Stage Bitemporal Feature Fusion Network for SCD"),
    ModelSpec("cdsc", "cdsc:CdSC", "Wang et al., Cross-Difference Semantic Consistency Network for SCD"),
)
_BY_NAME = {s.name: s for s in _SPECS}


def available() -> list[str]:
    """Names accepted by :func:`build`, in the order of the README's table."""
    return [s.name for s in _SPECS]


def spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; ``KeyError`` lists the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(available())}") from None


def decoding_of(name: str) -> str | None:
    """:attr:`ModelSpec.decoding` of the model ``name``; None for a model read as asked, or not ours."""
    entry = _BY_NAME.get(name)
    return entry.decoding if entry is not None else None


def _model_class(entry: ModelSpec) -> type:
    module_name, class_name = entry.target.split(":")
    return getattr(importlib.import_module(f"scd_core.models.{module_name}"), class_name)


def defaults(name: str) -> dict[str, Any]:
    """Every hyper-parameter of model ``name`` that has a default, with it (the registry's, else the
    class's): what a checkpoint that does not list a hyper-parameter was built with."""
    entry = spec(name)
    signature = inspect.signature(_model_class(entry))
    found = {
        key: parameter.default
        for key, parameter in signature.parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return {**found, **entry.defaults}


def build(name: str, in_channels: int = 3, num_classes: int = 6, **hparams: Any) -> SCDModel:
    """Build model ``name`` with fresh (untrained) weights."""
    entry = spec(name)
    cls = _model_class(entry)
    if entry.encoders and "encoder" in hparams and hparams["encoder"] not in entry.encoders:
        raise ValueError(f"{name}: unknown encoder {hparams['encoder']!r}; choose from {', '.join(entry.encoders)}")
    merged = {**entry.defaults, **hparams}
    model = cls(in_channels=in_channels, num_classes=num_classes, **merged)
    model.scd_name = name
    model.scd_hparams = {"in_channels": in_channels, "num_classes": num_classes, **merged}
    return model
