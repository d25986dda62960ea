"""The README's train figures (issue 19.9): the line `edge train` prints, rendered by the code from the
committed benchmarks/train/flowers5/metrics.json, and a tiny run showing the code writes what the README
says metrics.json and the manifest carry, with the relations the quoted figures rest on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge.estimate import estimate_line, wilson_interval

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "benchmarks" / "train" / "flowers5" / "metrics.json"
ESTIMATE_KEYS = ("estimated_accuracy", "estimated_accuracy_ci95", "estimate_method", "estimate_photos")
# the form of the README's line: `estimated accuracy on unseen photos: 90.8% (95% CI 88.3-92.9, nested 5-fold CV, 600 photos)`
LINE = re.compile(r"estimated accuracy on unseen photos: \d+\.\d% \(95% CI \d+\.\d-\d+\.\d, nested \d+-fold CV, \d+ photos\)")


def readme() -> str:
    return " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def committed() -> dict:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing: the README quotes it (make train, copy the run's files)"
    return json.loads(COMMITTED.read_text())


def assert_consistent(metrics: dict) -> None:
    """What makes the quoted figures one measurement: the interval is the Wilson interval of the estimate on
    its photos, and the confusion matrix (of the same held-out predictions) holds those photos and that accuracy."""
    acc, photos = metrics["estimated_accuracy"], metrics["estimate_photos"]
    correct = round(acc * photos)
    assert metrics["estimated_accuracy_ci95"] == [round(v, 4) for v in wilson_interval(correct, photos)]
    matrix = metrics["confusion_matrix"]
    assert sum(map(sum, matrix)) == photos
    assert sum(matrix[i][i] for i in range(len(matrix))) == correct
    cal = metrics["calibration"]
    assert cal["ece_bins"] == 15 and "cross-fitted" in cal["ece_after_is"]  # the README's "15 bins", "(cross-fitted)"
    assert cal["temperature"] > 0 and 0 <= cal["ece_before"] <= 1 and 0 <= cal["ece_after"] <= 1


def test_readme_quotes_the_line_train_prints_for_the_committed_run():
    metrics, text = committed(), readme()
    line = estimate_line(metrics)  # what `edge train` printed for this run
    assert LINE.fullmatch(line) and f"`{line}`" in text, line
    low, high = (100 * v for v in metrics["estimated_accuracy_ci95"])
    assert (f"**estimated {100 * metrics['estimated_accuracy']:.1f}% on unseen photos** (95% CI {low:.1f}-{high:.1f}, "
            f"{metrics['estimate_method']})") in text  # the results table's row
    cal = metrics["calibration"]
    assert (f"ECE {100 * cal['ece_before']:.1f}% before, {100 * cal['ece_after']:.1f}% after temperature "
            f"{cal['temperature']:.2f}") in text
    assert metrics["estimate_method"] == "nested 5-fold CV" and len(metrics["estimate_fold_accuracy"]) == 5
    assert metrics["strategy"] == "feature-extract" and metrics["model"] == "efficientnet_lite0"  # `make train`'s auto
    assert_consistent(metrics)


@pytest.fixture(scope="module")
def feature_extract_run(tmp_path_factory):
    """`edge train` as `make train` runs it (auto: a frozen backbone, nested CV), at 64 px on 18 photos."""
    from typer.testing import CliRunner

    from edge.cli.main import app
    from tests.conftest import make_dataset

    root = tmp_path_factory.mktemp("readme-train")
    data = make_dataset(root / "data")
    result = CliRunner().invoke(app, ["train", str(data), "--out", str(root / "run"), "--feature-views", "1",
                                      "--cv-folds", "3", "--no-pretrained", "--image-size", "64", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    return root / "run", result.output


def test_train_prints_and_writes_what_the_readme_says(feature_extract_run):
    from edge.manifest import read_manifest

    run, output = feature_extract_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["strategy"] == "feature-extract" and metrics["estimate_photos"] == 18
    printed = [line for line in output.splitlines() if line.startswith("estimated accuracy on unseen photos:")]
    assert printed == [estimate_line(metrics)] and LINE.fullmatch(printed[0]), printed  # the README's line, same form
    manifest = read_manifest(run / "manifest.json")
    assert {k: manifest.metrics[k] for k in ESTIMATE_KEYS} == {k: metrics[k] for k in ESTIMATE_KEYS}
    assert manifest.temperature == metrics["calibration"]["temperature"]
    assert_consistent(metrics)
