"""The model contract for every registered model and encoder variant, and what is particular to ASN.

The contract tests are parametrized over the registry, so every model, present and future, gets them.
Models are built narrow (``width=4``), fed 32×64 batches and run on one thread (intra-op threads only
cost time on models this small), so that the file runs in well under two minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from scd_core.cli import COMMANDS
from scd_core.cli import models as models_command
from scd_core.labels import IGNORE, change_code
from scd_core.models import available, build, spec, summary
from scd_core.models.asn import ASN, BranchWeights, ConvolutionSequence, GlobalContext, SqueezeGate
from scd_core.models.atl import ASNWithATL
from scd_core.models.decoders import Decoder
from scd_core.models.encoders import BLOCKS, ENCODERS, Encoder
from scd_core.models.inference import class_maps, forward_padded
from scd_core.models.losses import (
    change_type_targets,
    class_counts,
    inverse_frequency,
    scd_loss,
    semantic_targets,
)

#: Every (model, encoder) pair the registry offers; ``None`` for models without encoder variants.
ALL_VARIANTS = [(name, encoder) for name in available() for encoder in spec(name).encoders or (None,)]
#: The contract runs on the basic-block encoders, which ``width`` narrows; the ImageNet backbones keep
#: their published widths whatever ``width`` is, and test_pretrained_encoders.py runs every model with them.
VARIANTS = [(name, encoder) for name, encoder in ALL_VARIANTS if encoder is None or encoder in BLOCKS]
IDS = [name if encoder is None else f"{name}-{encoder}" for name, encoder in VARIANTS]
TINY_WIDTH = 4
#: Shorter convolution sequences for ASN's contract tests (its paper's five are tested on their own).
TINY_HPARAMS = {"asn": {"channel_factors": (1, 2)}, "asn_atl": {"channel_factors": (1, 2)}}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(name: str, encoder: str | None) -> torch.nn.Module:
    torch.manual_seed(0)
    encoder_hparams = {} if encoder is None else {"encoder": encoder}
    return build(name, width=TINY_WIDTH, **encoder_hparams, **TINY_HPARAMS.get(name, {}))


def synthetic_batch(height: int = 32, width: int = 64, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Images and consistent SECOND labels: both dates classed where changed, 0 elsewhere, some 255."""
    generator = torch.Generator().manual_seed(1)
    x1 = torch.randn(batch, 3, height, width, generator=generator)
    x2 = torch.randn(batch, 3, height, width, generator=generator)
    changed = torch.rand(batch, height, width, generator=generator) < 0.4
    label1 = torch.randint(1, 7, (batch, height, width), generator=generator) * changed
    label2 = torch.randint(1, 7, (batch, height, width), generator=generator) * changed
    ignored = torch.rand(batch, height, width, generator=generator) < 0.05
    return x1, x2, label1.masked_fill(ignored, IGNORE), label2.masked_fill(ignored, IGNORE)


# --- the contract, for every model and encoder ---------------------------------------------------


@pytest.mark.parametrize(("name", "encoder"), VARIANTS, ids=IDS)
@pytest.mark.parametrize(("batch", "height", "width"), [(1, 256, 256), (2, 96, 160)], ids=["256x256", "96x160"])
def test_output_shapes(name: str, encoder: str | None, batch: int, height: int, width: int) -> None:
    model = tiny(name, encoder).eval()
    with torch.no_grad():
        outputs = model(torch.randn(batch, 3, height, width), torch.randn(batch, 3, height, width))
    assert outputs["sem1"].shape == outputs["sem2"].shape == (batch, 6, height, width)
    assert outputs["change"].shape == (batch, 1, height, width)


@pytest.mark.parametrize(("name", "encoder"), VARIANTS, ids=IDS)
def test_backward_gives_finite_gradients_on_every_trainable_parameter(name: str, encoder: str | None) -> None:
    model = tiny(name, encoder).train()
    x1, x2, label1, label2 = synthetic_batch()
    loss = model.loss(model(x1, x2), label1, label2)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    trainable = {key: p for key, p in model.named_parameters() if p.requires_grad}
    assert trainable
    missing = [key for key, p in trainable.items() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())
    assert any(p.grad.abs().sum() > 0 for p in trainable.values())


