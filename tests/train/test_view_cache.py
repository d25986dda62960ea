"""The frozen path's feature cache: a retrain or a --resume extracts only photos it has not seen."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch
from typer.testing import CliRunner

from edge.cli.main import app
from edge.train import view_cache
from edge.train.config import TrainConfig
from tests.conftest import make_dataset, real_photos

FAST = {"model": "mobilenet_v3_small", "strategy": "feature-extract", "pretrained": False, "image_size": 64,
        "batch_size": 8, "cv_folds": 2}


def _counting(monkeypatch) -> list[int]:
    """Photos each backbone pass runs on (one entry per call)."""
    calls, real = [], view_cache.features.extract

    def counted(**kwargs):
        calls.append(len(kwargs["ds"]))
        return real(**kwargs)

    monkeypatch.setattr(view_cache.features, "extract", counted)
    return calls


def _views(data, tmp_path, views: int = 1) -> dict:
    """{photo name: (centre, augmented pass 0) features} of one extraction."""
    from edge.train.frozen import extract_bank
    from edge.train.session import open_session

    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), feature_views=views, **FAST).validate()
    s = open_session(cfg, False, lambda *_: None)
    bank = extract_bank(s)[0]
    return {x.path.name: (bank.center[i], bank.augmented[i, 0]) for i, x in enumerate(s.split.train + s.split.val)}


def test_second_extraction_computes_nothing_and_a_new_photo_alone(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data", 3)
    calls = _counting(monkeypatch)
    first = _views(data, tmp_path)
    assert calls == [9, 9, 9]  # centre, mirrored, one augmented pass
    calls.clear()
    again = _views(data, tmp_path)
    assert calls == []  # every view of every photo from the cache
    extra = real_photos(4, ("daisy",))["daisy"][3]
    shutil.copy(extra, data / "daisy" / extra.name)
    more = _views(data, tmp_path)
    assert calls == [1, 1, 1]  # only the new photo, in each view
    assert len(more) == 10
    for name, (centre, augmented) in first.items():  # the same features, whatever else is in the folder
        assert torch.equal(again[name][0], centre) and torch.equal(more[name][0], centre)
        assert torch.equal(more[name][1], augmented)


def test_no_feature_cache_writes_nothing(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data", 2)
    monkeypatch.setenv("EDGE_CACHE", str(tmp_path / "cache"))
    from edge.train.frozen import extract_bank
    from edge.train.session import open_session

    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), feature_cache=False, **FAST).validate()
    extract_bank(open_session(cfg, False, lambda *_: None))
    assert not (tmp_path / "cache").exists()


def test_resume_after_ctrl_c_in_feature_extraction_keeps_what_was_extracted(tmp_path, monkeypatch):
    from edge.train.run import train

    data = make_dataset(tmp_path / "data", 3)
    calls, real = [], view_cache.features.extract

    def interrupted_in_the_mirrored_pass(**kwargs):
        calls.append(len(kwargs["ds"]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(**kwargs)

    monkeypatch.setattr(view_cache.features, "extract", interrupted_in_the_mirrored_pass)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(data=str(data), out=str(out), **FAST), log=lambda *_: None)
    calls.clear()
    monkeypatch.setattr(view_cache.features, "extract", lambda **kw: calls.append(len(kw["ds"])) or real(**kw))
    result = CliRunner().invoke(app, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert calls == [9]  # the centre view came from the cache; only the mirrored pass ran
    assert "features: 9 new photos computed, 0 from the feature cache" in result.output


def test_the_cache_folder_honours_edge_cache_then_xdg(monkeypatch, tmp_path):
    from edge.train.feature_cache import default_folder

    assert default_folder() == tmp_path / "xdg-cache" / "edge" / "features"  # tests/train/conftest.py
    monkeypatch.setenv("EDGE_CACHE", str(tmp_path / "mine"))
    assert default_folder() == tmp_path / "mine" / "features"


def test_the_cache_key_is_the_one_earlier_runs_wrote_and_ignores_the_frame_path():
    """Caches written before Preprocessing held decode and frame_preprocess must still be found: the key is
    the old JSON layout (preprocessing's five fields, decode_side beside them), whatever the frame path."""
    import hashlib
    import json

    from edge.preprocessing import Preprocessing
    from edge.train.feature_cache import BranchKey
    from edge.train.versions import library_versions

    pre = Preprocessing(256, 224, "bicubic", (0.5,) * 3, (0.5,) * 3, decode="draft")
    versions = {k: v for k, v in library_versions().items() if k in ("torch", "torchvision", "timm")}
    old_layout = {"backbone": "efficientnet_lite0", "size": 224, "weights": "imagenet", "decode_side": 256,
                  "pre": {"resize_size": 256, "crop_size": 224, "interpolation": "bicubic", "mean": [0.5] * 3,
                          "std": [0.5] * 3}}
    expected = hashlib.sha256(json.dumps([old_layout, versions], sort_keys=True).encode()).hexdigest()[:20]
    for frames in ("exact", "live"):
        key = BranchKey("efficientnet_lite0", replace(pre, frame_preprocess=frames), 224, "imagenet")
        assert key.digest() == expected
