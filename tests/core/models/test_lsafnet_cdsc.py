"""LSAFNet and CdSC against their papers: output shapes and each paper's equations and modules.

The contract every registered model meets (finite gradients, deterministic evaluation, a few
optimiser steps that reduce the loss) is tested for these two in ``test_models.py``. Models are built
narrow (``width=8``) so everything runs in seconds on a CPU.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from scd_core.models import build
from scd_core.models.cdsc import CrossDifference3D, SemanticContextEnhancement, cross_stitch, semantic_co_alignment_loss
from scd_core.models.lsafnet import LGAA, LGCE, semantic_consistency_loss
from scd_core.models.mit import HierarchicalTransformer
from scd_core.models.resnet import ResNet34

TINY = {"lsafnet": {"width": 8}, "cdsc": {"width": 8}}
MODELS = sorted(TINY)


def tiny(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build(name, **TINY[name])


# --- Output shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(("batch", "height", "width"), [(1, 256, 256), (2, 96, 160)])
def test_output_shapes(name: str, batch: int, height: int, width: int) -> None:
    model = tiny(name).eval()
    x = torch.randn(batch, 3, height, width)
    with torch.no_grad():
        outputs = model(x, x)
    assert outputs["sem1"].shape == outputs["sem2"].shape == (batch, 6, height, width)
    assert outputs["change"].shape == (batch, 1, height, width)


# --- Hand-built outputs for the loss equations -------------------------------------------------------

# One row of four pixels: unchanged, changed (3 → 1), ignored, changed (5 → 5).
LABEL1 = torch.tensor([[[0, 3, 255, 5]]])
LABEL2 = torch.tensor([[[0, 1, 255, 5]]])


def hand_built_outputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    return {
        "sem1": torch.randn(1, 6, 1, 4, generator=generator),
        "sem2": torch.randn(1, 6, 1, 4, generator=generator),
        "change": torch.randn(1, 1, 1, 4, generator=generator),
    }


def _softmax(logits: list[float]) -> list[float]:
    exps = [math.exp(v) for v in logits]
    return [e / sum(exps) for e in exps]


def _cosine(a: list[float], b: list[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm


def _pixel(outputs: dict[str, torch.Tensor], key: str, column: int) -> list[float]:
    return outputs[key][0, :, 0, column].tolist()


def expected_terms(outputs: dict[str, torch.Tensor]) -> dict[str, float]:
    """Eqs. (15)-(17) of both papers, pixel by pixel in plain Python."""
    valid, changed = (0, 1, 3), (1, 3)
    bce = []
    for col in valid:
        p = 1 / (1 + math.exp(-_pixel(outputs, "change", col)[0]))
        y = float(col in changed)
        bce.append(-y * math.log(p) - (1 - y) * math.log(1 - p))
    ce = {}
    for key, label in (("sem1", LABEL1), ("sem2", LABEL2)):
        ce[key] = sum(-math.log(_softmax(_pixel(outputs, key, c))[int(label[0, 0, c]) - 1]) for c in changed) / 2
    cos = {c: _cosine(_softmax(_pixel(outputs, "sem1", c)), _softmax(_pixel(outputs, "sem2", c))) for c in valid}
    return {
        "bce": sum(bce) / len(bce),
        "ce1": ce["sem1"],
        "ce2": ce["sem2"],
        # LSAFNet eq. (17): 1 - cos where unchanged, cos where changed.
        "sc": sum(cos[c] if c in changed else 1 - cos[c] for c in valid) / len(valid),
        # CdSC eq. (17): α·cos on changed pixels, −(1 − α)·cos on unchanged ones, α = 0.8.
        "sca": sum(0.8 * cos[c] if c in changed else -0.2 * cos[c] for c in valid) / len(valid),
    }


def test_lsafnet_loss_is_eq_18() -> None:
    outputs = hand_built_outputs()
    terms = expected_terms(outputs)
    expected = terms["bce"] + 0.5 * (terms["ce1"] + terms["ce2"]) + terms["sc"]
    assert tiny("lsafnet").loss(outputs, LABEL1, LABEL2).item() == pytest.approx(expected, rel=1e-5)


def test_cdsc_loss_is_eq_18_with_alpha_0_8() -> None:
    outputs = hand_built_outputs()
    terms = expected_terms(outputs)
    expected = 0.5 * (terms["ce1"] + terms["ce2"]) + terms["bce"] + terms["sca"]
    model = tiny("cdsc")
    assert model.alpha == 0.8
    assert model.loss(outputs, LABEL1, LABEL2).item() == pytest.approx(expected, rel=1e-5)


def _two_pixel_maps(same: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Confident logits: both dates in class 0, or class 0 then class 1."""
    sem1 = torch.full((1, 6, 1, 2), -20.0)
    sem2 = sem1.clone()
    sem1[:, 0] = 20.0
    sem2[:, 0 if same else 1] = 20.0
    return sem1, sem2


