"""What the ASN paper claims ATL does (§III-D5): retrained "with categorical weights", ψ1 and ψ2
"revise the threshold deflections caused by label imbalance". On a set where change is rare, ATL with
the weighted change term moves the effective threshold toward the rare class: the changed pixels get
a far higher P(change) than ATL with the change term unweighted gives them."""

from __future__ import annotations

import torch

from scd_core.labels import IGNORE
from scd_core.models import build

#: A changed pixel in this many: change is the rare class, as on SECOND (about 1 in 5) and rarer.
RARE = 0.06


def rare_change_batches(count: int, size: int = 32) -> list[tuple[torch.Tensor, ...]]:
    """Pairs where a rare square patch changed: date 2 differs there, both dates classed there."""
    generator = torch.Generator().manual_seed(3)
    batches = []
    for _ in range(count):
        x1 = torch.randn(4, 3, size, size, generator=generator)
        x2 = x1 + 0.1 * torch.randn(4, 3, size, size, generator=generator)
        changed = torch.rand(4, 1, size // 4, size // 4, generator=generator) < RARE
        changed = changed.repeat_interleave(4, 2).repeat_interleave(4, 3)[:, 0]
        x2 = torch.where(changed[:, None], x2 + 1.5, x2)
        label1 = torch.randint(1, 7, (4, size, size), generator=generator) * changed
        label2 = torch.randint(1, 7, (4, size, size), generator=generator) * changed
        batches.append((x1, x2, label1, label2))
    return batches


def change_probabilities(change_term: str, batches: list[tuple[torch.Tensor, ...]]) -> tuple[float, float]:
    """ATL (ψ only, on one untrained ASN) trained with ``change_term``: its mean P(change) over the
    changed pixels and over the unchanged ones."""
    torch.manual_seed(0)
    model = build("asn_atl", width=1, channel_factors=(1, 2), change_term=change_term).train()
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.02)
    for _ in range(2):
        for x1, x2, label1, label2 in batches:
            optimiser.zero_grad()
            model.loss(model(x1, x2), label1, label2).backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        p = torch.cat([torch.sigmoid(model(x1, x2)["change"][:, 0]).flatten() for x1, x2, _, _ in batches])
    truth = torch.cat([((label1 != 0) & (label1 != IGNORE)).flatten() for _, _, label1, _ in batches])
    return float(p[truth].mean()), float(p[~truth].mean())


def test_weighted_atl_moves_the_threshold_toward_the_rare_change_class():
    batches = rare_change_batches(4)
    share = sum(float((b[2] != 0).float().mean()) for b in batches) / len(batches)
    assert 0.02 < share < 0.1  # change is rare
    weighted_changed, weighted_unchanged = change_probabilities("weighted", batches)
    plain_changed, plain_unchanged = change_probabilities("unweighted", batches)
    # unweighted, P(change) sinks toward the rare class's share: at τ = 0.5 change is hardly ever called;
    # weighted, the same pixels stand near the balanced odds, τ = 0.5 in effect lowered toward the rare class
    assert plain_changed < 0.25 and weighted_changed > plain_changed + 0.2
    assert weighted_unchanged > plain_unchanged
