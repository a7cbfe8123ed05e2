"""One epoch of the plain loop, given what its steps use as one :class:`~scd_core.trainer.loop.Optimisation`."""

from __future__ import annotations

import torch

from scd_core.trainer.distributed import Processes
from scd_core.trainer.initialise import build_model
from scd_core.trainer.loop import Optimisation, train_epoch
from scd_core.trainer.precision import Precision


def test_an_epoch_steps_the_optimiser_and_the_schedule_once_per_batch() -> None:
    torch.manual_seed(0)
    model, _ = build_model("fc_siam_diff", {"width": 4}, None, [f"class {i}" for i in range(7)], 3, None)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.PolynomialLR(optimiser, total_iters=4, power=1.0)
    precision = Precision.choose(torch.device("cpu"), "off", None)
    optimisation = Optimisation(
        model=model,
        loss_of=model.loss,
        optimiser=optimiser,
        schedule=schedule,
        precision=precision,
        scaler=precision.scaler(),
        processes=Processes(0, 1, torch.device("cpu")),
    )
    batches = [
        {
            "image1": torch.randn(2, 3, 32, 32),
            "image2": torch.randn(2, 3, 32, 32),
            "label1": torch.randint(0, 7, (2, 32, 32)),
            "label2": torch.randint(0, 7, (2, 32, 32)),
        }
        for _ in range(2)
    ]
    before = [p.detach().clone() for p in model.parameters()]
    result = train_epoch(optimisation, batches, steps=2, description="test")
    assert result.steps == 2 and result.images == 4 and result.loss > 0
    assert abs(optimiser.param_groups[0]["lr"] - 0.05) < 1e-9  # two of four linear steps from 0.1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
