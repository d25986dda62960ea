"""The benchmark scripts' own arithmetic (the scripts themselves run for minutes on real data)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def _script(name: str):
    path = Path(__file__).parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_ideal_estimate_passes_every_fold_at_100_percent():
    reference = _script("accuracy_check").unbiased_reference(1.0, 480, 120, 5)
    assert reference["fold_within_3_points"] == reference["fold_ci_covers"] == 1.0
    assert reference["all_5_within_3_points"] == reference["at_least_4_of_5_covered"] == 1.0


def test_folds_of_an_ideal_estimate_pass_independently():
    reference = _script("accuracy_check").unbiased_reference(0.9, 480, 120, 5)
    assert 0.5 < reference["fold_within_3_points"] < 0.9  # a 120-photo fold's own SD is 2.7 points
    assert reference["all_5_within_3_points"] == pytest.approx(reference["fold_within_3_points"] ** 5, abs=0.02)


def test_agreement_reports_bias_and_spread_of_estimate_minus_tested():
    folds = [{"estimate": e, "tested_accuracy": t, "estimate_within_3_points": abs(e - t) <= 0.03,
              "ci_covers_tested": c} for e, t, c in [(0.90, 0.88, True), (0.90, 0.95, False), (0.91, 0.91, True)]]
    summary = _script("accuracy_check").agreement(folds)
    assert summary["folds"] == 3 and summary["mean_estimate_minus_tested"] == pytest.approx(-0.01, abs=1e-4)
    assert summary["share_within_3_points"] == pytest.approx(2 / 3, abs=1e-3) and summary["sd_estimate_minus_tested"] > 0


def test_partitions_are_summarised_one_by_one():
    folds = [{"repeat": r, "test_correct": c, "test_photos": 10, "estimate_within_3_points": w, "ci_covers_tested": w}
             for r, c, w in [(0, 9, True), (0, 8, False), (1, 10, True), (1, 10, True)]]
    parts = _script("accuracy_check").partitions(folds)
    assert [p["pooled_tested_accuracy"] for p in parts] == [0.85, 1.0]
    assert [p["folds_estimate_within_3_points"] for p in parts] == [1, 2] and parts[1]["folds"] == 2
