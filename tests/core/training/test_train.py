"""Training: SECOND-layout dataset, the paper's augmentation, a short run ending in a loadable checkpoint."""

from __future__ import annotations

import pytest
import torch
import yaml

from scd_core import checkpoint, synth
from scd_core.labels import IGNORE
from training.datasets import SecondDataset
from training.train import CALIBRATION_GRID, TrainConfig, main, make_optimiser, train
from training.transforms import Augment, random_crop, rescale

NORMALISATION = checkpoint.default_metadata({"in_channels": 3})["normalisation"]


@pytest.fixture(scope="module")
def second_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("second")
    synth.write_second(root, n_pairs=4, size=64, seed=3)
    return root


def test_dataset_reads_normalised_images_and_labels(second_root):
    dataset = SecondDataset(second_root, NORMALISATION)
    sample = dataset[0]
    assert len(dataset) == 4
    assert sample["image1"].shape == (3, 64, 64) and sample["image1"].dtype == torch.float32
    assert sample["image1"].min() >= 0.0 and sample["image2"].max() <= 1.0  # mean 0, std 255
    assert sample["label1"].dtype == torch.int64 and int(sample["label1"].max()) <= 6
    assert torch.equal(sample["label1"] == 0, sample["label2"] == 0)


def _sample_with_label_in_pixels(size: int = 40) -> dict[str, torch.Tensor]:
    label = torch.randint(0, 7, (size, size))
    image = label.float()[None].repeat(3, 1, 1)  # every pixel's value is its class
    return {"image1": image, "image2": image + 10, "label1": label, "label2": label}


def test_augmentation_moves_images_and_labels_together():
    torch.manual_seed(0)
    augment = Augment(crop=32, scale_range=(1.0, 1.0))  # flips and crop only: exact correspondence
    for _ in range(5):
        sample = augment(_sample_with_label_in_pixels())
        assert sample["label1"].shape == (32, 32) and sample["image1"].shape == (3, 32, 32)
        assert torch.equal(sample["image1"][0].long(), sample["label1"])
        assert torch.equal(sample["image2"][0].long() - 10, sample["label2"])


def test_rescale_keeps_labels_as_classes_and_crop_pads_with_ignore():
    sample = rescale(_sample_with_label_in_pixels(), 0.5)
    assert sample["label1"].shape == (20, 20) and set(sample["label1"].unique().tolist()) <= set(range(7))
    cropped = random_crop(sample, 32)
    assert cropped["label1"].shape == (32, 32)
    assert (cropped["label1"][20:] == IGNORE).all() and (cropped["image1"][:, 20:] == 0).all()


def test_poly_policy_is_torchs_polynomial_lr_from_the_base_rate():
    config = TrainConfig(model="fc_ef", train_root="unused", output="unused", learning_rate=0.005)
    optimiser = make_optimiser(config, [torch.nn.Parameter(torch.zeros(1))])
    schedule = torch.optim.lr_scheduler.PolynomialLR(optimiser, total_iters=100, power=0.9)
    rates = []
    for _ in range(100):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        schedule.step()
    assert rates[0] == 0.005
    assert rates[50] == pytest.approx(0.005 * 0.5**0.9)


def test_short_training_run_writes_a_checkpoint_detection_can_load(second_root, tmp_path):
    config = TrainConfig(
        model="fc_siam_diff",
        hparams={"width": 4},
        train_root=str(second_root),
        val_root=str(second_root),
        output=str(tmp_path / "model.pt"),
        epochs=2,
        batch_size=2,
        crop=64,
        learning_rate=0.01,
        calibrate_threshold=True,
    )
    logged = []
    path = train(config, log=logged.append)
    model, metadata = checkpoint.load(path)
    assert metadata["model"] == "fc_siam_diff" and metadata["hparams"]["width"] == 4
    assert metadata["tile_size"] == 64 and metadata["normalisation"] == NORMALISATION
    assert set(metadata["scores"]) == {"per_date", "from_to"}
    assert len(logged) == 3 and "from_to SeK" in logged[1] and logged[2].startswith("calibrated threshold")
    assert metadata["threshold"] in CALIBRATION_GRID
    with torch.no_grad():
        outputs = model(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))
    assert outputs["change"].shape == (1, 1, 64, 64)


def test_config_rejects_unknown_settings(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model": "fc_ef", "train_root": "x", "output": "y", "epoch": 3}))
    with pytest.raises(ValueError, match="unknown settings \\['epoch'\\]"):
        TrainConfig.from_yaml(path)


def test_command_line_overrides(second_root, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": "fc_ef",
                "hparams": {"width": 4},
                "train_root": str(second_root),
                "output": str(tmp_path / "out.pt"),
                "epochs": 5,
                "batch_size": 2,
                "crop": 32,
            }
        )
    )
    assert main([str(path), "--set", "epochs=1"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out.pt")
    assert checkpoint.load(tmp_path / "out.pt")[1]["epochs"] == 1
