"""SegFormer's MiT weights (``mit_b2.pth``) into CdSC's encoder through ``encoder_weights: PATH``: every
tensor under SegFormer's name, the classifier dropped, anything else named, the bands mapped."""

from __future__ import annotations

import pytest
import torch

from scd_core.errors import CheckpointError
from scd_core.models import build
from scd_core.models.mit import HierarchicalTransformer
from scd_core.models.mit_weights import segformer_key
from scd_core.models.pretrained import load_encoder_weights

#: Names as SegFormer's released mit_b*.pth files write them, for some of our encoder's tensors.
SEGFORMER_NAMES = {
    "stages.0.embed.proj.weight": "patch_embed1.proj.weight",
    "stages.0.embed.norm.bias": "patch_embed1.norm.bias",
    "stages.0.blocks.0.attention.query.weight": "block1.0.attn.q.weight",
    "stages.0.blocks.2.attention.reduce.weight": "block1.2.attn.sr.weight",
    "stages.1.blocks.1.attention.reduce_norm.weight": "block2.1.attn.norm.weight",
    "stages.1.blocks.3.ffn.depthwise.weight": "block2.3.mlp.dwconv.dwconv.weight",
    "stages.2.blocks.5.ffn.expand.bias": "block3.5.mlp.fc1.bias",
    "stages.3.blocks.2.attention.key_value.bias": "block4.2.attn.kv.bias",
    "stages.3.blocks.0.ffn.project.weight": "block4.0.mlp.fc2.weight",
    "stages.2.norm.weight": "norm3.weight",
}


def segformer_file(path, width: int = 8, drop: str | None = None):
    """A MiT-b2 of ``width`` saved as SegFormer saves it: its names, an ImageNet classifier beside."""
    torch.manual_seed(1)
    encoder = HierarchicalTransformer(3, width)
    state = {segformer_key(k): v for k, v in encoder.state_dict().items() if segformer_key(k) != drop}
    torch.save({**state, "head.weight": torch.zeros(1000, 8 * width), "head.bias": torch.zeros(1000)}, path)
    return encoder


def test_our_names_are_segformers():
    for ours, theirs in SEGFORMER_NAMES.items():
        assert segformer_key(ours) == theirs


def test_cdsc_takes_segformer_weights_with_its_bands_mapped(tmp_path):
    source = segformer_file(tmp_path / "mit_b2.pth")
    model = build("cdsc", in_channels=4, width=8)
    line = load_encoder_weights(model, str(tmp_path / "mit_b2.pth"), ["nir", "red", "green", "blue"])
    assert line.startswith(f"MiT weights from {tmp_path / 'mit_b2.pth'}")
    loaded, given = model.encoder.state_dict(), source.state_dict()
    first = "stages.0.embed.proj.weight"
    assert all(torch.equal(loaded[k], given[k]) for k in given if k != first)
    torch.testing.assert_close(loaded[first][:, 1:], given[first])  # red, green, blue keep theirs
    torch.testing.assert_close(loaded[first][:, :1], given[first].mean(1, keepdim=True))  # nir: their mean


def test_weights_that_do_not_fit_are_named_and_nothing_is_loaded(tmp_path):
    model = build("cdsc", width=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    segformer_file(tmp_path / "short.pth", drop="block3.5.mlp.fc1.bias")
    with pytest.raises(CheckpointError, match=r"missing block3\.5\.mlp\.fc1\.bias$"):
        load_encoder_weights(model, str(tmp_path / "short.pth"), ["red", "green", "blue"])
    segformer_file(tmp_path / "narrow.pth", width=4)  # a narrower MiT: every tensor of another shape
    with pytest.raises(
        CheckpointError, match=r"of another shape: patch_embed1\.proj\.bias \(4,\) \(the encoder's \(8,\)\), .* more$"
    ):
        load_encoder_weights(model, str(tmp_path / "narrow.pth"), ["red", "green", "blue"])
    with pytest.raises(CheckpointError, match="no MiT weights ship with scd"):
        load_encoder_weights(model, "imagenet", ["red", "green", "blue"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
