"""Training runs: the run folder, configs, ATL's second stage from init_from, other class counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from detect_testing import run_scd
from PIL import Image

from scd_core import checkpoint
from scd_core.errors import CheckpointError, InvalidOptionError
from scd_core.labels import LANDSAT_SCD, SECOND, index_to_rgb, read_label
from scd_core.trainer import config as configs
from scd_core.trainer.run import make_optimiser, make_schedule
from training.train import main, train

TINY = {"model": "fc_siam_diff", "hparams": {"width": 4}, "epochs": 2, "batch_size": 2, "crop": 64}


def test_a_run_folder_holds_config_log_metrics_state_and_a_checkpoint_detection_loads(small_second, tmp_path):
    out = tmp_path / "run"
    config = configs.from_dict({**TINY, "data": str(small_second), "out": str(out)})
    logged: list[str] = []
    path = train(config, echo=logged.append)
    assert path == out / "model.pt"
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "last.pt", "log.txt", "metrics.jsonl", "model.pt"]
    assert yaml.safe_load((out / "config.yaml").read_text()) == config.to_dict()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and [r["step"] for r in records] == [4, 8]
    assert set(records[0]) == {"epoch", "step", "loss", "lr", "images_per_s", "seconds", "val"}
    assert set(records[0]["val"]) == {"change", "per_date", "from_to"}
    assert (out / "log.txt").read_text().splitlines() == logged and "epoch 2/2" in logged[-1]
    model, metadata = checkpoint.load(path)
    assert metadata["model"] == "fc_siam_diff" and metadata["hparams"]["width"] == 4 and metadata["epochs"] == 2
    assert metadata["tile_size"] == 64 and metadata["threshold"] == 0.5 and metadata["labels"] == "second"
    assert metadata["scores"] == records[-1]["val"] and metadata["training"] == config.to_dict()
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and state["step"] == 8 and state["data"] == {"seed": 0, "next_epoch": 3}
    assert all(torch.equal(state["model"][k], v) for k, v in model.state_dict().items())


def test_configs_chain_bases_and_take_dotted_overrides(tmp_path):
    (tmp_path / "recipe.yaml").write_text(
        yaml.safe_dump({"model": "asn", "hparams": {"encoder": "residual"}, "epochs": 50})
    )
    (tmp_path / "row.yaml").write_text(yaml.safe_dump({"base": "recipe.yaml", "hparams": {"asp": False, "arp": False}}))
    config = configs.load(tmp_path / "row.yaml", ["hparams.encoder=xception", "epochs=3"], out="runs/x")
    assert config.hparams == {"encoder": "xception", "asp": False, "arp": False}
    assert config.epochs == 3 and config.out == "runs/x" and config.optimizer == "sgd"
    with pytest.raises(InvalidOptionError, match=r"unknown settings \['epoch'\]"):
        configs.from_dict({"model": "fc_ef", "epoch": 3})
    smoke = configs.smoke(config)
    assert smoke.hparams["width"] == 2 and smoke.epochs == 1 and smoke.max_steps == 2 and smoke.crop == 64


def test_every_standalone_config_loads_and_asn_atl_without_init_from_is_refused(tmp_path, capsys):
    for name in ("demo", "second_asn", "second_asn_atl", "second_lsafnet", "second_cdsc", "landsat_lsafnet"):
        configs.load(f"training/configs/{name}.yaml")
    path = tmp_path / "atl.yaml"
    path.write_text(yaml.safe_dump({"model": "asn_atl", "data": "x"}))
    assert main([str(path)]) == 2
    assert "set init_from to the ASN run's model.pt" in capsys.readouterr().err


def test_the_schedules_are_poly_and_linear_decay_from_the_base_rate():
    config = configs.from_dict({"model": "fc_ef", "learning_rate": 0.005})
    for schedule, at_half in (("poly", 0.005 * 0.5**0.9), ("linear", 0.0025)):
        for optimizer in ("sgd", "adam", "adamw"):
            run = configs.from_dict({**config.to_dict(), "schedule": schedule, "optimizer": optimizer, "epochs": 1})
            optimiser = make_optimiser(run, [torch.nn.Parameter(torch.zeros(1))])
            lr = make_schedule(run, optimiser, 100)
            rates = []
            for _ in range(100):
                rates.append(optimiser.param_groups[0]["lr"])
                optimiser.step()
                lr.step()
            assert rates[0] == 0.005 and rates[50] == pytest.approx(at_half)
    assert isinstance(
        make_optimiser(configs.from_dict({"model": "x", "optimizer": "adamw"}), [torch.nn.Parameter(torch.zeros(1))]),
        torch.optim.AdamW,
    )


@pytest.fixture(scope="module")
def trained_asn(small_second, tmp_path_factory):
    out = tmp_path_factory.mktemp("asn") / "run"
    config = configs.smoke(configs.from_dict({"model": "asn", "data": str(small_second), "out": str(out)}))
    return train(config, echo=lambda _: None)


def test_atl_second_stage_keeps_the_loaded_asn_exactly_and_trains_psi(small_second, trained_asn, tmp_path):
    settings = {
        "model": "asn_atl",
        "init_from": str(trained_asn),
        "data": str(small_second),
        "out": str(tmp_path / "atl"),
    }
    config = configs.smoke(configs.from_dict(settings))
    atl, metadata = checkpoint.load(train(config, echo=lambda _: None))
    asn, asn_metadata = checkpoint.load(trained_asn)
    assert metadata["hparams"] == {**asn_metadata["hparams"]}  # ATL's ASN is the checkpoint's ASN
    loaded, kept = asn.state_dict(), atl.asn.state_dict()
    assert loaded.keys() == kept.keys() and all(torch.equal(loaded[k], kept[k]) for k in loaded)
    # ψ1's and ψ2's last convolutions start at zero (atl.py): two steps moved them, and only them
    assert atl.psi1[2].weight.abs().sum() > 0 and atl.psi2[2].weight.abs().sum() > 0


def test_atl_with_dataset_weights_counts_the_training_set_and_records_the_weights(small_second, trained_asn, tmp_path):
    settings = {
        "model": "asn_atl",
        "hparams": {"weights": "dataset"},
        "init_from": str(trained_asn),
        "data": str(small_second),
        "out": str(tmp_path / "atl"),
    }
    config = configs.smoke(configs.from_dict(settings))
    _, metadata = checkpoint.load(train(config, echo=lambda _: None))
    hparams = metadata["hparams"]
    assert hparams["weights"] == "dataset"
    semantic, change = hparams["semantic_weights"], hparams["change_weights"]
    assert len(semantic) == 6 and len(change) == 2
    present = [w for w in semantic if w > 0]
    assert sum(present) / len(present) == pytest.approx(1, abs=1e-4) and sum(change) / 2 == pytest.approx(1, abs=1e-4)
    assert change[1] > change[0]  # change is the rarer: its pixels weigh more


def test_init_from_names_what_does_not_fit(small_second, trained_asn, tmp_path):
    payload = torch.load(trained_asn, weights_only=True)
    dropped = sorted(payload["state_dict"])[0]
    payload["state_dict"]["stray.weight"] = payload["state_dict"].pop(dropped)
    torch.save(payload, tmp_path / "edited.pt")
    edited = {"model": "asn", "init_from": str(tmp_path / "edited.pt"), "data": str(small_second)}
    with pytest.raises(CheckpointError, match=rf"missing keys \['{dropped}'\]; unexpected keys \['stray.weight'\]"):
        train(configs.from_dict({**edited, "hparams": {"width": 2}, "out": str(tmp_path / "a")}), echo=lambda _: None)
    other = {
        "model": "hrscd_str4",
        "init_from": str(trained_asn),
        "data": str(small_second),
        "out": str(tmp_path / "b"),
    }
    with pytest.raises(InvalidOptionError, match="holds a 'asn' model"):
        train(configs.from_dict(other), echo=lambda _: None)
    atl = {"model": "asn_atl", "hparams": {"encoder": "se"}, "init_from": str(trained_asn), "data": str(small_second)}
    with pytest.raises(InvalidOptionError, match=r"hparams\.encoder = 'se', but the asn of init_from has 'residual'"):
        train(configs.from_dict({**atl, "out": str(tmp_path / "c")}), echo=lambda _: None)
    missing = {**atl, "hparams": {}, "init_from": str(tmp_path / "none.pt"), "out": str(tmp_path / "d")}
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        train(configs.from_dict(missing), echo=lambda _: None)


def _as_landsat(second_root, root):
    """The synthetic SECOND scenes in Landsat-SCD's layout and four classes (water, ground → desert,
    low vegetation and trees → farmland, buildings and playgrounds → building)."""
    to_landsat = np.array([0, 4, 2, 1, 1, 3, 3], dtype=np.uint8)
    for folder in ("A", "B", "labelA", "labelB"):
        (root / folder).mkdir(parents=True)
    for split in ("train", "val"):
        names = []
        for path in sorted((second_root / split / "im1").glob("*.png")):
            name = f"{split}_{path.name}"
            names.append(name)
            for source, target in (("im1", "A"), ("im2", "B")):
                (root / target / name).write_bytes((second_root / split / source / path.name).read_bytes())
            for source, target in (("label1", "labelA"), ("label2", "labelB")):
                label = to_landsat[read_label(second_root / split / source / path.name, SECOND)]
                Image.fromarray(index_to_rgb(label, LANDSAT_SCD)).save(root / target / name)
        (root / f"{split}_list.txt").write_text("\n".join(names) + "\n")
    return root


def test_a_four_class_landsat_model_trains_saves_and_runs_in_scd_detect(small_second, collared, tmp_path):
    root = _as_landsat(small_second, tmp_path / "landsat")
    settings = {**TINY, "dataset": "landsat_scd", "data": str(root), "out": str(tmp_path / "run"), "tile_size": 128}
    path = train(configs.from_dict(settings), echo=lambda _: None)
    _, metadata = checkpoint.load(path)
    assert metadata["hparams"]["num_classes"] == 4 and metadata["labels"] == "landsat_scd"
    assert [c["name"] for c in metadata["classes"]] == ["no change", "farmland", "desert", "building", "water"]
    assert metadata["scores"]["from_to"]["OA"] > 0
    done = run_scd("detect", collared.before, collared.after, "-o", tmp_path / "out", "--model", path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "changes.gpkg").is_file()
