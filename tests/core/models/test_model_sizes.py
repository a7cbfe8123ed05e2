"""`scd models --json` sizes against the figures the model docstrings document, with their sources.

The encoders are compared with their published sizes (torchvision's ResNet-34 without its classifier,
SegFormer's MiT-B2); the whole models with the totals their module docstrings state, so a change of
width or depth cannot slip past the documentation.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import pytest
import torch

from scd_core.cli import models as models_command
from scd_core.models.mit import MIT_B2_DEPTHS, HierarchicalTransformer
from scd_core.models.resnet import ResNet34

#: (model, encoder) → parameters in millions, as documented (module docstring named beside each).
DOCUMENTED_TOTALS = {
    ("lsafnet", None): 22.39,  # lsafnet.py: ResNet-34 21.28 M + SFM and decoders 1.11 M
    ("cdsc", None): 33.95,  # cdsc.py: MiT-b2 24.20 M + heads 9.76 M
}


def _parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def rows() -> dict:
    """What ``scd models --json`` prints, by (model, encoder)."""
    parser = argparse.ArgumentParser()
    models_command.add_parser(parser.add_subparsers())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert models_command.run(parser.parse_args(["models", "--json"])) == 0
    return {(row["name"], row["encoder"]): row for row in json.loads(printed.getvalue())}


def test_encoders_have_their_published_sizes() -> None:
    with torch.device("meta"):
        resnet, mit_b2 = ResNet34(3, 64), HierarchicalTransformer(3, 64, MIT_B2_DEPTHS)
    assert _parameters(resnet) == 21_284_672  # torchvision resnet34: 21,797,672 minus its 512×1000 fc
    assert _parameters(mit_b2) / 1e6 == pytest.approx(24.2, abs=0.05)  # SegFormer, Table 1: MiT-B2 24.2 M


@pytest.mark.parametrize(("key", "millions"), list(DOCUMENTED_TOTALS.items()), ids=lambda v: str(v))
def test_scd_models_json_sizes_match_the_documented_ones(rows: dict, key: tuple, millions: float) -> None:
    assert rows[key]["params"] / 1e6 == pytest.approx(millions, abs=0.005)


def test_atl_adds_only_psi1_and_psi2_to_asn(rows: dict) -> None:
    for encoder in ("residual", "xception", "se"):
        added = rows[("asn_atl", encoder)]["params"] - rows[("asn", encoder)]["params"]
        # ψ1: 3×3 convs 6→16→6; ψ2: 12→16→1 (atl.py)
        assert added == (6 * 16 * 9 + 16) + (16 * 6 * 9 + 6) + (12 * 16 * 9 + 16) + (16 * 1 * 9 + 1)