@pytest.mark.parametrize(("name", "encoder"), VARIANTS, ids=IDS)
def test_eval_outputs_are_deterministic(name: str, encoder: str | None) -> None:
    model = tiny(name, encoder).eval()
    x1, x2, _, _ = synthetic_batch()
    with torch.no_grad():
        first, second = model(x1, x2), model(x1, x2)
    for key in ("sem1", "sem2", "change"):
        assert torch.equal(first[key], second[key])


@pytest.mark.parametrize(("name", "encoder"), VARIANTS, ids=IDS)
def test_a_few_optimiser_steps_reduce_the_loss(name: str, encoder: str | None) -> None:
    model = tiny(name, encoder).train()
    x1, x2, label1, label2 = synthetic_batch()
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(3):
        optimiser.zero_grad()
        loss = model.loss(model(x1, x2), label1, label2)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        losses.append(model.loss(model(x1, x2), label1, label2).item())
    assert losses[-1] < losses[0], losses


def test_padding_helper_runs_any_size_and_class_maps_follow_eq_1() -> None:
    model = tiny("fc_ef", "residual").eval()
    with torch.no_grad():
        outputs = forward_padded(model, torch.randn(1, 3, 70, 45), torch.randn(1, 3, 70, 45))
    assert outputs["sem1"].shape == (1, 6, 70, 45) and outputs["change"].shape == (1, 1, 70, 45)
    before, after = class_maps(outputs, tau=0.5)
    unchanged = torch.sigmoid(outputs["change"][:, 0]) < 0.5
    assert ((before == 0) == unchanged).all() and ((after == 0) == unchanged).all()
    assert before[~unchanged].min() >= 1 and before.max() <= 6


@pytest.fixture(scope="module")
def table() -> list[dict]:
    """Every variant counted for real, once per module (about half a second each on the meta device)."""
    return summary.model_table()


def test_models_json_prints_the_stored_table_and_it_equals_a_fresh_count(
    capsys: pytest.CaptureFixture, table: list[dict]
) -> None:
    """``scd models`` prints the stored table (instant); ``table`` is every variant counted now."""
    assert "models" in COMMANDS
    parser = argparse.ArgumentParser()
    models_command.add_parser(parser.add_subparsers())
    assert models_command.run(parser.parse_args(["models", "--json"])) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == table, "a model changed: python -m scd_core.models.summary rewrites the stored table"
    assert [(row["name"], row["encoder"]) for row in rows] == ALL_VARIANTS
    assert {"asn", "asn_atl", "fc_ef", "fc_siam_conc", "fc_siam_diff", "lsafnet", "cdsc"} <= {r["name"] for r in rows}
    assert {f"hrscd_str{i}" for i in range(1, 5)} <= {r["name"] for r in rows}
    assert all(row["paper"] and row["params"] > 0 and row["macs"] > 0 for row in rows)


