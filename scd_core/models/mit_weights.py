"""Pretrained Mix Transformer weights for CdSC's encoder, read from a file already on disk.

The CdSC authors' release starts its MiT-b2 encoder from SegFormer's ImageNet weights (``mit_b2.pth``,
SegFormer's own release: a plain state dict). The paper does not say so, nor can the weights be had
here (nothing is downloaded), so a run takes them as ``encoder_weights: PATH``, as the backbone encoders
take theirs (:mod:`.pretrained`, whose :func:`~.pretrained.load_encoder_weights` hands MiT encoders here).

Names are mapped strictly, by :func:`segformer_key`, which names each tensor of
:class:`~scd_core.models.mit.HierarchicalTransformer` as SegFormer's file does (``patch_embed1.proj``,
``block1.0.attn.q``, ``block1.0.mlp.dwconv.dwconv``, ``norm1``...): SegFormer's ImageNet classifier
(``head.*``) is dropped by name and only it; a tensor the encoder needs that the file lacks, a key the
encoder has no place for, and a tensor of another shape (MiT-b0 weights for a b2 encoder) are named in
a :class:`~scd_core.errors.CheckpointError`. The first convolution reads red, green and blue; the
model's bands are mapped onto it as for the backbones (:mod:`.pretrained` hands the mapping in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from scd_core.errors import CheckpointError
from scd_core.models.mit import HierarchicalTransformer

#: Our tensor names (inside one stage) → SegFormer's, with ``{s}`` its 1-based stage and ``{b}`` the block.
_NAMES = (
    (r"embed\.proj\.(\w+)", "patch_embed{s}.proj.{p}"),
    (r"embed\.norm\.(\w+)", "patch_embed{s}.norm.{p}"),
    (r"blocks\.(\d+)\.norm1\.(\w+)", "block{s}.{b}.norm1.{p}"),
    (r"blocks\.(\d+)\.norm2\.(\w+)", "block{s}.{b}.norm2.{p}"),
    (r"blocks\.(\d+)\.attention\.query\.(\w+)", "block{s}.{b}.attn.q.{p}"),
    (r"blocks\.(\d+)\.attention\.key_value\.(\w+)", "block{s}.{b}.attn.kv.{p}"),
    (r"blocks\.(\d+)\.attention\.proj\.(\w+)", "block{s}.{b}.attn.proj.{p}"),
    (r"blocks\.(\d+)\.attention\.reduce\.(\w+)", "block{s}.{b}.attn.sr.{p}"),
    (r"blocks\.(\d+)\.attention\.reduce_norm\.(\w+)", "block{s}.{b}.attn.norm.{p}"),
    (r"blocks\.(\d+)\.ffn\.expand\.(\w+)", "block{s}.{b}.mlp.fc1.{p}"),
    (r"blocks\.(\d+)\.ffn\.depthwise\.(\w+)", "block{s}.{b}.mlp.dwconv.dwconv.{p}"),
    (r"blocks\.(\d+)\.ffn\.project\.(\w+)", "block{s}.{b}.mlp.fc2.{p}"),
    (r"norm\.(\w+)", "norm{s}.{p}"),
)
#: SegFormer's ImageNet classifier: in the file, not in an encoder.
CLASSIFIER_PREFIX = "head."
FIRST_CONV = "stages.0.embed.proj.weight"


def segformer_key(key: str) -> str:
    """The name SegFormer's ``mit_b*.pth`` gives our encoder's tensor ``key``."""
    stage, rest = re.fullmatch(r"stages\.(\d+)\.(.+)", key).groups()  # type: ignore[union-attr]
    for pattern, name in _NAMES:
        if found := re.fullmatch(pattern, rest):
            *block, part = found.groups()
            return name.format(s=int(stage) + 1, b=block[0] if block else "", p=part)
    raise KeyError(f"no SegFormer name for {key}")


def _mapped(encoder: nn.Module, state: Mapping[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    """Our encoder's tensors from the file's ``state``, checked (see the module docstring)."""
    ours = encoder.state_dict()
    names = {key: segformer_key(key) for key in ours}
    missing = [name for name in names.values() if name not in state]
    unexpected = [k for k in state if k not in names.values() and not k.startswith(CLASSIFIER_PREFIX)]
    shapes = [
        f"{name} {tuple(state[name].shape)} (the encoder's {tuple(ours[key].shape)})"
        for key, name in names.items()
        if name in state and key != FIRST_CONV and state[name].shape != ours[key].shape
    ]
    problems = [
        f"{label} {', '.join(items[:5])}{f' and {len(items) - 5} more' if len(items) > 5 else ''}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("of another shape:", shapes))
        if items
    ]
    if problems:
        raise CheckpointError(f"not MiT weights for this encoder (SegFormer's names): {'; '.join(problems)}", source)
    return {key: state[name] for key, name in names.items()}


def load_mit_weights(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: Path,
    first_conv: Callable[[torch.Tensor], torch.Tensor],
) -> str:
    """Fill every MiT encoder of ``model`` with SegFormer's ``state`` (read from ``source``), the first
    convolution's RGB kernels mapped onto the model's bands by ``first_conv``; one line for the log."""
    encoders = [m for m in model.modules() if isinstance(m, HierarchicalTransformer)]
    loads = []
    for encoder in encoders:
        tensors = _mapped(encoder, state, source)
        tensors[FIRST_CONV] = first_conv(tensors[FIRST_CONV])
        if tensors[FIRST_CONV].shape != encoder.state_dict()[FIRST_CONV].shape:
            raise CheckpointError("the first convolution does not fit the model's bands", source)
        loads.append((encoder, tensors))
    for encoder, tensors in loads:  # all checked first: a refusal leaves the model as it was
        encoder.load_state_dict(tensors)
    return f"MiT weights from {source}: {len(loads[0][1])} tensors into {len(loads)} encoder(s)"
