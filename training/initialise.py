"""Building the run's model: fresh weights, or weights loaded strictly from ``init_from``.

``init_from`` names a checkpoint (a run's ``model.pt``, :mod:`scd_core.checkpoint`). Its weights
must fit the model key for key and shape for shape; anything missing, unexpected or of another shape
is an error that names the keys, never silently left at random.

ATL's second stage (ASN paper §III-D5): with ``model: asn_atl`` and the checkpoint of an ``asn``, the
weights go into the ATL model's ASN, which stays frozen (parameters and batch-norm statistics,
:mod:`scd_core.models.atl`): only ψ1 and ψ2 train, and the ASN inside the result is exactly the loaded
one. The ASN's hyper-parameters (encoder, width, ablations) are the checkpoint's; the config may add
ATL's own (``gamma``, ``psi_channels``, categorical weights) but not contradict the ASN's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scd_core import checkpoint
from scd_core.errors import CheckpointError, InvalidOptionError
from scd_core.models import build, defaults
from scd_core.models.base import SCDModel

#: hyper-parameters of ASNWithATL that are ATL's own, not its ASN's
ATL_HPARAMS = ("gamma", "psi_channels", "semantic_weights", "change_weights")


@dataclass(frozen=True)
class Initial:
    """Weights to start from: their state dict, the model they belong to, and its metadata."""

    state: dict[str, torch.Tensor]
    model: str
    hparams: dict[str, Any]
    normalisation: dict[str, Any] | None


def read_initial(path: str | Path) -> Initial:
    """The weights of the checkpoint at ``path`` (a run's model.pt), read as ``scd detect`` reads one."""
    try:
        state, metadata = checkpoint.read(path)
    except CheckpointError as error:
        raise CheckpointError(f"init_from: {error.reason}", error.path) from None
    return Initial(state, metadata["model"], metadata["hparams"], dict(metadata["normalisation"]))


def atl_hparams(config_hparams: dict[str, Any], initial: Initial, source: str | Path) -> dict[str, Any]:
    """The loaded model's hyper-parameters, with ATL's own (and any the config repeats) from the config.

    A hyper-parameter the checkpoint does not list is its model's default, so the config may repeat
    the default but not choose another value.
    """
    loaded = {**defaults(initial.model), **initial.hparams}
    for key, value in config_hparams.items():
        if key not in ATL_HPARAMS and key in loaded and loaded[key] != value:
            raise InvalidOptionError(
                f"{source}: hparams.{key} = {value!r}, but the {initial.model} of init_from has {loaded[key]!r}"
            )
    return {**initial.hparams, **config_hparams}


def load_strictly(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """``module.load_state_dict(state)``; any missing, unexpected or misshapen key is named in the error."""
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    misshapen = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or misshapen:
        parts = [
            f"{label} {keys[:8]}{' and more' if len(keys) > 8 else ''}"
            for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("other shapes", misshapen))
            if keys
        ]
        raise CheckpointError(f"init_from does not fit the model: {'; '.join(parts)}", source)
    module.load_state_dict(state)


def build_model(
    name: str, hparams: dict[str, Any], init_from: str | None, num_classes: int
) -> tuple[SCDModel, Initial | None]:
    """The model of the config (``num_classes`` from its dataset), with the weights of ``init_from``."""
    hparams = {"num_classes": num_classes, **hparams}
    if init_from is None:
        return build(name, **hparams), None
    initial = read_initial(init_from)
    if name == "asn_atl" and initial.model == "asn":
        model = build(name, **atl_hparams(hparams, initial, init_from))
        load_strictly(model.get_submodule("asn"), initial.state, init_from)
        return model, initial
    if initial.model != name:
        raise InvalidOptionError(f"init_from holds a {initial.model!r} model, the config trains {name!r}")
    model = build(name, **atl_hparams(hparams, initial, init_from))
    load_strictly(model, initial.state, init_from)
    return model, initial
