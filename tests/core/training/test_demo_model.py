"""The shipped demo model (``make demo-model``): ASN-ATL trained through the pipeline on synthetic scenes,
saying so, and with probabilities that mean what they say at the paper's τ = 0.5."""

from __future__ import annotations

import numpy as np
import torch

from scd_core import checkpoint, synth
from scd_core.metrics import SCDConfusion
from scd_core.models.inference import class_maps, forward_padded
from scd_core.resources import DEMO_MODEL


def test_the_demo_model_is_asn_atl_trained_on_synthetic_scenes_and_detects_at_one_half():
    model, metadata = checkpoint.load(DEMO_MODEL)
    assert metadata["model"] == "asn_atl" and metadata["threshold"] == 0.5
    assert metadata["training_data"]["kind"] == "synthetic" and metadata["training_data"]["description"]
    assert metadata["training"]["init_from"] == "build/demo-runs/asn/model.pt"

    scene = synth.make_scene(256, 12345)  # not among the training or validation seeds
    x1, x2 = (
        torch.from_numpy(np.ascontiguousarray(i.transpose(2, 0, 1))).float()[None] / 255
        for i in (scene.image1, scene.image2)
    )
    with torch.no_grad():
        pred1, pred2 = class_maps(forward_padded(model, x1, x2), 0.5)
    confusion = SCDConfusion()
    confusion.update(pred1[0].numpy(), pred2[0].numpy(), scene.label1, scene.label2)
    scores = confusion.scores()["from_to"]
    assert scores["IoU_c"] > 20 and scores["SeK"] > 0