def test_scd_models_lists_without_importing_torch() -> None:
    """The listing must come within a second or two: importing torch alone takes several."""
    script = (
        "import sys, contextlib, io; from scd_core.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): assert main(['models']) == 0\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_readme_model_table_is_what_scd_models_prints(table: list[dict]) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert models_command.markdown_table(table) in readme


def test_parameters_and_macs_are_counted_on_the_meta_device() -> None:
    counts = {
        name: summary.count(name, **({"encoder": "residual"} if spec(name).encoders else {})) for name in available()
    }
    assert all(params > 0 and macs > 0 for params, macs in counts.values())
    params, macs = counts["asn"]
    assert macs > counts["hrscd_str4"][1] > counts["hrscd_str3"][1]  # aSP + aRP; str4's wider skips
    assert 0 < counts["asn_atl"][0] - params < 10_000  # ψ1, ψ2 are small
    with torch.device("meta"):
        asn = build("asn")
    assert params == sum(p.numel() for p in asn.parameters())


# --- the HRSCD layout and the encoder blocks -------------------------------------------------------


def test_registry_encoders_are_the_encoder_blocks_and_backbones() -> None:
    for name in available():
        assert spec(name).encoders in ((), tuple(BLOCKS), ENCODERS)
    assert spec("asn_atl").encoders == ENCODERS  # γ is the paper's per block, 0.5 on a backbone
    with torch.device("meta"):
        assert build("asn_atl", encoder="xception").gamma == 0.4
        assert build("asn_atl", encoder="efficientnet_lite0").gamma == 0.5


@pytest.mark.parametrize("encoder", list(BLOCKS))
def test_backbone_has_10_encoder_and_13_decoder_blocks(encoder: str) -> None:
    encoder_module = Encoder(3, TINY_WIDTH, encoder)
    assert len(encoder_module.blocks) == 10
    assert all(type(block) is BLOCKS[encoder] for block in encoder_module.blocks)
    assert len(Decoder(32 * TINY_WIDTH, encoder_module.channels[:-1], TINY_WIDTH).blocks) == 13


# --- ASN -------------------------------------------------------------------------------------------


def test_asn_defaults_are_the_papers_hyper_parameters() -> None:
    with torch.device("meta"):
        model = ASN()
    pyramid = model.asp.pyramid
    assert [len(row) for row in pyramid.sequences] == [3, 3, 3]  # N_r × N_d sequences
    widths = [[layer[0].out_channels for layer in row[0].layers] for row in pyramid.sequences]
    assert widths == [[16 * c for c in range(1, 6)], [32 * c for c in range(1, 6)], [64 * c for c in range(1, 6)]]
    assert [seq.layers[0][0].dilation for seq in pyramid.sequences[0]] == [(1, 1), (6, 6), (12, 12)]
    pooled = {id(m.project) for m in model.modules() if isinstance(m, GlobalContext)}  # 1×1 on a pooled vector
    for module in (model.asp, model.arp):
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d) and id(m) not in pooled]
        assert {m.kernel_size for m in convs} == {(3, 3)}


def test_spatial_hyper_parameter_zero_is_an_undilated_3x3_convolution() -> None:
    sequence = ConvolutionSequence(8, [4, 8, 12], dilation=0)
    outputs = sequence(torch.randn(1, 8, 16, 16))
    assert [o.shape[1] for o in outputs] == [4, 8, 12]
    assert all(layer[0].dilation == (1, 1) and layer[0].kernel_size == (3, 3) for layer in sequence.layers)


def test_branch_weights_are_normalised_and_depend_on_each_input() -> None:
    torch.manual_seed(0)
    weights = BranchWeights(channels=16, num_v=15, num_w=3)
    v, w = weights(torch.randn(2, 16, 8, 8))
    assert v.shape == (2, 15) and w.shape == (2, 3)
    for vector in (v, w):
        assert (vector > 0).all()
        torch.testing.assert_close(vector.sum(dim=1), torch.ones(2))
    assert not torch.allclose(v[0], v[1])


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_squeeze_gate_equals_its_squeeze_of_the_concatenated_weighted_parts(mode: str) -> None:
    # eq. (3)-(4): g(∪_i v_i·φ_i) + F, which the gate computes without forming the concatenation
    gate = SqueezeGate(in_channels=4 + 8 + 12, channels=6).train(mode == "train")
    with torch.no_grad():  # batch statistics away from 0 and 1, so a wrong scale shows
        for module in gate.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1), module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 2), module.bias.uniform_(-1, 1)
    parts = [torch.randn(2, c, 9, 11) for c in (4, 8, 12)]
    weights = [torch.rand(2)[:, None, None, None] for _ in parts]
    skip = torch.randn(2, 6, 9, 11)
    concatenated = torch.cat([w * x for w, x in zip(weights, parts, strict=True)], dim=1)
    expected = F.relu(gate.squeeze(concatenated) + skip)
    torch.testing.assert_close(gate(parts, weights, skip), expected, rtol=1e-5, atol=1e-5)


