"""End-to-end training on a tiny dataset: files written, manifest true to the model, resume."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from edge.cli.main import app
from edge.errors import EdgeError
from edge.manifest import read_manifest
from edge.train import checkpoint

runner = CliRunner()
FAST = ["--no-pretrained", "--image-size", "64", "--batch-size", "8"]


def test_run_folder_has_everything(tiny_run):
    for name in ("checkpoint.pt", "manifest.json", "metrics.json", "config.json", "split.json", "labels.txt",
                 "confusion_matrix.png", "training_curves.png"):
        assert (tiny_run / name).is_file(), name
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert set(metrics["per_class_accuracy"]) == {"daisy", "roses", "tulips"}
    assert json.loads((tiny_run / "config.json").read_text())["model"] == "mobilenet_v3_small"


def test_manifest_matches_the_real_model(tiny_run):
    manifest = read_manifest(tiny_run / "manifest.json")
    model = checkpoint.rebuild(checkpoint.load(tiny_run))
    with torch.no_grad():
        out = model(torch.zeros(2, *manifest.input_size))
    assert out.shape == (2, len(manifest.labels))
    assert manifest.labels == ("daisy", "roses", "tulips")
    assert (manifest.preprocessing.crop_size, manifest.preprocessing.resize_size) == (64, 73)
    assert manifest.preprocessing.mean == (0.485, 0.456, 0.406)  # the zoo's, for mobilenet_v3_small
    assert manifest.created_by["torch"] == str(torch.__version__)
    assert len(manifest.source_sha256) == 64


def test_cli_feature_extract_prints_an_honest_estimate(tiny_data, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tiny_data), "--out", str(out), "--strategy", "feature-extract",
                                 "--feature-views", "1", "--cv-folds", "3", *FAST])
    assert result.exit_code == 0, result.output
    assert "Trainable:" in result.output and "estimated accuracy on unseen photos:" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["strategy"] == "feature-extract" and metrics["feature_extract_seconds"] > 0
    assert metrics["estimate_method"] == "nested 3-fold CV" and metrics["estimate_photos"] == 18
    low, high = metrics["estimated_accuracy_ci95"]
    assert low <= metrics["estimated_accuracy"] <= high
    assert metrics["trained_on_images"] == 18  # the deployed head is refit on every labelled photo
    assert read_manifest(out / "manifest.json").metrics["estimated_accuracy"] == metrics["estimated_accuracy"]
    assert len(metrics["estimate_fold_accuracy"]) == 3


def test_auto_reports_choice_and_reason(tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--out", str(tmp_path / "r"), "--feature-views", "1",
                                 "--cv-folds", "2", *FAST])
    assert result.exit_code == 0, result.output
    assert "strategy: feature-extract (" in result.output and "18 labelled images < 1000" in result.output


def test_ctrl_c_leaves_a_checkpoint_and_resume_continues(tiny_data, tmp_path, monkeypatch):
    from edge.train import run as run_module
    from edge.train.config import TrainConfig

    real_epoch, calls = run_module.train_epoch, []

    def interrupted_in_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(run_module, "train_epoch", interrupted_in_epoch_2)
    out = tmp_path / "run"
    cfg = TrainConfig(data=str(tiny_data), out=str(out), model="mobilenet_v3_small", strategy="finetune", epochs=2,
                      pretrained=False, image_size=64, batch_size=8)
    with pytest.raises(KeyboardInterrupt):
        run_module.train(cfg, log=lambda *_: None)
    assert checkpoint.load(out)["manifest"].labels == ("daisy", "roses", "tulips")  # usable after Ctrl-C
    monkeypatch.setattr(run_module, "train_epoch", real_epoch)
    result = runner.invoke(app, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "finetune 2/2" in result.output and "finetune 1/2" not in result.output
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train", "--resume", "--out", str(tmp_path / "none")])
    assert result.exit_code == 1 and "nothing to resume" in result.output


def test_bad_checkpoints_are_clear_errors(tmp_path, tiny_run):
    with pytest.raises(EdgeError, match="not found"):
        checkpoint.load(tmp_path / "missing.pt")
    data = (tiny_run / "checkpoint.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(EdgeError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "truncated.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(EdgeError, match="foreign"):
        checkpoint.load(tmp_path / "foreign.pt")
    torch.save({"format": "edge-checkpoint", "model_state": {}}, tmp_path / "nomanifest.pt")
    with pytest.raises(EdgeError, match="no manifest"):
        checkpoint.load(tmp_path / "nomanifest.pt")


def test_same_seed_same_weights_on_cpu(tiny_data, tmp_path):
    from edge.train.config import TrainConfig
    from edge.train.run import train

    states = []
    for name in ("a", "b"):
        cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / name), model="mobilenet_v3_small",
                          strategy="auto", feature_views=1, cv_folds=2, pretrained=False, image_size=64, batch_size=8,
                          seed=3)
        train(cfg, log=lambda *_: None)
        states.append(checkpoint.load(tmp_path / name)["model_state"])
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_classify_imagenet_cli(tmp_path):
    from PIL import Image

    from tests.conftest import real_photos

    photo = real_photos(1, ("daisy",))["daisy"][0]
    Image.open(photo).save(tmp_path / "daisy.png")
    result = runner.invoke(app, ["classify", str(tmp_path / "daisy.png")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "%" in line]
    assert len(lines) == 5 and "daisy" in lines[0]


def test_every_config_key_is_a_flag_or_a_command_argument():
    """Flags derive from TrainConfig's fields: a new setting is a flag without touching the command."""
    import inspect
    from dataclasses import fields

    from edge.train.cli import train
    from edge.train.config import TrainConfig

    flags = set(inspect.signature(train).parameters)
    arguments = {"data", "more_data", "out"}  # the command's own arguments and --out
    assert {f.name for f in fields(TrainConfig)} <= flags | arguments
    assert arguments <= flags


