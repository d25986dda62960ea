"""README figures come from the committed result files (issue 19.9): re-measure, commit, and this holds."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_row_and_calibration_row_match_the_committed_metrics():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((ROOT / "benchmarks" / "train" / "flowers5" / "metrics.json").read_text())
    low, high = (100 * v for v in metrics["estimated_accuracy_ci95"])
    assert f"estimated {100 * metrics['estimated_accuracy']:.1f}% on unseen photos** (95% CI {low:.1f}-{high:.1f}" in readme
    cal = metrics["calibration"]
    assert (f"ECE {100 * cal['ece_before']:.1f}% before, {100 * cal['ece_after']:.1f}% after temperature "
            f"{cal['temperature']:.2f}") in readme
