"""Train writes whether the split's val photos stayed out of the deployed model; bench reads it (edge.train.api)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge.train import api
from edge.train.zoo import get_entry, manifest_for
from tests.conftest import make_dataset

EDGE = Path(__file__).resolve().parents[2] / "edge"


def test_a_run_folders_file_names_are_spelled_in_one_module():
    spelled = {str(p.relative_to(EDGE)) for p in EDGE.rglob("*.py")
               if re.search(r'"(split|oof|metrics|config)\.json"|"checkpoint\.pt"', p.read_text(encoding="utf-8"))}
    assert spelled == {"run_dir.py"}


def test_finetune_run_writes_that_it_held_its_split_out(tiny_run):
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["held_out"] is True and metrics["strategy"] == "finetune"
    assert api.load_run(tiny_run).held_out


def test_frozen_head_without_the_cache_holds_photos_out(tmp_path):
    """--no-cache-features trains the head on split.train only: its val photos are held out, though the strategy
    is feature-extract (the string bench used to decide by)."""
    from edge.train.config import TrainConfig
    from edge.train.run import train

    cfg = TrainConfig(data=str(make_dataset(tmp_path / "data", 6)), out=str(tmp_path / "run"),
                      model="mobilenet_v3_small", strategy="feature-extract", cache_features=False, epochs=1,
                      pretrained=False, image_size=64, batch_size=8)
    metrics = train(cfg, log=lambda *_: None).metrics
    assert metrics["strategy"] == "feature-extract" and metrics["held_out"] is True


@pytest.mark.parametrize("written,strategy,expected", [(True, "feature-extract", True), (False, "finetune", False),
                                                       (None, "finetune", True), (None, "feature-extract", False)])
def test_bench_reads_what_train_wrote_and_old_runs_keep_the_old_rule(tmp_path, written, strategy, expected):
    entry = get_entry("mobilenet_v3_small")
    manifest = manifest_for(entry, entry.preprocessing, ["a", "b"], "").with_updates(metrics={"strategy": strategy})
    metrics = {"strategy": strategy} if written is None else {"strategy": strategy, "held_out": written}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert api.held_out(tmp_path, manifest) is expected
    (tmp_path / "metrics.json").unlink()  # a checkpoint copied alone: the old rule
    assert api.held_out(tmp_path, manifest) is (strategy == "finetune")
