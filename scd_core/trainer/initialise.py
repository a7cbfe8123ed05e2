"""Building the run's model: fresh weights, or weights loaded strictly from ``init_from``.

``init_from`` names a checkpoint (a run's ``model.pt``, :mod:`scd_core.checkpoint`). Its weights
must fit the model key for key and shape for shape; anything missing, unexpected or of another shape
is an error that names the keys, never silently left at random.

ATL's second stage (ASN paper §III-D5): with ``model: asn_atl`` and the checkpoint of an ``asn``, the
weights go into the ATL model's ASN, which stays frozen (parameters and batch-norm statistics,
:mod:`scd_core.models.atl`): only ψ1 and ψ2 train, and the ASN inside the result is exactly the loaded
one. The ASN's hyper-parameters (encoder, width, ablations) are the checkpoint's; the config may add
ATL's own (``gamma``, ``psi_channels``, categorical weights) but not contradict the ASN's.

Fine-tuning (``scd train --init``) on another class table: every weight is loaded except the heads,
which start afresh, and the run says which. The heads are found, not listed: they are the tensors
whose shape depends on the number of classes (built once more with one class more and compared), so
the rule holds for every model of the registry. Same-class fine-tuning loads strictly.
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
ATL_HPARAMS = ("gamma", "psi_channels", "weights", "change_term", "semantic_weights", "change_weights")


@dataclass(frozen=True)
class Initial:
    """Weights to start from: their state dict, the model they belong to, and its metadata."""

    state: dict[str, torch.Tensor]
    model: str
    hparams: dict[str, Any]
    normalisation: dict[str, Any] | None
    classes: list[str]  #: the class names, "no change" first
    bands: list[str]


def read_initial(path: str | Path) -> Initial:
    """The weights of the checkpoint at ``path`` (a run's model.pt), read as ``scd detect`` reads one."""
    try:
        state, metadata = checkpoint.read(path)
    except CheckpointError as error:
        raise CheckpointError(f"init_from: {error.reason}", error.path) from None
    return Initial(
        state,
        metadata["model"],
        metadata["hparams"],
        dict(metadata["normalisation"]),
        [c["name"] for c in metadata["classes"]],
        list(metadata["bands"]),
    )


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


def class_dependent_keys(name: str, hparams: dict[str, Any]) -> set[str]:
    """The state-dict keys of model ``name`` whose shape changes with its number of classes: its heads."""
    one, more = (
        build(name, **hparams).state_dict(),
        build(name, **{**hparams, "num_classes": hparams["num_classes"] + 1}),
    )
    return {key for key, value in one.items() if value.shape != more.state_dict()[key].shape}


def fine_tune(
    name: str, hparams: dict[str, Any], initial: Initial, classes: list[str], source: str | Path
) -> tuple[SCDModel, str]:
    """Model ``name`` with ``initial``'s weights for a table of ``classes``: strictly when the table is
    the checkpoint's, else with fresh heads (see the module docstring). Returns it and what was done."""
    shared = {key: value for key, value in hparams.items() if key != "num_classes"}
    model = build(name, **{**atl_hparams(shared, initial, source), "num_classes": len(classes) - 1})
    if classes == initial.classes:
        load_strictly(model, initial.state, source)
        return model, f"fine-tuning {source}: every weight loaded"
    heads = class_dependent_keys(name, {**initial.hparams, **hparams})
    kept = {key: value for key, value in initial.state.items() if key not in heads}
    load_strictly(model, {**kept, **{key: model.state_dict()[key] for key in heads}}, source)
    return model, (
        f"fine-tuning {source}: its classes {initial.classes[1:]} are not these {classes[1:]}: "
        f"the heads ({len(heads)} tensors) start afresh, every other weight is loaded"
    )


def build_model(
    name: str,
    hparams: dict[str, Any],
    initial: Initial | None,
    classes: list[str],
    channels: int,
    source: str | Path | None,
) -> tuple[SCDModel, str]:
    """The model of the run, for ``classes`` ("no change" first) and ``channels`` input bands from its
    data, with the weights of ``initial`` (read from ``source``) when there are any. Returns it and a
    line for the log."""
    hparams = {"num_classes": len(classes) - 1, "in_channels": channels, **hparams}
    if initial is None or source is None:
        return build(name, **hparams), "fresh weights"
    if name == "asn_atl" and initial.model == "asn":
        model = build(name, **atl_hparams(hparams, initial, source))
        load_strictly(model.get_submodule("asn"), initial.state, source)
        return model, f"ATL on the frozen ASN of {source}"
    if initial.model != name:
        raise InvalidOptionError(f"init_from holds a {initial.model!r} model, the config trains {name!r}")
    return fine_tune(name, hparams, initial, classes, source)