def _parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_ablation_switches_remove_what_tables_v_and_vi_remove() -> None:
    with torch.device("meta"):
        full = ASN(width=TINY_WIDTH)
        without_arp = ASN(width=TINY_WIDTH, arp=False)  # w/o-R
        without_both = ASN(width=TINY_WIDTH, asp=False, arp=False)  # w/o-R&S
        without_pairs = ASN(width=TINY_WIDTH, asymmetric_pairs=False)  # w/o-AF
    assert full.asp is not None and full.arp is not None
    assert without_arp.asp is not None and without_arp.arp is None
    assert without_both.asp is None and without_both.arp is None
    assert _parameters(full) > _parameters(without_arp) > _parameters(without_both)
    # Dense pairs: N_d² (j1, j2) per k in aSP and N_r² (k1, k2) in aRP; without them only j1 = j2, k1 = k2.
    assert len(full.asp.pairs) == 9 and len(full.arp.pairs) == 9
    assert without_pairs.asp.pairs == [(0, 0), (1, 1), (2, 2)] == without_pairs.arp.pairs
    assert _parameters(without_pairs) < _parameters(full)
    with pytest.raises(ValueError, match="aRP"):
        ASN(width=TINY_WIDTH, asp=False)


@pytest.mark.parametrize("hparams", [{"arp": False}, {"asp": False, "arp": False}, {"asymmetric_pairs": False}])
def test_ablated_asn_runs_forward_and_backward(hparams: dict) -> None:
    torch.manual_seed(0)
    model = ASN(width=TINY_WIDTH, **hparams)
    x1, x2, label1, label2 = synthetic_batch()
    outputs = model(x1, x2)
    assert outputs["change"].shape == (2, 1, 32, 64)
    model.loss(outputs, label1, label2).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# --- ATL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", list(BLOCKS))