@pytest.mark.parametrize(
    ("label", "same", "expected"),
    [
        ([[[3, 3]]], True, 0.8),  # changed pixels that agree cost α
        ([[[3, 3]]], False, 0.0),  # changed pixels that disagree cost nothing
        ([[[0, 0]]], True, -0.2),  # unchanged pixels that agree earn 1 − α
        ([[[0, 0]]], False, 0.0),
        ([[[0, 255]]], True, -0.2),  # ignored pixels do not count
    ],
)
def test_semantic_co_alignment_loss_follows_eq_17(label: list, same: bool, expected: float) -> None:
    sem1, sem2 = _two_pixel_maps(same)
    assert semantic_co_alignment_loss(sem1, sem2, torch.tensor(label)).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("label", "same", "expected"),
    [([[[3, 3]]], True, 1.0), ([[[3, 3]]], False, 0.0), ([[[0, 0]]], True, 0.0), ([[[0, 0]]], False, 1.0)],
)
def test_lsafnet_consistency_loss_pulls_unchanged_together(label: list, same: bool, expected: float) -> None:
    sem1, sem2 = _two_pixel_maps(same)
    assert semantic_consistency_loss(sem1, sem2, torch.tensor(label)).item() == pytest.approx(expected, abs=1e-6)


# --- LSAFNet's parts -------------------------------------------------------------------------------


def test_resnet34_is_built_from_scratch_with_its_block_counts() -> None:
    encoder = ResNet34(width=8)
    assert [len(stage) for stage in encoder.stages] == [3, 4, 6, 3]
    features = encoder(torch.randn(1, 3, 64, 96))
    assert [f.shape[1] for f in features] == [8, 8, 16, 32, 64]
    assert [f.shape[-1] for f in features] == [48, 24, 12, 6, 3]
    # The reference ResNet-34 without its ImageNet classifier has 21,284,672 parameters.
    assert sum(p.numel() for p in ResNet34().parameters()) == 21_284_672


def test_lsafnet_starts_from_kaiming_initialisation() -> None:
    model = tiny("lsafnet")
    # Every convolution's weights divided by He's σ = sqrt(2 / fan_in) should look like N(0, 1).
    scaled = []
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.weight[0].numel()
            scaled.append(layer.weight.detach().flatten() / math.sqrt(2 / fan_in))
            assert layer.bias is None or not layer.bias.any()
        elif isinstance(layer, nn.BatchNorm2d):
            assert (layer.weight == 1).all() and not layer.bias.any()
    assert torch.cat(scaled).std().item() == pytest.approx(1.0, abs=0.03)


def test_lgaa_is_a_per_channel_convex_combination() -> None:
    lgaa = LGAA(8).eval()
    f = torch.randn(2, 8, 6, 6)
    assert torch.allclose(lgaa(f, f), f, atol=1e-6)  # eq. (5) with F_i = F_j
    f_i, f_j = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    out = lgaa(f_i, f_j)
    assert ((out >= torch.minimum(f_i, f_j) - 1e-6) & (out <= torch.maximum(f_i, f_j) + 1e-6)).all()


def test_lgce_reweights_without_changing_sign() -> None:
    lgce = LGCE(8).eval()
    f_h = torch.randn(2, 8, 6, 6)
    out = lgce(f_h)  # eq. (8): F_H · Sigmoid(w_1 + w_2)
    assert (out * f_h >= 0).all() and (out.abs() <= f_h.abs()).all()


# --- CdSC's parts ----------------------------------------------------------------------------------


def test_cross_stitch_interleaves_channels() -> None:
    x1, x2 = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    stitched = cross_stitch(x1, x2)
    assert stitched.shape == (2, 6, 4, 5)
    assert torch.equal(stitched[:, 0::2], x1) and torch.equal(stitched[:, 1::2], x2)
    assert torch.equal(stitched[:, 2], x1[:, 1]) and torch.equal(stitched[:, 3], x2[:, 1])


def test_cross_difference_is_3d_then_2d_convolution() -> None:
    module = CrossDifference3D(8)
    conv3d = next(m for m in module.modules() if isinstance(m, nn.Conv3d))
    conv2d = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    assert conv3d.kernel_size == (3, 3, 3)
    assert (conv2d.kernel_size, conv2d.in_channels, conv2d.out_channels) == ((3, 3), 16, 8)
    assert module(torch.randn(2, 8, 6, 10), torch.randn(2, 8, 6, 10)).shape == (2, 8, 6, 10)


def test_sce_attention_only_scales_difference_features() -> None:
    sce = SemanticContextEnhancement(8).eval()
    x_s1, x_diff, x_s2 = (torch.randn(2, 8, 6, 10) for _ in range(3))
    out = sce(x_s1, x_diff, x_s2)
    ratio = out / x_diff  # one spatial map in (0, 1), the same for every channel
    assert ((ratio > 0) & (ratio < 1)).all()
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)


def test_cdsc_change_head_is_eq_6() -> None:
    head = tiny("cdsc").change_head
    kinds = [type(m) for m in head]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.Conv2d]
    assert (head[0].kernel_size, head[2].kernel_size, head[2].out_channels) == ((3, 3), (1, 1), 1)


def test_hierarchical_transformer_has_four_stages() -> None:
    encoder = HierarchicalTransformer(width=8, depths=(1, 1, 1, 1))
    features = encoder(torch.randn(1, 3, 64, 96))
    assert [f.shape[1] for f in features] == [8, 16, 40, 64]
    assert [tuple(f.shape[-2:]) for f in features] == [(16, 24), (8, 12), (4, 6), (2, 3)]