def test_a_val_folder_is_measured_and_kept_out_of_every_decision(tmp_path):
    """train/ + val/: the estimate, folds, temperature and unknown threshold use train/ alone; val/ is
    reported beside the estimate, with its interval."""
    from tests.conftest import make_dataset

    make_dataset(tmp_path / "d" / "train", 4)
    make_dataset(tmp_path / "d" / "val", 2)
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tmp_path / "d"), "--out", str(out), "--strategy", "feature-extract",
                                 "--cv-folds", "2", *FAST])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["estimate_photos"] == 12 and metrics["trained_on_images"] == 12  # train/ only
    assert metrics["val_folder_photos"] == 6
    low, high = metrics["val_folder_accuracy_ci95"]
    assert low <= metrics["val_folder_accuracy"] <= high and high - low > 0.3  # 6 photos: a wide interval
    assert read_manifest(out / "manifest.json").unknown.photos == 12  # the threshold never saw val/
    oof = json.loads((out / "oof.json").read_text())  # the temperature was fit on these predictions
    assert len(oof["photos"]) == 12 and not any("val/" in r["path"] for r in oof["photos"])
    estimate_at = result.output.index("estimated accuracy on unseen photos")
    assert result.output.index(f"accuracy on {tmp_path / 'd' / 'val'}:") > estimate_at
    assert "6 photos no decision saw" in result.output
    assert read_manifest(out / "manifest.json").metrics["val_folder_accuracy"] == metrics["val_folder_accuracy"]


def test_an_unknown_folder_is_no_class_unless_asked(tmp_path):
    from tests.conftest import make_dataset

    data = make_dataset(tmp_path / "data", 3)
    collected = make_dataset(tmp_path / "collected", 2, classes=("unknown",))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(data), str(collected), "--out", str(out), "--strategy",
                                 "feature-extract", "--cv-folds", "2", *FAST])
    assert result.exit_code == 0, result.output
    assert f"left out {collected.resolve() / 'unknown'}" in result.output and "--unknown-as-class" in result.output
    assert read_manifest(out / "manifest.json").labels == ("daisy", "roses", "tulips")