def test_atl_stage_trains_only_psi1_and_psi2(encoder: str) -> None:
    model = tiny("asn_atl", encoder).train()
    assert not model.asn.training  # frozen batch-norm statistics too
    trainable = [key for key, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(key.startswith(("psi1.", "psi2.")) for key in trainable)
    frozen = {key: value.clone() for key, value in model.asn.state_dict().items()}
    psi = {key: value.clone() for key, value in model.state_dict().items() if key.startswith("psi")}
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x1, x2, label1, label2 = synthetic_batch()
    for _ in range(2):
        optimiser.zero_grad()
        model.loss(model(x1, x2), label1, label2).backward()
        optimiser.step()
    after = model.state_dict()
    assert all(torch.equal(value, after[f"asn.{key}"]) for key, value in frozen.items())
    assert any(not torch.equal(value, after[key]) for key, value in psi.items())


def test_atl_gamma_follows_the_encoder_and_starts_from_asns_outputs() -> None:
    assert tiny("asn_atl", "residual").gamma == tiny("asn_atl", "se").gamma == 0.5
    assert tiny("asn_atl", "xception").gamma == 0.4
    model = tiny("asn_atl", "residual").eval()
    x1, x2, _, _ = synthetic_batch()
    with torch.no_grad():
        revised, raw = model(x1, x2), model.asn(x1, x2)
    for key in ("sem1", "sem2", "change"):
        torch.testing.assert_close(revised[key], raw[key])  # ψ's last convolution starts at zero


def test_atl_revises_outputs_as_eqs_10_and_11() -> None:
    model = ASNWithATL(width=TINY_WIDTH, gamma=0.5).eval()
    for psi in (model.psi1, model.psi2):
        torch.nn.init.normal_(psi[2].weight, std=0.1)
    x1, x2, _, _ = synthetic_batch()
    with torch.no_grad():
        raw, revised = model.asn(x1, x2), model(x1, x2)
        sem1 = raw["sem1"] + 0.5 * model.psi1(raw["sem1"])
        sem2 = raw["sem2"] + 0.5 * model.psi1(raw["sem2"])
        change = raw["change"] + 0.5 * model.psi2(torch.cat([sem1, sem2], dim=1))
    torch.testing.assert_close(revised["sem1"], sem1)
    torch.testing.assert_close(revised["change"], change)


# --- baselines' outputs and losses -----------------------------------------------------------------


def test_hrscd_str1_changes_exactly_where_the_arg_max_labels_differ_as_eq_2() -> None:
    model = tiny("hrscd_str1", "residual").eval()
    x1, x2, _, _ = synthetic_batch()
    with torch.no_grad():
        outputs = model(x1, x2)
    differ = outputs["sem1"].argmax(1) != outputs["sem2"].argmax(1)
    assert differ.any() and (~differ).any()
    for tau in (0.05, 0.5, 0.95):
        before, after = class_maps(outputs, tau)
        assert torch.equal(before != 0, differ) and torch.equal(after != 0, differ)
        assert not ((before == after) & (before != 0)).any()  # no change between the same class


def joint_reading(joint: torch.Tensor, classes: int, tau: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """HRSCD.str2 as its paper reads it: the arg-max over no change and the N² from-to classes (τ a
    bias of logit(τ) on no change), as per-date class maps."""
    biased = joint.clone()
    biased[:, 0] += torch.logit(torch.tensor(tau))
    best = biased.argmax(1)
    changed = best > 0
    before = torch.where(changed, (best - 1) // classes + 1, 0)
    after = torch.where(changed, (best - 1) % classes + 1, 0)
    return before.to(torch.uint8), after.to(torch.uint8)


def test_hrscd_str2_reads_as_the_arg_max_of_its_joint_classes_same_class_pairs_included() -> None:
    model = tiny("hrscd_str2", "residual").eval()
    x1, x2, label1, label2 = synthetic_batch()
    with torch.no_grad():
        outputs = model(x1, x2)
    for got, want in zip(class_maps(outputs, 0.5), joint_reading(outputs["change_type"], 6), strict=True):
        assert torch.equal(got, want)
    expected = F.cross_entropy(outputs["change_type"], change_type_targets(label1, label2, 6), ignore_index=IGNORE)
    torch.testing.assert_close(model.loss(outputs, label1, label2), expected)
    # logits where the best pair is a same-class one, building → building, and no change comes second
    joint = torch.randn(2, 37, 8, 8, generator=torch.Generator().manual_seed(4))
    joint[:, 1 + 6 * 4 + 4] += 6.0
    outputs = model.outputs_of_joint(joint)
    before, after = class_maps(outputs, 0.5)
    assert (before == 5).all() and (after == 5).all()
    for tau in (0.2, 0.5, 0.8):  # τ biases no change, nothing else
        for got, want in zip(class_maps(outputs, tau), joint_reading(joint, 6, tau), strict=True):
            assert torch.equal(got, want)


def test_change_type_targets_are_the_label_module_codes() -> None:
    _, _, label1, label2 = synthetic_batch()
    targets = change_type_targets(label1, label2, 6)
    valid = (label1 != IGNORE) & (label2 != IGNORE)
    expected = change_code(label1[valid].numpy(), label2[valid].numpy())
    assert torch.equal(targets[valid], torch.from_numpy(expected).long())
    assert (targets[~valid] == IGNORE).all()


def test_inverse_frequency_weights_average_one_over_the_present_classes() -> None:
    target = torch.tensor([0, 0, 0, 1, IGNORE, IGNORE])
    counts = class_counts(target, 3)
    torch.testing.assert_close(counts, torch.tensor([3.0, 1.0, 0.0]))
    torch.testing.assert_close(inverse_frequency(counts), torch.tensor([0.5, 1.5, 0.0]))


def test_atl_weights_the_categories_and_the_change_term_as_the_paper_says_unless_asked_not_to() -> None:
    model = tiny("asn_atl", "residual").train()
    x1, x2, label1, label2 = synthetic_batch()
    outputs = model(x1, x2)
    targets = torch.cat([semantic_targets(label1).flatten(), semantic_targets(label2).flatten()])
    weights = inverse_frequency(class_counts(targets, 6))
    valid = label1 != IGNORE
    changed, unchanged = int(((label1 != 0) & valid).sum()), int(((label1 == 0) & valid).sum())
    # the batch's change term: positives weighted by w_change / w_no-change = unchanged / changed pixels
    paper = scd_loss(
        outputs, label1, label2, semantic_weight=weights, change_pos_weight=torch.tensor(unchanged / changed)
    )
    torch.testing.assert_close(model.loss(outputs, label1, label2), paper)
    model.change_term = "unweighted"
    torch.testing.assert_close(
        model.loss(outputs, label1, label2), scd_loss(outputs, label1, label2, semantic_weight=weights)
    )
    model.change_term, model.change_weights = "weighted", (1.0, 4.0)
    given = scd_loss(outputs, label1, label2, semantic_weight=weights, change_pos_weight=torch.tensor(4.0))
    torch.testing.assert_close(model.loss(outputs, label1, label2), given)
    with pytest.raises(ValueError, match="the trainer counts the training set"):
        build("asn_atl", width=TINY_WIDTH, weights="dataset")
