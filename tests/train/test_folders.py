"""edge train DATA MORE...: class folders merged by name, each photo's folder kept, shown by edge review."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.train.config import TrainConfig, load_config
from edge.train.data import Split, make_split
from edge.train.folders import merged_split
from tests.conftest import make_dataset

FAST = ["--no-pretrained", "--image-size", "64", "--batch-size", "8"]


@pytest.fixture
def two_folders(tmp_path):
    data = make_dataset(tmp_path / "data", 6)
    more = make_dataset(tmp_path / "collected", 8, classes=("roses", "tulips"))
    for p in sorted((more / "roses").glob("*.jpg"))[:6]:  # keep only photos data/ does not have
        p.unlink()
    for p in sorted((more / "tulips").glob("*.jpg"))[:6]:
        p.unlink()
    for p in more.rglob("*.jpg"):  # edge-infer --collect leaves a sidecar beside every photo
        p.with_suffix(".json").write_text("{}")
    return data, more


def test_merged_by_class_name_without_copying(two_folders, tmp_path):
    data, more = two_folders
    split = merged_split([data, more], 0.2, 0)
    assert split.classes == ["daisy", "roses", "tulips"] and split.skipped == []  # sidecars are no photos
    photos = split.train + split.val
    assert len(photos) == 18 + 4
    assert sum(s.path.parent.parent == more for s in photos) == 4  # the collected photos, where they are
    split.save(tmp_path / "split.json")
    saved = json.loads((tmp_path / "split.json").read_text())
    assert saved["sources"] == [str(data.resolve()), str(more.resolve())]
    loaded = Split.load(tmp_path / "split.json")
    assert len(loaded.train + loaded.val) == 22 and all(s.path.is_file() for s in loaded.train + loaded.val)
    assert loaded.sources == saved["sources"]


def test_one_folder_split_has_no_sources_key(two_folders, tmp_path):
    data, _ = two_folders
    assert "sources" not in make_split(data).to_dict()  # earlier runs' fingerprints stay the same


def test_config_takes_a_list(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"more_data": ["a", "b"]}))
    assert list(load_config(path, {}).more_data) == ["a", "b"]
    assert TrainConfig(more_data=("x",)).validate().more_data == ("x",)


def test_train_two_folders_and_review_shows_the_sources(two_folders, tmp_path):
    pytest.importorskip("cleanlab")
    data, more = two_folders
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(data), str(more), "--out", str(out), "--strategy",
                                      "feature-extract", "--cv-folds", "2", *FAST])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["more_data"] == [str(more)]
    oof = json.loads((out / "oof.json").read_text())
    assert len(oof["photos"]) == 22 and all("score" in r for r in oof["photos"])  # nested CV: every photo
    hits = sum(max(range(3), key=lambda c: r["probs"][c]) == r["label"] for r in oof["photos"])
    assert round(hits / 22, 4) == json.loads((out / "metrics.json").read_text())["estimated_accuracy"]
    result = CliRunner().invoke(app, ["review", str(out)])
    assert result.exit_code == 0, result.output
    review = json.loads((out.parent / "run.review" / "review.json").read_text())
    by_folder = {s["folder"]: s for s in review["sources"]}
    assert by_folder[str(more.resolve())]["photos"] == 4
    assert by_folder[str(more.resolve())]["per_class"] == {"daisy": 0, "roses": 2, "tulips": 2}
    assert sum(s["photos"] for s in review["sources"]) == 22
    html = (out.parent / "run.review" / "review.html").read_text()
    assert "Where the photos came from" in html and str(more.resolve()) in html
