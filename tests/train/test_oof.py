"""oof.json: every evaluated photo's out-of-fold prediction, written by every training path."""

from __future__ import annotations

import json

import pytest

from edge.train.data import Split


def test_finetune_run_keeps_its_held_out_predictions(tiny_run):
    oof = json.loads((tiny_run / "oof.json").read_text())
    split = Split.load(tiny_run / "split.json")
    assert oof["method"].startswith("held-out split") and oof["classes"] == split.classes
    assert [(r["path"], r["label"]) for r in oof["photos"]] == [(split.relative(s.path), s.label) for s in split.val]
    for row in oof["photos"]:
        assert sum(row["probs"]) == pytest.approx(1.0, abs=1e-4) and len(row["probs"]) == 3
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert oof["temperature"] == metrics["calibration"]["temperature"]
